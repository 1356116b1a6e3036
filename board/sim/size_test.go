package sim

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/dsp"
)

// TestSizedBoards builds daisy-chained boards of up to 32 ports and checks
// every port on its own: the hook of each phone reaches its driver, each
// phone's voice arrives in its slot only, each central office's voice in
// its FXO port's slot, and a ring on one line is seen on that port alone.
func TestSizedBoards(t *testing.T) {
	for _, size := range [][2]int{{32, 0}, {16, 16}, {1, 0}, {0, 3}, {9, 2}} {
		fxs, fxo := size[0], size[1]
		t.Run(fmt.Sprintf("%dfxs%dfxo", fxs, fxo), func(t *testing.T) {
			def, err := board.SimSize(fxs, fxo)
			if err != nil {
				t.Fatal(err)
			}
			clk := &simpcm.VirtualClock{}
			b, err := New(Opts{Definition: def, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if len(b.Ports) != fxs+fxo || len(b.Phones()) != fxs || len(b.Lines()) != fxo {
				t.Fatalf("%d ports, %d phones, %d lines", len(b.Ports), len(b.Phones()), len(b.Lines()))
			}
			for _, p := range b.Ports {
				if p.Fault != nil {
					t.Fatalf("port %d: %v", p.N, p.Fault)
				}
			}
			for i, c := range b.chips {
				if int(c.Reg(2))|int(c.Reg(3)&3)<<8 != 16*i {
					t.Errorf("FXS port %d: PCM start count %d, want %d", i+1, int(c.Reg(2))|int(c.Reg(3)&3)<<8, 16*i)
				}
			}
			tone := func(port int) float64 { return 300 + 60*float64(port) }
			for _, p := range b.Ports {
				switch p.Kind {
				case board.KindFXS:
					if err := p.FXS.SetLinefeed(board.FeedForwardActive); err != nil {
						t.Fatal(err)
					}
					ph, _ := b.Phone(p.N)
					if p.N%2 == 1 { // odd phones off hook, even ones stay on
						if err := ph.SetHook("off"); err != nil {
							t.Fatal(err)
						}
						if err := ph.Say([]float64{tone(p.N)}, -15); err != nil {
							t.Fatal(err)
						}
					}
				case board.KindFXO:
					if err := p.FXO.SetHook(true); err != nil {
						t.Fatal(err)
					}
					co, _ := b.Line(p.N)
					if err := co.Say([]float64{tone(p.N)}, -15); err != nil {
						t.Fatal(err)
					}
				}
			}
			slots := b.Board.Highway.Slots()
			tx, rx := make([][]int16, slots), make([][]int16, slots)
			for i := range tx {
				tx[i], rx[i] = make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			}
			heard := make([][]int16, slots)
			hook := map[int]bool{}
			for range 80 {
				seq, _, err := b.Board.Highway.Exchange(context.Background(), tx, rx)
				if err != nil {
					t.Fatal(err)
				}
				now := time.Duration(seq) * pcm.FrameDuration
				for _, p := range b.Ports {
					heard[p.Slot] = append(heard[p.Slot], rx[p.Slot]...)
					if p.Kind == board.KindFXS {
						if hook[p.N], err = p.FXS.PollHook(now); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			for _, p := range b.Ports {
				last := heard[p.Slot][len(heard[p.Slot])-2400:]
				if p.Kind == board.KindFXS && p.N%2 == 0 {
					if hook[p.N] || dsp.LevelDBFS(last) > -60 {
						t.Errorf("port %d (on hook, silent): hook %v, slot at %.1f dBFS", p.N, hook[p.N], dsp.LevelDBFS(last))
					}
					continue
				}
				if p.Kind == board.KindFXS && !hook[p.N] {
					t.Errorf("port %d: off hook not seen", p.N)
				}
				// An FXO slot also carries the central office's dial tone
				// (350 + 440 Hz); no other port's tone may be in it.
				want, extra := 1, 0
				if p.Kind == board.KindFXO {
					want, extra = 3, 2
				}
				got := dsp.DominantTones(last, want)
				found := 0
				for _, f := range got {
					if math.Abs(f-tone(p.N)) <= 3 {
						found++
					} else if p.Kind == board.KindFXS || (math.Abs(f-350) > 3 && math.Abs(f-440) > 3) {
						found = -100
					}
				}
				if found != 1 || len(got) != 1+extra {
					t.Errorf("port %d: slot %d carries %v, want %v (and dial tone on FXO)", p.N, p.Slot, got, tone(p.N))
				}
			}
			if fxo == 0 {
				return
			}
			// Ring the last line: only its port sees the ring.
			lastN := fxs + fxo
			for _, p := range b.Ports[fxs:] {
				if err := p.FXO.SetHook(false); err != nil {
					t.Fatal(err)
				}
			}
			for range 50 {
				if _, _, err := b.Board.Highway.Exchange(context.Background(), tx, rx); err != nil {
					t.Fatal(err)
				}
			}
			co, _ := b.Line(lastN)
			if err := co.PSTN("ring", nil); err != nil {
				t.Fatal(err)
			}
			ringing := map[int]bool{}
			for range 300 {
				seq, _, err := b.Board.Highway.Exchange(context.Background(), tx, rx)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range b.Ports[fxs:] {
					st, err := p.FXO.Poll(time.Duration(seq) * pcm.FrameDuration)
					if err != nil {
						t.Fatal(err)
					}
					ringing[p.N] = ringing[p.N] || st.Ringing || st.Rings > 0
				}
			}
			for _, p := range b.Ports[fxs:] {
				if ringing[p.N] != (p.N == lastN) {
					t.Errorf("port %d: ringing seen %v (line %d rang)", p.N, ringing[p.N], lastN)
				}
			}
		})
	}
}
