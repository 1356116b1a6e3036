package dsp

import (
	"math"
	"testing"
)

// TestEchoCancellerToneEchoInDoubleTalk: the far end plays a steady tone
// into a silent line for 2.5 s, then the phone answers with a tone of its
// own; while both sound, what is left of the far tone's echo (the NLP
// stands aside in double talk, so this is the linear canceller's work)
// stays ≥ 25 dB below the far tone, on every path.
func TestEchoCancellerToneEchoInDoubleTalk(t *testing.T) {
	const seconds = 4.5
	n := int(seconds * SampleRate)
	for _, p := range echoPaths {
		t.Run(p.name, func(t *testing.T) {
			amp := DBm0ToAmplitude(-10)
			far := sines(n, []float64{1000}, []float64{amp})
			near := sines(n, []float64{600}, []float64{amp})
			s := makeScene(far, near, p, seconds, 2.5, seconds)
			// A digital line: no noise, G.711 both ways.
			s.tx = mulawTrip(s.tx)
			s.echo = convolve(s.tx, p.ir())
			for i := range s.rx {
				s.noise[i] = 0
				s.rx[i] = saturate(s.echo[i] + s.near[i])
			}
			s.rx = mulawTrip(s.rx)
			out := runOurs(s, true)
			worst := -200.0
			for w := int(2.7 * SampleRate); w+320 <= n; w += 160 {
				worst = max(worst, 20*math.Log10(hannToneAt(out[w:w+320], 1000)/amp))
			}
			t.Logf("far tone's echo in double talk at most %.1f dB below the far tone", -worst)
			if worst > -25 {
				t.Errorf("far tone's echo in double talk only %.1f dB down, want ≥ 25", -worst)
			}
		})
	}
}

// hannToneAt returns the amplitude of f Hz in x through a Hann window.
func hannToneAt(x []int16, f float64) float64 {
	var i, q, ws float64
	for n, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(n)/float64(len(x)))
		s, c := math.Sincos(2 * math.Pi * f * float64(n) / SampleRate)
		i += w * float64(v) * c
		q += w * float64(v) * s
		ws += w
	}
	return 2 * math.Hypot(i, q) / ws
}
