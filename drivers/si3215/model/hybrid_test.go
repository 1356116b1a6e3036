package model

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/internal/hybridmodel"
)

// TestHybridEcho: the echo path returns white noise Loss dB down, after
// the bulk delay, and nothing when Off.
func TestHybridEcho(t *testing.T) {
	tests := []struct {
		name      string
		h         Hybrid
		wantLoss  float64
		wantDelay int // samples before the first echo
	}{
		{"default", Hybrid{}, DefaultHybridLoss, 8},
		{"6 dB, 5 ms", Hybrid{Loss: 6, Delay: 5 * time.Millisecond}, 6, 40},
		{"15 dB, 30 ms", Hybrid{Loss: 15, Delay: 30 * time.Millisecond}, 15, 240},
		{"delay capped", Hybrid{Loss: 10, Delay: time.Second}, 10, 800},
		{"off", Hybrid{Off: true}, math.Inf(1), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hy hybridmodel.Path
			tc.h.Apply(&hy)
			r := rand.New(rand.NewPCG(1, 2))
			var pin, pout float64
			first := -1
			line, out := make([]int16, 80), make([]int16, 80)
			for f := range 200 {
				for i := range line {
					line[i] = int16(r.NormFloat64() * 3000)
				}
				if f == 0 {
					clear(line)
					line[0] = 10000 // an impulse first, to time the echo
				}
				clear(out)
				if hy.On() {
					hy.Echo(out, line)
				}
				for i := range out {
					if first < 0 && out[i] != 0 {
						first = f*80 + i
					}
					if f >= 20 {
						pin += float64(line[i]) * float64(line[i])
						pout += float64(out[i]) * float64(out[i])
					}
				}
			}
			loss := 10 * math.Log10(pin/pout)
			if math.Abs(loss-tc.wantLoss) > 0.5 && !(math.IsInf(tc.wantLoss, 1) && pout == 0) {
				t.Errorf("echo return loss %.1f dB, want %.1f", loss, tc.wantLoss)
			}
			if hy.On() && first != tc.wantDelay {
				t.Errorf("first echo after %d samples, want %d", first, tc.wantDelay)
			}
		})
	}
}

func TestHybridNoAllocs(t *testing.T) {
	var hy hybridmodel.Path
	Hybrid{}.Apply(&hy)
	line, out := make([]int16, 80), make([]int16, 80)
	if a := testing.AllocsPerRun(100, func() { hy.Echo(out, line) }); a != 0 {
		t.Fatalf("%.1f allocations per frame", a)
	}
}
