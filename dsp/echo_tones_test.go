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

// TestEchoCancellerKeepsNearEndTones: the far end plays a steady tone
// from the call's start (a ringback, a hold tone, an IVR's) while the
// phone sends its own tones at other frequencies — a steady tone, DTMF
// digits, a fax calling tone. A linear echo canceller cannot turn one
// frequency into another (a block filter with unconstrained partitions,
// periodically time-varying, can: 200 Hz·k away, 1300 Hz into 1100 Hz or
// 700 Hz), so the phone's tones must come through
// undented (within 1 dB in every 40 ms window they fill), and every digit must
// still decode, before the canceller has converged and after.
func TestEchoCancellerKeepsNearEndTones(t *testing.T) {
	const seconds = 3.0
	n := int(seconds * SampleRate)
	tests := []struct {
		name   string
		farHz  float64
		nearHz float64
		digits string
		path   echoPath
		nlp    bool
	}{
		{"700 Hz under 1300 Hz", 1300, 700, "", echoPaths[1], true},
		{"700 Hz under 1300 Hz, no NLP", 1300, 700, "", echoPaths[1], false},
		{"CNG 1100 Hz under 1000 Hz", 1000, 1100, "", echoPaths[4], true},
		{"CNG 1100 Hz under 1300 Hz", 1300, 1100, "", echoPaths[2], true},
		{"2100 Hz under 440 Hz", 440, 2100, "", echoPaths[0], true},
		{"DTMF under 1000 Hz", 1000, 0, "1590#3", echoPaths[1], true},
		{"DTMF under 425 Hz", 425, 0, "1590#3", echoPaths[3], true},
		{"DTMF under 425 Hz, no NLP", 425, 0, "1590#3", echoPaths[3], false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			far := sines(n, []float64{tc.farHz}, []float64{DBm0ToAmplitude(-10)})
			near := nearTones(n, tc.nearHz, tc.digits)
			s := makeScene(far, near, tc.path, seconds, 0, seconds)
			out := runOurs(s, tc.nlp)
			// The phone's tones in every 40 ms window they fill, Hann-windowed
			// (deaf to the far tone's residue 200 Hz away): out vs what the
			// phone sent.
			const win = 320
			worst, at := 0.0, 0
			for w := 0; w+win <= n; w += win / 2 {
				freqs := []float64{tc.nearHz}
				if tc.digits != "" {
					k := (w - 400) / 1600
					if w < 400 || k >= len(tc.digits) || (w-400)%1600+win > 800 {
						continue // not inside one digit
					}
					f := dtmfPairs[tc.digits[k]]
					freqs = f[:]
				}
				for _, f := range freqs {
					in, got := hannToneAt(near[w:w+win], f), hannToneAt(out[w:w+win], f)
					if d := 20 * math.Log10(got/in); d < worst {
						worst, at = d, w
					}
				}
			}
			t.Logf("worst window: %.1f dB at %.2f s", worst, float64(at)/SampleRate)
			if worst < -1 {
				t.Errorf("the phone's tone dented by %.1f dB at %.2f s, want within 1 dB", -worst, float64(at)/SampleRate)
			}
			if tc.digits != "" {
				if got := string(NewDTMFDetector().Process(out, nil)); got != tc.digits {
					t.Errorf("DTMF in the output %q, want %q", got, tc.digits)
				}
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
