package dsp

import "math"

// 8 kHz ↔ 16 kHz conversion by a linear-phase half-band FIR low-pass,
// run in polyphase form, so the 8 kHz media loop can carry G.722 (16 kHz).
//
// The filter has 4·hbK−1 = 59 taps at 16 kHz (Kaiser window, β = 6.76):
// passband 0–3.4 kHz flat within ±0.01 dB, stopband from 4.6 kHz at
// least 65 dB down (69 dB measured; −6 dB at 4 kHz, as for every half-band
// filter). Every other tap but the centre one is zero, so one polyphase
// branch is a pure delay and the other a 30-tap symmetric FIR.
const (
	hbK    = 15
	hbTaps = 4*hbK - 1 // 59
	hbEven = 2 * hbK   // non-zero taps besides the centre
	// ResampleDelay16 is the group delay of either converter, in 16 kHz
	// samples (29, 1.8125 ms).
	ResampleDelay16 = (hbTaps - 1) / 2
	// ResampleRoundTrip is the delay of Upsampler2 followed by
	// Downsampler2, in 8 kHz samples: 29 (3.625 ms).
	ResampleRoundTrip = ResampleDelay16
)

// hbCoef holds the even-indexed taps h[0], h[2], …, h[2·hbEven−2] (the
// centre tap h[hbTaps/2] is 0.5 and the other odd taps are 0).
var hbCoef [hbEven]float32

func init() {
	const beta = 6.76
	c := float64(hbTaps-1) / 2
	var sum float64
	for j := range hbEven {
		n := float64(2*j) - c // odd: c is odd, 2j even
		sinc := math.Sin(math.Pi*n/2) / (math.Pi * n)
		r := n / c
		w := besselI0(beta*math.Sqrt(1-r*r)) / besselI0(beta)
		hbCoef[j] = float32(sinc * w)
		sum += sinc * w
	}
	// Normalise the branch's DC gain to exactly 0.5 (the centre tap's), so
	// both polyphase branches pass DC with the same gain.
	for j := range hbCoef {
		hbCoef[j] = float32(float64(hbCoef[j]) * 0.5 / sum)
	}
}

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-17*sum {
			break
		}
	}
	return sum
}

// hbDot returns Σ hbCoef[j]·x[hbEven−1−j]: the even branch over x (the
// last hbEven samples of the branch's input, oldest first).
func hbDot(x []float32) float32 {
	x = x[:hbEven]
	var s0, s1 float32
	// Symmetric taps: h[2j] = h[2(hbEven−1−j)]; two sums shorten the
	// dependency chain.
	const half = hbEven / 2
	j := 0
	for ; j+1 < half; j += 2 {
		s0 += hbCoef[j] * (x[hbEven-1-j] + x[j])
		s1 += hbCoef[j+1] * (x[hbEven-2-j] + x[j+1])
	}
	if j < half { // odd half
		s0 += hbCoef[j] * (x[hbEven-1-j] + x[j])
	}
	return s0 + s1
}

// Upsampler2 converts 8 kHz linear PCM to 16 kHz: it inserts a zero after
// every sample and removes the image above 4 kHz with the half-band
// low-pass (gain 2, so levels are kept). Output lags input by
// ResampleDelay16 16 kHz samples. The zero value is ready; it keeps fixed
// storage, never allocates and is not safe for concurrent use.
type Upsampler2 struct {
	ring [2 * hbEven]float32 // input history, duplicated ring
	pos  int
}

// Process writes 2·len(src) samples at 16 kHz to dst and returns how many
// it wrote: min(len(dst), 2·len(src)) rounded down to even, consuming
// that many halves of src (the rest of src is ignored).
func (u *Upsampler2) Process(dst, src []int16) int {
	n := min(len(dst)/2, len(src))
	for i := range n {
		v := float32(src[i])
		u.ring[u.pos], u.ring[u.pos+hbEven] = v, v
		if u.pos++; u.pos == hbEven {
			u.pos = 0
		}
		h := u.ring[u.pos : u.pos+hbEven] // oldest first
		// Even output: the FIR branch; odd output: the centre tap (gain
		// 2·0.5), a delay of hbK−1 input samples.
		dst[2*i] = sat32(2 * hbDot(h))
		dst[2*i+1] = sat32(h[hbEven-hbK])
	}
	return 2 * n
}

// Reset clears the filter history.
func (u *Upsampler2) Reset() { *u = Upsampler2{} }

// Downsampler2 converts 16 kHz linear PCM to 8 kHz: the half-band
// low-pass removes everything above 4 kHz (at least 65 dB from 4.6 kHz),
// then every other sample is kept (the 1st, 3rd, 5th, … of the stream).
// Output lags input by ResampleDelay16 16 kHz samples. Any number of
// samples may be passed per call; a stream split anywhere gives the same
// output. The zero value is ready; it keeps fixed storage, never allocates
// and is not safe for concurrent use.
type Downsampler2 struct {
	fir [2 * hbEven]float32 // first samples of the pairs, duplicated ring
	ctr [2 * hbK]float32    // second samples of the pairs, duplicated ring
	pf  int
	pc  int
	odd bool // the next input sample is the second of its pair
}

// Process reads src at 16 kHz, writes one 8 kHz sample to dst for every
// first sample of a pair (so (len(src)+1)/2 at most) and returns how many
// it wrote; input beyond what dst can take is ignored.
func (d *Downsampler2) Process(dst, src []int16) int {
	w := 0
	for _, s := range src {
		v := float32(s)
		if d.odd {
			d.odd = false
			d.ctr[d.pc], d.ctr[d.pc+hbK] = v, v
			if d.pc++; d.pc == hbK {
				d.pc = 0
			}
			continue
		}
		if w == len(dst) {
			break
		}
		d.odd = true
		d.fir[d.pf], d.fir[d.pf+hbEven] = v, v
		if d.pf++; d.pf == hbEven {
			d.pf = 0
		}
		// y[n] = Σ_k h[k]·u[2n−k] = Σ_j h[2j]·u[2(n−j)] +
		// 0.5·u[2(n−hbK)+1]: the FIR branch over the pairs' first samples,
		// the centre tap on the second sample hbK pairs back (the oldest
		// in ctr).
		dst[w] = sat32(hbDot(d.fir[d.pf:d.pf+hbEven]) + 0.5*d.ctr[d.pc])
		w++
	}
	return w
}

// Reset clears the filter history.
func (d *Downsampler2) Reset() { *d = Downsampler2{} }
