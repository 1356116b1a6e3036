package webui

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// Bounds of a ping from the diagnostics page.
const (
	// MaxPingCount is the most echo requests one ping sends.
	MaxPingCount = 10
	// PingTimeout is how long each echo request waits for its reply.
	PingTimeout = time.Second
)

// PingResult is the outcome of a ping.
type PingResult struct {
	Host     string    `json:"host"`
	Addr     string    `json:"addr"`
	Sent     int       `json:"sent"`
	Received int       `json:"received"`
	RTTs     []float64 `json:"rtts_ms"`
	// Mode is "udp" (unprivileged ICMP sockets) or "raw".
	Mode string `json:"mode"`
}

// String summarises the result in one line.
func (p PingResult) String() string {
	s := fmt.Sprintf("%d of %d replies from %s (%s)", p.Received, p.Sent, p.Host, p.Addr)
	if len(p.RTTs) > 0 {
		lo, hi, sum := p.RTTs[0], p.RTTs[0], 0.0
		for _, r := range p.RTTs {
			lo, hi, sum = min(lo, r), max(hi, r), sum+r
		}
		s += fmt.Sprintf(", round trip min/avg/max %.3f/%.3f/%.3f ms", lo, sum/float64(len(p.RTTs)), hi)
	}
	return s
}

// Ping sends count ICMP echo requests (1..MaxPingCount) to host's IPv4
// address, each waiting up to PingTimeout, one per interval. It uses an
// unprivileged ICMP socket when the kernel allows it
// (net.ipv4.ping_group_range) and a raw socket otherwise (root).
func Ping(ctx context.Context, host string, count int, interval time.Duration) (PingResult, error) {
	res := PingResult{Host: host}
	if count < 1 || count > MaxPingCount {
		return res, fmt.Errorf("count %d out of range 1..%d", count, MaxPingCount)
	}
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		return res, fmt.Errorf("cannot resolve %q: %w", host, err)
	}
	dst := ips[0]
	res.Addr = dst.String()
	conn, err := icmp.ListenPacket("udp4", "0.0.0.0")
	res.Mode = "udp"
	var addr net.Addr = &net.UDPAddr{IP: dst}
	if err != nil {
		var rerr error
		if conn, rerr = icmp.ListenPacket("ip4:icmp", "0.0.0.0"); rerr != nil {
			return res, fmt.Errorf("no ICMP socket (unprivileged: %v; raw: %w)", err, rerr)
		}
		res.Mode, addr = "raw", &net.IPAddr{IP: dst}
	}
	defer conn.Close()
	id := os.Getpid()&0xffff ^ rand.IntN(0xffff)
	buf := make([]byte, 1500)
	for seq := 1; seq <= count; seq++ {
		if seq > 1 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(interval):
			}
		}
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("loopstart ping")}}
		b, err := msg.Marshal(nil)
		if err != nil {
			return res, fmt.Errorf("ping: %w", err)
		}
		start := time.Now()
		if _, err := conn.WriteTo(b, addr); err != nil {
			return res, fmt.Errorf("ping %s: %w", res.Addr, err)
		}
		res.Sent++
		deadline := start.Add(PingTimeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // no reply to this one
				}
				return res, fmt.Errorf("ping %s: %w", res.Addr, err)
			}
			rm, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || rm.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			echo, ok := rm.Body.(*icmp.Echo)
			// Unprivileged sockets rewrite the ID; match on the sequence
			// and, for raw sockets, the ID and the sender too.
			if !ok || echo.Seq != seq || (res.Mode == "raw" && (echo.ID != id || !sameIP(from, dst))) {
				continue
			}
			res.Received++
			res.RTTs = append(res.RTTs, float64(time.Since(start).Microseconds())/1000)
			break
		}
	}
	return res, nil
}

func sameIP(a net.Addr, ip net.IP) bool {
	switch v := a.(type) {
	case *net.IPAddr:
		return v.IP.Equal(ip)
	case *net.UDPAddr:
		return v.IP.Equal(ip)
	}
	return false
}
