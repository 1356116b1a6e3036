package dsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFilterPairs: the architecture's filterPairs gives filterPairsGo's
// sums bit for bit, for every partition count a tail can have and spectra
// of widely different magnitudes and signs (zeros and negative zeros
// among them).
func TestFilterPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	val := func() float32 {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		}
		return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
	}
	spec := func(s *[fftBins]complex64) {
		for k := range s {
			s[k] = complex(val(), val())
		}
	}
	var xsBuf [ecParts][fftBins]complex64
	var xs [ecParts]*[fftBins]complex64
	wf := make([][fftBins]complex64, ecParts)
	wb := make([][fftBins]complex64, ecParts)
	for round := range 20 {
		for p := range ecParts {
			spec(&xsBuf[p])
			spec(&wf[p])
			spec(&wb[p])
			// The spectra in use come from a ring, in any order.
			xs[p] = &xsBuf[(p*7+round)%ecParts]
		}
		for parts := 0; parts <= ecParts; parts++ {
			var f1, b1, f2, b2 [fftBins]complex64
			filterPairsGo(&f1, &b1, &xs, &wf[0], &wb[0], parts)
			filterPairs(&f2, &b2, &xs, &wf[0], &wb[0], parts)
			for k := range fftHalf {
				if math.Float32bits(real(f1[k])) != math.Float32bits(real(f2[k])) ||
					math.Float32bits(imag(f1[k])) != math.Float32bits(imag(f2[k])) ||
					math.Float32bits(real(b1[k])) != math.Float32bits(real(b2[k])) ||
					math.Float32bits(imag(b1[k])) != math.Float32bits(imag(b2[k])) {
					t.Fatalf("round %d, %d partitions, bin %d: %v %v, want %v %v", round, parts, k, f2[k], b2[k], f1[k], b1[k])
				}
			}
			if f2[fftHalf] != 0 || b2[fftHalf] != 0 {
				t.Fatalf("%d partitions: the last bin was written", parts)
			}
		}
	}
}

// BenchmarkFilterPairs: both filters' sums over bins 0..63 of a 64 ms
// tail (13 partitions), the architecture's kernel and the Go one.
func BenchmarkFilterPairs(b *testing.B) {
	var xsBuf [ecParts][fftBins]complex64
	var xs [ecParts]*[fftBins]complex64
	wf := make([][fftBins]complex64, ecParts)
	wb := make([][fftBins]complex64, ecParts)
	for p := range ecParts {
		xs[p] = &xsBuf[p]
		for k := range fftBins {
			xsBuf[p][k] = complex(float32(k), float32(p))
			wf[p][k], wb[p][k] = complex(0.5, -0.25), complex(-0.125, 0.75)
		}
	}
	parts := EchoTail / ecPart
	var f, g [fftBins]complex64
	b.Run("arch", func(b *testing.B) {
		for b.Loop() {
			filterPairs(&f, &g, &xs, &wf[0], &wb[0], parts)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			filterPairsGo(&f, &g, &xs, &wf[0], &wb[0], parts)
		}
	})
}
