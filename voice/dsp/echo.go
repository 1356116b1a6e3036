package dsp

import "math"

// EchoTail is the echo canceller's tail: 512 taps, 64 ms at 8 kHz.
const EchoTail = 512

// Echo canceller tuning.
const (
	echoMu        = 0.5   // NLMS step size
	echoWhiten    = 0.6   // pre-whitening filter 1 − 0.9 z⁻¹ for the adaptation
	echoGeigel    = 0.5   // double talk when |rx| > 0.5 · max|tx| (6 dB ERL)...
	echoGeigelMin = 0.25  // ...or less, down to 0.25, once the echo path is known
	echoHangover  = 240   // double talk lasts 30 ms after the last detection
	echoBlock     = 80    // foreground/background decisions every 10 ms
	echoGeigelBlk = 64    // |tx| maxima are kept per 64 samples
	echoNLPRatio  = 0.25  // NLP suppresses when the residual is 6 dB below rx
	echoFarActive = 20.0  // far end active above ~ −60 dBm0 mean power
	echoNLPHang   = 160   // the NLP stays on 20 ms after its condition ends
	echoSmooth    = 0.016 // one-pole smoothing of the NLP's power estimates (~8 ms)
	echoDelta     = 1e4   // NLMS regularisation (avoids blowing up on silence)
)

// EchoCanceller removes the echo of the signal sent to a 2-wire line
// (the reference, "tx") from the signal received from it ("rx"): a
// 512-tap (64 ms) adaptive FIR estimate of the echo path, adapted by
// normalised LMS on pre-whitened signals (1 − 0.9 z⁻¹, which speeds up
// convergence on speech), in a foreground/background pair: the background
// filter adapts, and its coefficients are copied to the foreground filter,
// which produces the output, only when they cancel better over a 10 ms
// block, so a burst of double talk that the detector misses cannot corrupt
// the output. A Geigel double-talk detector (|rx| above half the largest
// |tx| of the last 64 ms, 30 ms hangover) freezes adaptation. A
// non-linear processor replaces the residual by comfort noise at the
// measured noise floor while the far end talks, the near end does not and
// the residual is at least 6 dB below rx.
//
// It works on 8 kHz samples, any number per call, and never allocates.
// Create one with NewEchoCanceller (the zero value also works, with the
// non-linear processor on). It is not safe for concurrent use.
type EchoCanceller struct {
	hf, hb [EchoTail]float32     // foreground, background coefficients
	x, xw  [2 * EchoTail]float32 // tx and whitened tx, duplicated ring, newest at pos
	pos    int
	xwPow  float64 // Σ xw² over the tail
	cross  float64 // Σ xw·x over the tail
	xPrev  float32
	ebPrev float32

	blkMax [EchoTail/echoGeigelBlk + 1]float32 // |tx| maxima per 64 samples
	blkPos int
	blkN   int
	dt     int // double-talk hangover left, samples
	geigel float32

	n          int // samples in the current decision block
	ed, ef, eb float64

	px, pd, pe float32 // smoothed powers for the NLP: tx, rx, residual
	noise      float32 // residual noise floor estimate (power)
	nlpHang    int
	seed       uint32
	noNLP      bool
	ready      bool
}

// NewEchoCanceller returns an echo canceller with the non-linear processor
// on.
func NewEchoCanceller() *EchoCanceller {
	e := &EchoCanceller{}
	e.Reset()
	return e
}

// Reset forgets the echo path and all state (keeping the NLP setting).
func (e *EchoCanceller) Reset() {
	nlp := e.noNLP
	*e = EchoCanceller{noNLP: nlp, ready: true, seed: 1, noise: 1, geigel: echoGeigel}
}

// SetNLP turns the non-linear processor (residual suppression with comfort
// noise) on or off; the linear canceller always runs.
func (e *EchoCanceller) SetNLP(on bool) { e.noNLP = !on }

// DoubleTalk reports whether the double-talk detector currently holds
// adaptation.
func (e *EchoCanceller) DoubleTalk() bool { return e.dt > 0 }

// Process cancels echo in rx, in place. tx holds the samples sent to the
// line at the same instants (the reference); rx and tx should have the same
// length, extra samples of the longer one are ignored (rx beyond tx is left
// as is).
func (e *EchoCanceller) Process(rx, tx []int16) {
	if !e.ready {
		e.Reset()
	}
	n := min(len(rx), len(tx))
	for i := range n {
		rx[i] = e.sample(rx[i], tx[i])
	}
}

