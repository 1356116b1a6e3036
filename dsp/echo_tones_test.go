package dsp

import (
	"math"
	"testing"
)

// dtmfPairs are the row and column frequencies of the digits the near-end
// tone test keys.
var dtmfPairs = map[byte][2]float64{
	'1': {697, 1209}, '5': {770, 1336}, '9': {852, 1477}, '0': {941, 1336},
	'3': {697, 1477}, '#': {941, 1477},
}

// nearTones returns n samples of the phone's signal for the near-end tone
// test: "steady" hz tone from the start, or the DTMF digits keyed 100 ms
// on / 100 ms off from 50 ms.
func nearTones(n int, hz float64, digits string) []int16 {
	x := make([]int16, n)
	amp := DBm0ToAmplitude(-10)
	for i := range x {
		t := float64(i) / SampleRate
		if digits == "" {
			x[i] = saturate(amp * math.Sin(2*math.Pi*hz*t))
			continue
		}
		k := (i - 400) / 1600
		if i < 400 || k >= len(digits) || (i-400)%1600 >= 800 {
			continue
		}
		f := dtmfPairs[digits[k]]
		a := DBm0ToAmplitude(-9)
		x[i] = saturate(a*0.8*math.Sin(2*math.Pi*f[0]*t) + a*math.Sin(2*math.Pi*f[1]*t))
	}
	return x
}

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
