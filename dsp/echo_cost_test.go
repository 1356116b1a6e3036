package dsp

import (
	"fmt"
	"math"
	"math/cmplx"
	"runtime"
	"testing"
)

// TestEchoCancellerSilentRefExact: skipping the transforms while the
// reference is digital silence changes nothing — the output, the linear
// residual and every later frame are bit for bit what the full
// computation gives, for gaps shorter and longer than the tail, in whole
// frames and in odd chunks, and the skip does happen on the long gaps.
func TestEchoCancellerSilentRefExact(t *testing.T) {
	far := speechLike(8*SampleRate, 2000, 5)
	near := speechLike(8*SampleRate, 1500, 6)
	tests := []struct {
		name     string
		taps     int
		gaps     [][2]float64 // reference exactly zero over [from, to) s
		chunk    int          // samples per call (0: 80-sample frames)
		wantSkip bool
	}{
		{"short gaps only", EchoTail, [][2]float64{{1, 1.04}, {2, 2.06}}, 0, false},
		{"long gaps", EchoTail, [][2]float64{{1, 1.5}, {3, 4.2}, {6, 6.3}}, 0, true},
		{"long gaps, odd chunks", EchoTail, [][2]float64{{1, 1.5}, {3, 4.2}}, 37, true},
		{"longest tail", EchoTailMax, [][2]float64{{1, 1.6}, {4, 5}}, 0, true},
		{"shortest tail", EchoTailMin, [][2]float64{{1, 1.1}, {4, 4.05}}, 0, true},
		{"silent from the start", EchoTail, [][2]float64{{0, 2}}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := append([]int16(nil), far...)
			for _, g := range tc.gaps {
				clear(tx[int(g[0]*SampleRate):int(g[1]*SampleRate)])
			}
			s := makeScene(tx, near, echoPaths[1], 8, 2.5, 3.5)
			fast, full := NewEchoCancellerTaps(tc.taps), NewEchoCancellerTaps(tc.taps)
			full.noSkip = true
			outF, outS := append([]int16(nil), s.rx...), append([]int16(nil), s.rx...)
			linF, linS := make([]int16, len(s.rx)), make([]int16, len(s.rx))
			step := tc.chunk
			if step == 0 {
				step = 80
			}
			for i := 0; i < len(s.rx); i += step {
				j := min(i+step, len(s.rx))
				fast.ProcessLinear(outF[i:j], s.tx[i:j], linF[i:j])
				full.ProcessLinear(outS[i:j], s.tx[i:j], linS[i:j])
			}
			for i := range outF {
				if outF[i] != outS[i] || linF[i] != linS[i] {
					t.Fatalf("sample %d (%.3f s): output %d / linear %d with the skip, %d / %d without",
						i, float64(i)/SampleRate, outF[i], linF[i], outS[i], linS[i])
				}
			}
			if full.skipped != 0 {
				t.Fatalf("the canceller told not to skip skipped %d blocks", full.skipped)
			}
			if got := fast.skipped > 0; got != tc.wantSkip {
				t.Errorf("%d blocks skipped, want skipping %v", fast.skipped, tc.wantSkip)
			}
			if erle := s.erle(outF, 6.5, 8); erle < 20 {
				t.Errorf("ERLE %.1f dB at 6.5-8 s, want ≥ 20: the scene is not a converged call", erle)
			}
		})
	}
}

// TestEchoCancellerSilentRefNoAllocs: the skipping path allocates nothing.
func TestEchoCancellerSilentRefNoAllocs(t *testing.T) {
	e := NewEchoCanceller()
	rx, tx := noise(80, 1000, 1), make([]int16, 80)
	for range 20 {
		e.Process(append([]int16(nil), rx...), tx)
	}
	if a := testing.AllocsPerRun(100, func() { e.Process(rx, tx) }); a != 0 {
		t.Fatalf("%.1f allocations per silent-reference frame", a)
	}
	if e.skipped == 0 {
		t.Fatal("no block skipped after 200 ms of silent reference")
	}
}

