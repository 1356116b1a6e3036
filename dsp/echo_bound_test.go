package dsp

import (
	"math"
	"testing"
)

// response returns the whole filter's response at each transform bin:
// Σ_p W_p(k)·e^{−2πi·k·ecPart·p/fftN}.
func (e *EchoCanceller) response(w [][fftBins]complex64) (h [fftBins]complex64) {
	for k := range fftBins {
		for p := range e.parts {
			h[k] += w[p][k] * echoPartShift[p][k]
		}
	}
	return h
}

func abs64(v complex64) float64 { return math.Hypot(float64(real(v)), float64(imag(v))) }

// TestEchoGainBound: a background that has learnt a gain no line has
// (+40 dB at 1000 Hz, as one adapting on a near-end tone that the far end
// barely carries learns it) is held to echoMaxGain there before it may
// become the foreground, in the candidate and in the background itself;
// and a canceller that learns a real line's echo (6 dB ERL) never meets
// the bound.
func TestEchoGainBound(t *testing.T) {
	const n = 2 * SampleRate
	p := echoPaths[3] // D: 6 dB ERL, the loudest echo a line returns
	tx := noise(n, 3000, 7)
	echo := convolve(tx, p.ir())
	e := NewEchoCanceller()
	rx := make([]int16, 80)
	for i := 0; i+80 <= n; i += 80 {
		for j := range rx {
			rx[j] = saturate(echo[i+j])
		}
		e.Process(rx, tx[i:i+80])
	}
	copy(e.wc[:e.parts], e.wb[:e.parts])
	for p := range e.parts {
		e.constrain(&e.wc[p], p)
	}
	before := e.response(e.wc) // the candidate without the excess
	for k, v := range before {
		if abs64(v) > echoMaxGain {
			t.Fatalf("a real line's learnt response is %.2f at bin %d, above the bound %v", abs64(v), k, echoMaxGain)
		}
	}
	const bin = 16 // 1000 Hz
	e.wb[2][bin] += complex(100, 0)
	if g := abs64(e.response(e.wb)[bin]); g < 50 {
		t.Fatalf("the injected gain reads %.1f", g)
	}
	e.constrainedBetter(math.MaxFloat64, math.MaxFloat64)
	if g := abs64(e.response(e.wb)[bin]); g > echoMaxGain*1.001 {
		t.Errorf("the background keeps a gain of %.1f at 1000 Hz, want at most %v", g, echoMaxGain)
	}
	// Each round of bound and constraint brings the candidate closer to
	// the bound (the constraint spreads a bounded bin a little).
	for k, v := range e.response(e.wc) {
		if abs64(v) > 1.5*echoMaxGain {
			t.Errorf("the candidate's gain is %.2f at bin %d, want about %v at most", abs64(v), k, echoMaxGain)
		}
	}
}
