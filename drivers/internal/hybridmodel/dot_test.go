package hybridmodel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDots: the architecture's dots gives dotsGo's sums bit for bit, for
// every output count up to a chunk (the eight-at-a-time kernel and the
// rest), on random samples and taps of both signs.
func TestDots(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var hr [taps]float32
	win := make([]float32, chunk+taps-1)
	for round := range 5 {
		for j := range hr {
			hr[j] = float32(r.NormFloat64() * 0.3)
		}
		for i := range win {
			win[i] = float32(math.Round(r.NormFloat64() * 8000))
			if round == 0 && i%3 == 0 {
				win[i] = float32(math.Copysign(0, -1))
			}
		}
		for n := 0; n <= chunk; n++ {
			want, got := make([]float32, n), make([]float32, n)
			dotsGo(want, win[:n+taps-1], &hr)
			dots(got, win[:n+taps-1], &hr)
			for i := range want {
				if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
					t.Fatalf("round %d, %d outputs: output %d is %v, want %v", round, n, i, got[i], want[i])
				}
			}
		}
	}
}
