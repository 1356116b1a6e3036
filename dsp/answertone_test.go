package dsp

import (
	"math"
	"testing"
	"time"
)

// answerTone synthesises seconds of a tone at hz and dbm0: phase reversed
// every revMs (0: none), amplitude-modulated at 15 Hz with depth am (V.8
// ANSam: 0.2), plus white noise at noiseDBm0 (below −100: none).
func answerTone(hz, dbm0, seconds float64, revMs int, am, noiseDBm0 float64) []int16 {
	n := int(seconds * SampleRate)
	out := make([]int16, n)
	amp := DBm0ToAmplitude(dbm0)
	var nz []int16
	if noiseDBm0 > -100 {
		nz = noise(n, DBm0ToAmplitude(noiseDBm0)/math.Sqrt2, 9)
	}
	ph := 0.0
	for i := range out {
		if revMs > 0 && i > 0 && i%(revMs*8) == 0 {
			ph += math.Pi
		}
		ph += 2 * math.Pi * hz / SampleRate
		env := 1 + am*math.Sin(2*math.Pi*15*float64(i)/SampleRate)
		v := amp / (1 + am) * env * math.Sin(ph)
		if nz != nil {
			v += float64(nz[i])
		}
		out[i] = saturate(v)
	}
	return out
}

// cngBursts is T.30 CNG: 1100 Hz, 0.5 s on, 3 s off.
func cngBursts(seconds float64) []int16 {
	out := answerTone(1100, -10, seconds, 0, 0, -200)
	for i := range out {
		if i%(28000) >= 4000 {
			out[i] = 0
		}
	}
	return out
}

func TestAnswerToneDetector(t *testing.T) {
	dtmf := func() []int16 {
		var g DTMFGen
		_ = g.Queue("1234567890*#ABCD", 100*time.Millisecond, 100*time.Millisecond, -7)
		out := make([]int16, 4*SampleRate)
		g.Fill(out)
		return out
	}
	tests := []struct {
		name         string
		in           []int16
		ans, cng     bool
		minRev       int
		maxRev       int
		chunk        int
		holdingAfter bool
	}{
		{"ANSam 2100 Hz, reversals, 15 Hz AM", answerTone(2100, -12, 3.3, 450, 0.2, -200), true, false, 6, 7, 80, true},
		{"ANS with reversals, +15 Hz", answerTone(2115, -12, 3.3, 450, 0, -200), true, false, 6, 7, 80, true},
		{"ANS with reversals, -21 Hz, noisy", answerTone(2079, -20, 3.3, 450, 0, -45), true, false, 6, 7, 80, true},
		{"ANSam at -30 dBm0, odd chunks", answerTone(2100, -30, 3.3, 450, 0.2, -200), true, false, 6, 7, 37, true},
		{"plain ANS / CED", answerTone(2100, -12, 3.3, 0, 0, -200), true, false, 0, 0, 80, true},
		{"plain ANS, -15 Hz", answerTone(2085, -12, 3.3, 0, 0, -200), true, false, 0, 0, 80, true},
		{"CNG", cngBursts(4), false, true, 0, 0, 80, false},
		{"2100 Hz too short (150 ms)", answerTone(2100, -12, 0.15, 0, 0, -200), false, false, 0, 0, 80, false},
		{"2100 Hz too quiet", answerTone(2100, -45, 3, 450, 0, -200), false, false, 0, 0, 80, false},
		{"white noise", noise(3*SampleRate, 3000, 4), false, false, 0, 0, 80, false},
		{"1000 Hz", answerTone(1000, -10, 3, 0, 0, -200), false, false, 0, 0, 80, false},
		{"DTMF", dtmf(), false, false, 0, 0, 80, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d AnswerToneDetector
			sawANS := false
			for i := 0; i < len(tc.in); i += tc.chunk {
				d.Process(tc.in[i:min(i+tc.chunk, len(tc.in))])
				sawANS = sawANS || d.ANS()
			}
			if sawANS != tc.ans || d.HeardANS() != tc.ans {
				t.Errorf("ANS seen %v (HeardANS %v), want %v", sawANS, d.HeardANS(), tc.ans)
			}
			if d.CNG() != tc.cng {
				t.Errorf("CNG %v, want %v", d.CNG(), tc.cng)
			}
			if r := d.Reversals(); r < tc.minRev || r > tc.maxRev {
				t.Errorf("%d reversals, want %d..%d", r, tc.minRev, tc.maxRev)
			}
			if d.Holding() != tc.holdingAfter {
				t.Errorf("Holding %v at the end of the tone, want %v", d.Holding(), tc.holdingAfter)
			}
			// 250 ms of silence release the hold.
			d.Process(make([]int16, 2000))
			if d.Holding() || d.ANS() {
				t.Errorf("after 250 ms of silence: Holding %v, ANS %v", d.Holding(), d.ANS())
			}
		})
	}
}

func TestAnswerToneDetectorNoAllocs(t *testing.T) {
	var d AnswerToneDetector
	x := answerTone(2100, -12, 0.01, 0, 0, -200)
	if a := testing.AllocsPerRun(100, func() { d.Process(x) }); a != 0 {
		t.Fatalf("%.1f allocations per frame", a)
	}
}

func BenchmarkAnswerToneDetectorFrame(b *testing.B) {
	var d AnswerToneDetector
	x := answerTone(2100, -12, 1, 450, 0.2, -200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Process(x[i : i+80])
		i = (i + 80) % len(x)
	}
}
