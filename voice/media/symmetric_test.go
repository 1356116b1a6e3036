package media

import (
	"net"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// TestSymmetricRTP: a stream told to send to an address nobody listens
// on (the far end's private SDP address behind a NAT) sends to where the
// far end's RTP comes from once it arrives; a stray packet of another
// payload type moves nothing.
func TestSymmetricRTP(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts StreamOpts
	}{{"polled", StreamOpts{}}, {"go reader", StreamOpts{Reader: true}}, {"realtime reader", StreamOpts{Priority: 10}}} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := bindPair(t, tt.opts)
			if tt.opts.Priority > 0 && !a.RealtimeReader() {
				t.Log("no SCHED_FIFO here: the ordinary reader ran")
			}
			nowhere, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer nowhere.Close()
			a.Start(Session{Remote: nowhere.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0})
			b.Start(Session{Remote: a.LocalAddr(), Codec: PCMU, PT: 0})

			// A stray packet of payload type 99 from a third socket.
			stray, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer stray.Close()
			pkt := make([]byte, 12+160)
			pkt[0], pkt[1] = 0x80, 99
			if _, err := stray.WriteToUDPAddrPort(pkt, a.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			frame := make([]int16, pcm.FrameSamples)
			out := make([]int16, pcm.FrameSamples)
			time.Sleep(20 * time.Millisecond)
			a.Receive(out)
			if a.Latched() != 0 {
				t.Fatalf("latched on a stray packet of another payload type")
			}
			for i := 0; i < 100 && b.Stats().PacketsReceived < 10; i++ {
				b.Send(frame)
				a.Send(frame)
				time.Sleep(pcm.FrameDuration)
				a.Receive(out)
				b.Receive(out)
			}
			if a.Latched() != 1 {
				t.Errorf("latched %d times, want 1", a.Latched())
			}
			if got := b.Stats().PacketsReceived; got < 10 {
				t.Errorf("b received %d packets from a, want a's RTP to follow b's", got)
			}
			if want, got := b.LocalAddr(), a.sess.Remote; got != want {
				t.Errorf("a sends to %v, want %v", got, want)
			}
		})
	}
}
