package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/voice/status"
)

// WaitIdle waits until each of ports is idle and on hook in /api/status. A
// line calls a break a hang-up only once it has outlasted the flash window
// (1.25 s by default), so a phone put on hook is not idle at once: going
// off hook again before then would be a flash.
func (g *Gateway) WaitIdle(t testing.TB, ports ...int) {
	t.Helper()
	for _, n := range ports {
		Eventually(t, 5*time.Second, fmt.Sprintf("port %d idle", n), func() error {
			if p := g.Status(t).Ports[n-1]; p.State != "idle" || p.Hook != "on" {
				return fmt.Errorf("state %s, hook %s", p.State, p.Hook)
			}
			return nil
		})
	}
}

// WaitCallMedia waits until the current call of port has sent and
// received at least packets RTP packets each way (20 ms each: 50 make a
// second of audio), failing the test after timeout.
func (g *Gateway) WaitCallMedia(t testing.TB, port int, packets uint64, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, fmt.Sprintf("port %d call carries %d packets each way", port, packets), func() error {
		c := g.Status(t).Ports[port-1].Call
		if c == nil {
			return fmt.Errorf("no call")
		}
		if c.PacketsSent < packets || c.PacketsReceived < packets {
			return fmt.Errorf("sent %d, received %d", c.PacketsSent, c.PacketsReceived)
		}
		return nil
	})
}

// WaitMediaSteady waits until the current call of each of ports has
// received a second of audio and has concealed, lost and dropped as late
// nothing for 500 ms: the start-up transients of the calls (the jitter
// buffer finding its depth) are over, so figures read from now on are the
// steady state's.
func (g *Gateway) WaitMediaSteady(t testing.TB, timeout time.Duration, ports ...int) {
	t.Helper()
	type mark struct {
		concealed  float64
		lost, late uint64
		since      time.Time
	}
	last := map[int]mark{}
	Eventually(t, timeout, fmt.Sprintf("media of ports %v steady", ports), func() error {
		st := g.Status(t)
		now := time.Now()
		var unsteady []string
		for _, n := range ports {
			c := st.Ports[n-1].Call
			if c == nil {
				unsteady = append(unsteady, fmt.Sprintf("port %d: no call", n))
				continue
			}
			m, ok := last[n]
			if !ok || m.concealed != c.ConcealedMS || m.lost != c.Lost || m.late != c.Late {
				m = mark{concealed: c.ConcealedMS, lost: c.Lost, late: c.Late, since: now}
				last[n] = m
			}
			switch {
			case c.PacketsReceived < 50:
				unsteady = append(unsteady, fmt.Sprintf("port %d: %d packets received", n, c.PacketsReceived))
			case now.Sub(m.since) < 500*time.Millisecond:
				unsteady = append(unsteady, fmt.Sprintf("port %d: concealed %.0f ms, lost %d, late %d, changed %v ago",
					n, c.ConcealedMS, c.Lost, c.Late, now.Sub(m.since).Round(time.Millisecond)))
			}
		}
		if len(unsteady) > 0 {
			return fmt.Errorf("%s", strings.Join(unsteady, "; "))
		}
		return nil
	})
}

// callStats returns the current call of port, nil when there is none.
func (g *Gateway) callStats(t testing.TB, port int) *status.CallStats {
	t.Helper()
	return g.Status(t).Ports[port-1].Call
}