func (e *EchoCanceller) sample(rxs, txs int16) int16 {
	xv := float32(txs)
	d := float32(rxs)

	// Reference history: duplicated ring so x[pos:pos+EchoTail] is
	// contiguous, newest first.
	if e.pos == 0 {
		e.pos = EchoTail
	}
	e.pos--
	oldW, oldX := e.xw[e.pos], e.x[e.pos]
	xwv := xv - echoWhiten*e.xPrev
	e.xPrev = xv
	e.x[e.pos], e.x[e.pos+EchoTail] = xv, xv
	e.xw[e.pos], e.xw[e.pos+EchoTail] = xwv, xwv
	e.xwPow += float64(xwv)*float64(xwv) - float64(oldW)*float64(oldW)
	e.cross += float64(xwv)*float64(xv) - float64(oldW)*float64(oldX)
	if e.xwPow < 0 {
		e.xwPow = 0
	}

	// Geigel double-talk detector.
	ax := max(xv, -xv)
	if e.blkN == 0 {
		e.blkMax[e.blkPos] = 0
	}
	e.blkMax[e.blkPos] = max(e.blkMax[e.blkPos], ax)
	if e.blkN++; e.blkN == echoGeigelBlk {
		e.blkN = 0
		if e.blkPos++; e.blkPos == len(e.blkMax) {
			e.blkPos = 0
		}
	}
	var mx float32
	for _, m := range e.blkMax {
		mx = max(mx, m)
	}
	if max(d, -d) > e.geigel*mx && mx > 0 {
		e.dt = echoHangover
	} else if e.dt > 0 {
		e.dt--
	}

	xs := e.x[e.pos : e.pos+EchoTail]
	yf, yb := dot2(&e.hf, &e.hb, xs)
	ef := d - yf
	eb := d - yb

	// Background NLMS on whitened signals. The whitened error needs the
	// previous sample's error as the updated filter would have made it:
	// the update g·xw changed that output by g·Σxw·x.
	ebw := eb - echoWhiten*e.ebPrev
	e.ebPrev = eb
	if e.dt == 0 {
		g := float32(echoMu / (e.xwPow + echoDelta) * float64(ebw))
		axpy(&e.hb, e.xw[e.pos:e.pos+EchoTail], g)
		e.ebPrev = eb - float32(float64(g)*e.cross)
	}

	// Foreground/background decisions per block.
	e.ed += float64(d) * float64(d)
	e.ef += float64(ef) * float64(ef)
	e.eb += float64(eb) * float64(eb)
	if e.n++; e.n == echoBlock {
		switch {
		case e.eb < 0.7*e.ef && e.eb < 0.25*e.ed:
			e.hf = e.hb // the background cancels better: take it
			// The Geigel threshold follows the echo path's gain
			// (2·‖h‖, between −12 and −6 dB) once it is known.
			var n2 float32
			for _, v := range e.hf {
				n2 += v * v
			}
			e.geigel = min(max(2*float32(math.Sqrt(float64(n2))), echoGeigelMin), echoGeigel)
		case e.eb > 4*e.ed && e.ef < e.eb:
			e.hb = e.hf // the background diverged: restart from the foreground
		}
		e.n, e.ed, e.ef, e.eb = 0, 0, 0, 0
	}

	// Non-linear processor.
	e.px += echoSmooth * (xv*xv - e.px)
	e.pd += echoSmooth * (d*d - e.pd)
	e.pe += echoSmooth * (ef*ef - e.pe)
	if e.px < echoFarActive*echoFarActive {
		// Far end quiet: the residual is the near end's noise (or speech);
		// track its floor, falling fast and rising slowly.
		if e.pe < e.noise {
			e.noise += 0.05 * (e.pe - e.noise)
		} else {
			e.noise += 0.0005 * (e.pe - e.noise)
		}
	}
	if e.noNLP {
		return sat32(ef)
	}
	if e.dt == 0 && e.px >= echoFarActive*echoFarActive && e.pe < echoNLPRatio*e.pd {
		e.nlpHang = echoNLPHang
	} else if e.nlpHang > 0 {
		e.nlpHang--
	}
	if e.nlpHang > 0 {
		return sat32(e.comfortNoise())
	}
	return sat32(ef)
}

// comfortNoise returns a white noise sample at the noise floor's power.
func (e *EchoCanceller) comfortNoise() float32 {
	// Sum of two uniform variables (triangular, variance 1/6 of the range²).
	e.seed = e.seed*1664525 + 1013904223
	a := float32(int32(e.seed)) / 2147483648
	e.seed = e.seed*1664525 + 1013904223
	b := float32(int32(e.seed)) / 2147483648
	return (a + b) * float32(math.Sqrt(float64(1.5*e.noise)))
}

// dot2 returns the dot products of a and b with x.
func dot2(a, b *[EchoTail]float32, x []float32) (float32, float32) {
	x = x[:EchoTail]
	var s0, s1, s2, s3, t0, t1, t2, t3 float32
	for i := 0; i < EchoTail; i += 4 {
		s0 += a[i] * x[i]
		s1 += a[i+1] * x[i+1]
		s2 += a[i+2] * x[i+2]
		s3 += a[i+3] * x[i+3]
		t0 += b[i] * x[i]
		t1 += b[i+1] * x[i+1]
		t2 += b[i+2] * x[i+2]
		t3 += b[i+3] * x[i+3]
	}
	return (s0 + s1) + (s2 + s3), (t0 + t1) + (t2 + t3)
}

// axpy adds g·x to h.
func axpy(h *[EchoTail]float32, x []float32, g float32) {
	x = x[:EchoTail]
	for i := 0; i < EchoTail; i += 4 {
		h[i] += g * x[i]
		h[i+1] += g * x[i+1]
		h[i+2] += g * x[i+2]
		h[i+3] += g * x[i+3]
	}
}
