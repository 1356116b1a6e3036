package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// restart asks `loopstart boot` to reboot the device through its control
// socket; without one (the gateway runs on its own, as on the sim board)
// it starts the gateway's binary again in this process.
func restart(socket string, log *slog.Logger) error {
	if _, err := os.Stat(socket); err == nil {
		_, err := system.Request(socket, "reboot")
		if err == nil {
			return nil
		}
		log.Warn("reboot through the boot process failed; restarting the gateway", "err", err)
	}
	return execBinary("")
}

// testCallRing is how long a test call lets the phone ring.
const testCallRing = 8 * time.Second

// testCall calls port n's phone through its account: an INVITE to the
// account's own user, through its registrar when it has one (so the
// registration and the registrar's routing are tested too), else to the
// gateway's own address. It returns once the call rings or fails and lets
// it ring for testCallRing before cancelling it.
func testCall(ctx context.Context, sup *gateway.Supervisor, accountOf func(int) (id, user string, ok bool), n int) (string, error) {
	id, user, ok := accountOf(n)
	if !ok {
		return "", fmt.Errorf("port %d has no account", n)
	}
	for _, p := range sup.Gateway().BusyPorts() {
		if p == n {
			return "", fmt.Errorf("port %d is busy", n)
		}
	}
	ua := sup.Gateway().UA()
	// An RTP address for the offer; no media is sent on a test call.
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return "", fmt.Errorf("test call: %w", err)
	}
	addr := rtp.LocalAddr().(*net.UDPAddr).AddrPort()
	if ap := ua.Addr(); ap.IsValid() && !ap.Addr().IsUnspecified() {
		addr = netip.AddrPortFrom(ap.Addr(), addr.Port())
	}
	callCtx, cancel := context.WithTimeout(context.Background(), testCallRing+10*time.Second)
	call, err := ua.Dial(callCtx, id, user, sip.LocalMedia{Addr: addr})
	if err != nil {
		cancel()
		rtp.Close()
		return "", fmt.Errorf("test call: %w", err)
	}
	end := func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer hcancel()
		_ = call.Hangup(hctx)
		cancel()
		rtp.Close()
	}
	wait := time.NewTimer(10 * time.Second)
	defer wait.Stop()
	for {
		select {
		case ev := <-call.Events():
			switch ev.Kind {
			case sip.EventProgress:
				if ev.Code != 180 && ev.Code != 183 {
					continue
				}
				go func() {
					t := time.NewTimer(testCallRing)
					defer t.Stop()
					select {
					case <-t.C:
					case <-call.Done():
					}
					end()
				}()
				return fmt.Sprintf("port %d rings: %d %s from account %s (%s)", n, ev.Code, ev.Reason, id, call.Peer()), nil
			case sip.EventAnswered:
				go func() { time.Sleep(2 * time.Second); end() }()
				return fmt.Sprintf("port %d answered the test call", n), nil
			case sip.EventFailed, sip.EventEnded:
				end()
				return "", fmt.Errorf("test call to port %d failed: %d %s", n, ev.Code, ev.Reason)
			}
		case <-wait.C:
			end()
			return "", fmt.Errorf("test call to port %d: no answer from the SIP side in 10 s", n)
		case <-ctx.Done():
			end()
			return "", ctx.Err()
		}
	}
}
