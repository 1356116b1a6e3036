package dsp

import (
	"math"
	"math/bits"
	"slices"
)

// Analysis limits for DominantTones.
const (
	analyzeMinHz    = 100.0
	analyzeMaxHz    = 3800.0
	analyzeRelDB    = 20.0  // peaks this far below the strongest are dropped
	analyzeFloorDB  = -55.0 // peaks below this level (dBFS) are dropped
	analyzeMinInput = 64
	analyzeMaxInput = 1 << 20
)

// DominantTones returns the frequencies (Hz, rounded to the nearest integer)
// of the strongest spectral peaks of samples between 100 and 3800 Hz, at most
// max of them, sorted ascending. A peak counts only if it is within 20 dB of
// the strongest one and its sine level is above −55 dBFS. It returns nil when
// nothing qualifies (silence, too few samples, max < 1).
//
// The samples are Blackman-windowed and zero-padded to at least twice their
// length before a radix-2 FFT; each peak's frequency is then refined by
// parabolic interpolation of the log magnitude. For a clean 500 ms tone the
// result is within ±1 Hz, and tones 40 Hz apart are resolved. It allocates
// and is meant for test equipment and the virtual phones, not the real-time
// path. At most the first 2^20 samples are analysed.
func DominantTones(samples []int16, max int) []float64 {
	if max < 1 || len(samples) < analyzeMinInput {
		return nil
	}
	if len(samples) > analyzeMaxInput {
		samples = samples[:analyzeMaxInput]
	}
	n := len(samples)
	size := 1 << bits.Len(uint(2*n-1)) // power of two >= 2n
	re := make([]float64, size)
	im := make([]float64, size)
	var wsum float64
	for i, s := range samples {
		w := blackman(i, n)
		wsum += w
		re[i] = w * float64(s)
	}
	fft(re, im)

	half := size / 2
	mag := make([]float64, half+1)
	for k := range mag {
		mag[k] = math.Hypot(re[k], im[k])
	}
	binHz := float64(SampleRate) / float64(size)
	lo := max1(int(math.Ceil(analyzeMinHz/binHz)), 1)
	hi := min(int(analyzeMaxHz/binHz), half-1)

	type peak struct{ hz, amp float64 }
	var peaks []peak
	for k := lo; k <= hi; k++ {
		m := mag[k]
		if m == 0 || m <= mag[k-1] || m < mag[k+1] {
			continue
		}
		// Parabolic interpolation on the log magnitude.
		a, b, c := math.Log(mag[k-1]+1e-12), math.Log(m), math.Log(mag[k+1]+1e-12)
		delta := 0.0
		if den := a - 2*b + c; den < 0 {
			delta = 0.5 * (a - c) / den
		}
		delta = math.Max(-0.5, math.Min(0.5, delta))
		peakLog := b - 0.25*(a-c)*delta
		amp := 2 * math.Exp(peakLog) / wsum // sine peak amplitude
		peaks = append(peaks, peak{hz: (float64(k) + delta) * binHz, amp: amp})
	}
	if len(peaks) == 0 {
		return nil
	}
	slices.SortFunc(peaks, func(x, y peak) int {
		switch {
		case x.amp > y.amp:
			return -1
		case x.amp < y.amp:
			return 1
		}
		return 0
	})
	floor := math.Max(peaks[0].amp*math.Pow(10, -analyzeRelDB/20), DBFSToAmplitude(analyzeFloorDB))
	var out []float64
	for _, p := range peaks {
		if len(out) == max || p.amp < floor {
			break
		}
		out = append(out, math.Round(p.hz))
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func max1(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// blackman returns the i-th coefficient of an n-point Blackman window.
func blackman(i, n int) float64 {
	x := 2 * math.Pi * float64(i) / float64(n-1)
	return 0.42 - 0.5*math.Cos(x) + 0.08*math.Cos(2*x)
}

// fft computes an in-place radix-2 decimation-in-time FFT of (re, im);
// len(re) == len(im) must be a power of two.
func fft(re, im []float64) {
	n := len(re)
	if n < 2 {
		return
	}
	shift := 64 - bits.Len(uint(n-1))
	for i := range n {
		j := int(bits.Reverse64(uint64(i)) >> shift)
		if j > i {
			re[i], re[j] = re[j], re[i]
			im[i], im[j] = im[j], im[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		halfSize := size / 2
		ang := -2 * math.Pi / float64(size)
		wr, wi := math.Cos(ang), math.Sin(ang)
		for start := 0; start < n; start += size {
			cr, ci := 1.0, 0.0
			for k := range halfSize {
				a, b := start+k, start+k+halfSize
				tr := re[b]*cr - im[b]*ci
				ti := re[b]*ci + im[b]*cr
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a] += tr
				im[a] += ti
				cr, ci = cr*wr-ci*wi, cr*wi+ci*wr
			}
		}
	}
}
