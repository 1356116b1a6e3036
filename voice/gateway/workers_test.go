package gateway_test

import (
	"fmt"
	"testing"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestLoopWorkersCalls: eight ports of daisy-chained chips (and an idle
// FXO pair on its own chain) in four phone-to-phone calls at once, with
// the loop's frames split across two or three workers: every phone hears
// its own far end's tone and no other call's, the loop split its frames,
// and every call ends cleanly. Run with -race, it checks that ports ticked
// in parallel share nothing unguarded.
func TestLoopWorkersCalls(t *testing.T) {
	for _, workers := range []int{2, 3} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			const n = 8
			def, err := board.SimSize(n, 2)
			if err != nil {
				t.Fatal(err)
			}
			var accounts []sip.Account
			var ports []gateway.PortConfig
			for i := 1; i <= n; i++ {
				id := fmt.Sprint(i)
				accounts = append(accounts, sip.Account{ID: id, User: fmt.Sprint(100 + i)})
				ports = append(ports, gateway.PortConfig{N: i, Account: id, DigitMap: "(1xx)"})
			}
			r := newRigSized(t, def, workers, accounts, ports)
			// Port 2k−1 calls port 2k; each phone says its own tone,
			// 150 Hz apart and above the call-progress tones (a ringback
			// just ended still smears around 440–500 Hz in what a phone
			// heard last).
			tone := func(i int) float64 { return float64(700 + 150*i) }
			for k := 1; k <= n/2; k++ {
				a, b := r.phone(2*k-1), r.phone(2*k)
				must(t, a.SetHook("off"))
				r.waitState(2*k-1, "dialtone")
				must(t, a.Dial(fmt.Sprint(100+2*k), "dtmf"))
				r.eventually(fmt.Sprintf("phone %d rings", 2*k), func() error {
					if !b.State().Ringing {
						return fmt.Errorf("not ringing; port %d %s", 2*k-1, r.state(2*k-1))
					}
					return nil
				})
				must(t, b.SetHook("off"))
				r.waitState(2*k-1, "talking")
				r.waitState(2*k, "talking")
			}
			for i := 1; i <= n; i++ {
				must(t, r.phone(i).Say([]float64{tone(i)}, -12))
			}
			for i := 1; i <= n; i++ {
				far := i + 1
				if i%2 == 0 {
					far = i - 1
				}
				r.waitHears(i, tone(far))
			}
			for i := 1; i <= n; i++ {
				h := r.phone(i).State().Hearing.TonesHz
				for j := 1; j <= n; j++ {
					if (j+1)/2 != (i+1)/2 && hears(h, tone(j)) {
						t.Errorf("phone %d hears %v: phone %d's %v Hz from another call", i, h, j, tone(j))
					}
				}
			}
			r.eventually("200 frames split across the workers", func() error {
				if ls := r.gw.Status().Loop; ls.Workers != workers || ls.SplitFrames < 200 {
					return fmt.Errorf("%d workers, %d split frames; want %d workers", ls.Workers, ls.SplitFrames, workers)
				}
				return nil
			})
			ls := r.gw.Status().Loop
			for i := 1; i <= n; i++ {
				must(t, r.phone(i).SetHook("on"))
			}
			for i := 1; i <= n; i++ {
				r.waitState(i, "idle")
			}
			t.Logf("loop: %d frames, %d split, max work %d µs, %d port ticks by helpers", ls.Ticks, ls.SplitFrames, ls.MaxWorkUS, ls.HelperTicks)
		})
	}
}
