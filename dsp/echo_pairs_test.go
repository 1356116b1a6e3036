package dsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFilterPairs: the architecture's filterPairs gives filterPairsGo's
// sums bit for bit, for every partition count a tail can have, on
// random spectra (randomSpectra).
func TestFilterPairs(t *testing.T) {
	spec := randomSpectra(1)
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
				if !same(f1[k], f2[k]) || !same(b1[k], b2[k]) {
					t.Fatalf("round %d, %d partitions, bin %d: %v %v, want %v %v", round, parts, k, f2[k], b2[k], f1[k], b1[k])
				}
			}
			if f2[fftHalf] != 0 || b2[fftHalf] != 0 {
				t.Fatalf("%d partitions: the last bin was written", parts)
			}
		}
	}
}

// randomSpectra returns a function that fills a spectrum with values of
// widely different magnitudes and both signs, zeros and negative zeros
// among them.
func randomSpectra(seed uint64) func(s *[fftBins]complex64) {
	r := rand.New(rand.NewPCG(seed, 2))
	val := func() float32 {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		}
		return float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
	}
	return func(s *[fftBins]complex64) {
		for k := range s {
			s[k] = complex(val(), val())
		}
	}
}

// same reports whether a and b hold the same bits.
func same(a, b complex64) bool {
	return math.Float32bits(real(a)) == math.Float32bits(real(b)) &&
		math.Float32bits(imag(a)) == math.Float32bits(imag(b))
}

// TestGradientPairs: the architecture's gradientPairs updates the bins
// 0..fftHalf−1 as gradientPairsGo does, bit for bit, and leaves the last
// alone.
func TestGradientPairs(t *testing.T) {
	spec := randomSpectra(3)
	for round := range 200 {
		var w, x, E [fftBins]complex64
		spec(&w)
		spec(&x)
		spec(&E)
		g := float32(round%5) * 0.37
		w1, w2 := w, w
		gradientPairsGo(&w1, &x, &E, g)
		gradientPairs(&w2, &x, &E, g)
		for k := range fftBins {
			if !same(w1[k], w2[k]) {
				t.Fatalf("round %d, bin %d: %v, want %v", round, k, w2[k], w1[k])
			}
		}
		if !same(w2[fftHalf], w[fftHalf]) {
			t.Fatalf("round %d: the last bin was written", round)
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

// TestRadix4Pairs: the architecture's radix4 gives radix4Go's stage bit
// for bit, for both stages that take twiddles, forward and inverse, on
// random values (zeros and negative zeros among them).
func TestRadix4Pairs(t *testing.T) {
	spec := randomSpectra(5)
	stages := []struct {
		tw, twInv   [][3]complex64
		twp, twpInv *complex64
	}{
		{fftTw16[:], fftTw16Inv[:], &fftTw16P[0][0], &fftTw16PInv[0][0]},
		{fftTw64[:], fftTw64Inv[:], &fftTw64P[0][0], &fftTw64PInv[0][0]},
	}
	negZero := float32(math.Copysign(0, -1))
	for round := range 50 {
		var in [fftBins]complex64
		spec(&in)
		if round == 0 {
			// Negative zeros everywhere: a product by a twiddle of 1
			// would make some of them positive.
			for i := range in {
				in[i] = complex(negZero, negZero)
			}
		}
		for _, st := range stages {
			n := 4 * len(st.tw)
			for _, inv := range []bool{false, true} {
				tw, twp, o1, o3 := st.tw, st.twp, 1, 3
				if inv {
					tw, twp, o1, o3 = st.twInv, st.twpInv, 3, 1
				}
				z1 := append([]complex64(nil), in[:n]...)
				z2 := append([]complex64(nil), in[:n]...)
				radix4Go(z1, tw, o1, o3)
				radix4(z2, tw, twp, o1, o3)
				for i := range z1 {
					if !same(z1[i], z2[i]) {
						t.Fatalf("round %d, stage of %d, inverse %v, value %d: %v, want %v", round, n, inv, i, z2[i], z1[i])
					}
				}
			}
		}
	}
}
