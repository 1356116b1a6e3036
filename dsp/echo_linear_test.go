package dsp

import (
	"math"
	"testing"
)

// TestEchoCancellerLinear: a far-end tone's echo, louder than a cadenced
// near-end tone (an office's busy tone under the far end's voice), after a
// stretch where a steady near-end tone hid the echo. ProcessLinear's rx is
// exactly what Process gives; its linear residual keeps the near-end tone
// within 1.5 dB and, in the tone's gaps, takes the echo well down.
func TestEchoCancellerLinear(t *testing.T) {
	p := echoPath{bulkMs: 1, dispMs: 4, tauMs: 1, erl: 6, seed: 3}
	tests := []struct {
		name     string
		farHz    float64
		nearHz   []float64
		nearDBFS float64
		steadyHz float64 // a steady near-end tone from the start to frame 300 (0: none)
	}{
		{"busy under 700 Hz", 700, []float64{480, 620}, -24, 1000},
		{"busy under 700 Hz, no tone before", 700, []float64{480, 620}, -24, 0},
		{"425 Hz busy under 1 kHz", 1000, []float64{425}, -26, 1400},
	}
	const frames = 600 // 6 s: 1 s quiet far end, 2 s far end, 3 s cadence
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var far, steady, near ToneGen
			tx := make([]int16, frames*80)
			nearSig := make([]int16, frames*80)
			for f := range frames {
				x, d := tx[f*80:(f+1)*80], nearSig[f*80:(f+1)*80]
				if f == 100 {
					far.PlayFreqs([]float64{tc.farHz}, -12)
				}
				if f == 0 && tc.steadyHz > 0 {
					steady.PlayFreqs([]float64{tc.steadyHz}, -12)
				}
				if f == 300 {
					steady.Stop()
					near.PlayFreqs(tc.nearHz, tc.nearDBFS)
				}
				far.Fill(x)
				steady.Fill(d)
				if f >= 300 {
					near.Fill(d)
					if (f/50)%2 == 1 {
						clear(d) // 500 ms on, 500 ms off
					}
				}
			}
			echo := convolve(tx, p.ir())
			rx := make([]int16, len(tx))
			for i := range rx {
				rx[i] = sat32(float32(echo[i]) + float32(nearSig[i]))
			}
			plain, lin := NewEchoCanceller(), NewEchoCanceller()
			outPlain, outNLP, outLin := append([]int16(nil), rx...), append([]int16(nil), rx...), make([]int16, len(rx))
			for f := range frames {
				s := f * 80
				plain.Process(outPlain[s:s+80], tx[s:s+80])
				lin.ProcessLinear(outNLP[s:s+80], tx[s:s+80], outLin[s:s+80])
			}
			for i := range outPlain {
				if outPlain[i] != outNLP[i] {
					t.Fatalf("sample %d: ProcessLinear gave %d, Process %d", i, outNLP[i], outPlain[i])
				}
			}
			power := func(x []int16) float64 {
				var e float64
				for _, v := range x {
					e += float64(v) * float64(v)
				}
				return e / float64(len(x))
			}
			// The last two cadence periods, past each edge's 100 ms.
			for _, start := range []int{400, 500} {
				on := outLin[(start+10)*80 : (start+50)*80]
				want := nearSig[(start+10)*80 : (start+50)*80]
				if d := 10 * math.Log10(power(on)/power(want)); math.Abs(d) > 1.5 {
					t.Errorf("frames %d-%d: the near-end tone comes out %+.1f dB", start+10, start+50, d)
				}
				gap, echoGap := outLin[(start+60)*80:(start+100)*80], rx[(start+60)*80:(start+100)*80]
				if erle := 10 * math.Log10(power(echoGap)/max(power(gap), 1)); erle < 25 {
					t.Errorf("frames %d-%d: linear ERLE %.1f dB, want at least 25", start+60, start+100, erle)
				}
			}
		})
	}
}

func TestEchoCancellerLinearNoAllocs(t *testing.T) {
	e := NewEchoCanceller()
	rx, tx, lin := make([]int16, 80), make([]int16, 80), make([]int16, 80)
	if a := testing.AllocsPerRun(100, func() { e.ProcessLinear(rx, tx, lin) }); a != 0 {
		t.Fatalf("%.1f allocations per frame", a)
	}
}

// TestEchoCancellerDoubleTalkFromStart: the near end talks (a steady tone)
// from the first sample with the far end, so the canceller cannot learn
// the path then; once the near end pauses, the echo is cancelled within
// a few hundred milliseconds, and the near end's next tone comes out of
// the linear filter unharmed. (A background that diverged in the double
// talk must restart cleanly, not diverge again from its own error.)
func TestEchoCancellerDoubleTalkFromStart(t *testing.T) {
	for _, tc := range []struct {
		name          string
		farHz, nearHz float64
		echoPath      echoPath
	}{
		{"1 kHz far, 600 Hz near", 1000, 600, echoPath{bulkMs: 1, dispMs: 4, tauMs: 1, erl: 6, seed: 3}},
		{"700 Hz far, 1400 Hz near", 700, 1400, echoPath{bulkMs: 5, dispMs: 8, tauMs: 2, erl: 10, seed: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const frames = 500 // 2 s double talk, 0.5 s far end alone, a near-end tone for 0.5 s, 2 s far end alone
			var far, near ToneGen
			far.PlayFreqs([]float64{tc.farHz}, -12)
			near.PlayFreqs([]float64{tc.nearHz}, -12)
			tx, nearSig := make([]int16, frames*80), make([]int16, frames*80)
			for f := range frames {
				far.Fill(tx[f*80 : (f+1)*80])
				if f < 200 || (f >= 250 && f < 300) {
					near.Fill(nearSig[f*80 : (f+1)*80])
				}
			}
			echo := convolve(tx, tc.echoPath.ir())
			rx := make([]int16, len(tx))
			for i := range rx {
				rx[i] = sat32(float32(echo[i]) + float32(nearSig[i]))
			}
			e := NewEchoCanceller()
			out, lin := append([]int16(nil), rx...), make([]int16, len(rx))
			for f := range frames {
				s := f * 80
				e.ProcessLinear(out[s:s+80], tx[s:s+80], lin[s:s+80])
			}
			power := func(x []int16) float64 {
				var p float64
				for _, v := range x {
					p += float64(v) * float64(v)
				}
				return p / float64(len(x))
			}
			seg := func(x []int16, from, to int) []int16 { return x[from*80 : to*80] }
			if erle := 10 * math.Log10(power(seg(rx, 230, 250))/max(power(seg(lin, 230, 250)), 1)); erle < 30 {
				t.Errorf("far end alone after the double talk: linear ERLE %.1f dB, want at least 30", erle)
			}
			if d := 10 * math.Log10(power(seg(lin, 260, 300))/power(seg(nearSig, 260, 300))); math.Abs(d) > 1 {
				t.Errorf("the near end's second tone comes out %+.1f dB", d)
			}
			if erle := 10 * math.Log10(power(seg(rx, 400, 500))/max(power(seg(lin, 400, 500)), 1)); erle < 30 {
				t.Errorf("far end alone at the end: linear ERLE %.1f dB, want at least 30", erle)
			}
		})
	}
}