// TestEchoCancellerStorage: the storage is sized for the tail; SetTaps to
// a longer tail grows it (allocating), to a shorter one or back does not,
// and the zero value makes its storage at its first use.
func TestEchoCancellerStorage(t *testing.T) {
	tests := []struct {
		make, set   int
		wantParts   int // partitions in use after SetTaps(set)
		wantCap     int // partitions the storage holds
		wantAllocs  bool
		maxBytesApx int // the canceller's per-tail storage, bytes (upper bound)
	}{
		{EchoTail, EchoTail, 13, 13, false, 40 << 10},
		{EchoTail, EchoTailMin, 4, 13, false, 40 << 10},
		{EchoTailMin, EchoTail, 13, 13, true, 40 << 10},
		{EchoTail, EchoTailMax, 26, 26, true, 80 << 10},
		{EchoTailMax, EchoTail, 13, 26, false, 80 << 10},
		{EchoTailMin, EchoTailMin, 4, 4, false, 14 << 10},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d then %d", tc.make, tc.set), func(t *testing.T) {
			e := NewEchoCancellerTaps(tc.make)
			a := mallocs(func() { e.SetTaps(tc.set) })
			if (a > 0) != tc.wantAllocs {
				t.Errorf("SetTaps(%d) after %d: %d allocations, want some: %v", tc.set, tc.make, a, tc.wantAllocs)
			}
			if e.parts != tc.wantParts || e.capP != tc.wantCap {
				t.Errorf("%d partitions in use of %d held, want %d of %d", e.parts, e.capP, tc.wantParts, tc.wantCap)
			}
			if b := e.storageBytes(); b > tc.maxBytesApx {
				t.Errorf("storage %d bytes, want ≤ %d", b, tc.maxBytesApx)
			}
			if a := testing.AllocsPerRun(1, func() { e.SetTaps(tc.set) }); a != 0 {
				t.Errorf("SetTaps(%d) again: %.0f allocations", tc.set, a)
			}
		})
	}
	t.Run("zero value", func(t *testing.T) {
		tx := noise(2*SampleRate, 2000, 11)
		s := echoScene{tx: tx, echo: convolve(tx, echoPaths[0].ir())}
		s.near, s.noise = make([]float64, len(tx)), make([]float64, len(tx))
		out := make([]int16, len(tx))
		for i := range tx {
			out[i] = saturate(s.echo[i])
		}
		var e EchoCanceller
		e.SetNLP(false)
		for i := 0; i < len(out); i += 80 {
			e.Process(out[i:i+80], tx[i:i+80])
		}
		if e.Taps() != EchoTail || e.capP != 13 {
			t.Errorf("zero value: %d taps, %d partitions held", e.Taps(), e.capP)
		}
		if erle := s.erle(out, 1.5, 2); erle < 30 {
			t.Errorf("zero value: ERLE %.1f dB at 1.5-2 s, want ≥ 30", erle)
		}
	})
}

// mallocs returns the number of heap allocations f makes (run once: the
// first call is the one that may grow).
func mallocs(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.Mallocs - m0.Mallocs
}

// storageBytes returns the size of the canceller's tail-sized storage.
func (e *EchoCanceller) storageBytes() int {
	const spec = fftBins * 8
	return (len(e.wf)+len(e.wb)+len(e.wc)+len(e.xs))*spec + len(e.xp)*fftBins*4 +
		(len(e.wn)+len(e.ring)+len(e.wt))*4
}

// TestRFFTKnownSpectra: the real transform of signals with known
// spectra, and the inverse of single bins.
func TestRFFTKnownSpectra(t *testing.T) {
	dft := func(x *[fftN]float32, k int) complex128 {
		var s complex128
		for n := range fftN {
			s += complex(float64(x[n]), 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*n)/fftN))
		}
		return s
	}
	signals := []struct {
		name string
		f    func(n int) float32
	}{
		{"impulse at 0", func(n int) float32 { return b2f(n == 0) }},
		{"impulse at 1", func(n int) float32 { return b2f(n == 1) }},
		{"impulse at 77", func(n int) float32 { return b2f(n == 77) }},
		{"impulse at 127", func(n int) float32 { return b2f(n == 127) }},
		{"DC", func(int) float32 { return 1 }},
		{"Nyquist", func(n int) float32 { return float32(1 - 2*(n&1)) }},
		{"bin 5 cosine", func(n int) float32 { return float32(math.Cos(2 * math.Pi * 5 * float64(n) / fftN)) }},
		{"bin 63 sine", func(n int) float32 { return float32(math.Sin(2 * math.Pi * 63 * float64(n) / fftN)) }},
		{"last 40 only", func(n int) float32 { return b2f(n >= ecValid) * float32(n%5-2) }},
	}
	var tmp [fftHalf]complex64
	for _, sg := range signals {
		t.Run(sg.name, func(t *testing.T) {
			var x, y [fftN]float32
			for n := range x {
				x[n] = sg.f(n)
			}
			var X [fftBins]complex64
			rfft(&X, &x, &tmp)
			for k := range fftBins {
				if d := cmplx.Abs(complex128(X[k]) - dft(&x, k)); d > 1e-4 {
					t.Fatalf("bin %d: %v, want %v", k, X[k], dft(&x, k))
				}
			}
			irfft(&y, &X, &tmp)
			for n := range y {
				if math.Abs(float64(y[n]-x[n])) > 1e-5 {
					t.Fatalf("sample %d: %v after the round trip, want %v", n, y[n], x[n])
				}
			}
		})
	}
	for _, k := range []int{0, 1, 31, 32, 33, 64} {
		t.Run(fmt.Sprintf("inverse of bin %d", k), func(t *testing.T) {
			var X [fftBins]complex64
			X[k] = complex(fftN, 0)
			if k != 0 && k != fftHalf {
				X[k] = complex(fftN/2, fftN/4) // a cosine and a sine
			}
			var y [fftN]float32
			irfft(&y, &X, &tmp)
			for n := range y {
				ph := 2 * math.Pi * float64(k*n) / fftN
				want := math.Cos(ph)
				if k != 0 && k != fftHalf {
					want = math.Cos(ph) - 0.5*math.Sin(ph)
				}
				if math.Abs(float64(y[n])-want) > 1e-5 {
					t.Fatalf("sample %d: %v, want %v", n, y[n], want)
				}
			}
		})
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}
