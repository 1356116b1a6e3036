package dsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFilterPart: the architecture's filterPart adds a partition's
// products to both sums as filterPartGo does, bit for bit, on random
// spectra (randomSpectra), over a whole tail's partitions.
func TestFilterPart(t *testing.T) {
	spec := randomSpectra(1)
	for round := range 20 {
		var f1, b1, f2, b2 [fftBins]complex64
		for range ecParts {
			var x, wf, wb [fftBins]complex64
			spec(&x)
			spec(&wf)
			spec(&wb)
			filterPartGo(&f1, &b1, &x, &wf, &wb)
			filterPart(&f2, &b2, &x, &wf, &wb)
		}
		for k := range fftBins {
			if !same(f1[k], f2[k]) || !same(b1[k], b2[k]) {
				t.Fatalf("round %d, bin %d: %v %v, want %v %v", round, k, f2[k], b2[k], f1[k], b1[k])
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

// BenchmarkEchoFiltersCold: both filters of eight cancellers (the
// default tail), each from a cache emptied of them, as in the media loop
// where a call's spectra have left the cache by its next frame (one op:
// the eight). "bins" is the bin-by-bin order round 14 tried first (both
// sums of a bin over every partition): fastest from a warm cache,
// slowest from a cold one.
func BenchmarkEchoFiltersCold(b *testing.B) {
	const chans = 8
	var es [chans]*EchoCanceller
	for i := range es {
		es[i] = NewEchoCanceller()
		noiseSecond(es[i], 30, nil)
	}
	evict := make([]byte, 8<<20)
	var yf, yb [ecBlock]float32
	for _, order := range []string{"partitions", "bins"} {
		b.Run(order, func(b *testing.B) {
			for b.Loop() {
				evictCache(b, evict)
				for _, e := range es {
					if order == "bins" {
						e.filtersByBin(&yf, &yb)
					} else {
						e.filters(&yf, &yb)
					}
				}
			}
		})
	}
}

// filtersByBin is filters bin by bin, the partitions inside (in Go).
func (e *EchoCanceller) filtersByBin(yf, yb *[ecBlock]float32) {
	accF, accB := &e.spec, &e.spec2
	for k := range fftBins {
		var fr, fi, br, bi float32
		for p := range e.parts {
			x := &e.xs[e.part(p)]
			xr, xi := real(x[k]), imag(x[k])
			f, b := e.wf[p][k], e.wb[p][k]
			fr += real(f)*xr - imag(f)*xi
			fi += real(f)*xi + imag(f)*xr
			br += real(b)*xr - imag(b)*xi
			bi += real(b)*xi + imag(b)*xr
		}
		accF[k], accB[k] = complex(fr, fi), complex(br, bi)
	}
	irfft(&e.tbuf, accF, &e.tmp)
	copy(yf[:], e.tbuf[ecValid:])
	irfft(&e.tbuf, accB, &e.tmp)
	copy(yb[:], e.tbuf[ecValid:])
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

// TestSpecEnergy: the architecture's specEnergy sums a spectrum's energy
// as specEnergyGo does, bit for bit, on random spectra, and both are
// within float32 rounding of the sum in float64.
func TestSpecEnergy(t *testing.T) {
	spec := randomSpectra(3)
	for round := range 200 {
		var w [fftBins]complex64
		spec(&w)
		got, want := specEnergy(&w), specEnergyGo(&w)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("round %d: %v, want %v", round, got, want)
		}
		var exact float64
		for _, v := range w {
			exact += float64(real(v))*float64(real(v)) + float64(imag(v))*float64(imag(v))
		}
		if d := math.Abs(float64(got) - exact); d > 1e-5*exact {
			t.Fatalf("round %d: %v, exact %v", round, got, exact)
		}
	}
}

// TestAddScaled: the architecture's addScaled adds a scaled power
// spectrum as addScaledGo does, bit for bit, over a whole tail's
// partitions, the last bin included.
func TestAddScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	for round := range 50 {
		var a, b [fftBins]float32
		for range ecParts {
			var src [fftBins]float32
			for k := range src {
				src[k] = float32(r.ExpFloat64() * math.Pow(10, float64(r.IntN(9)-4)))
			}
			g := float32(r.Float64() * 2)
			addScaledGo(&a, &src, g)
			addScaled(&b, &src, g)
		}
		for k := range a {
			if math.Float32bits(a[k]) != math.Float32bits(b[k]) {
				t.Fatalf("round %d, bin %d: %v, want %v", round, k, b[k], a[k])
			}
		}
	}
}
