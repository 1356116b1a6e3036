package dsp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/dsp/internal/oracle"
)

// lossPattern returns n frame-loss flags, each frame lost with probability
// rate (independent losses, seeded).
func lossPattern(n int, rate float64, seed uint64) []bool {
	r := rand.New(rand.NewPCG(seed, 21))
	lost := make([]bool, n)
	for i := range lost {
		lost[i] = r.Float64() < rate
	}
	return lost
}

// conceal runs our PLC over x in frames of flen with the given losses.
func conceal(x []int16, flen int, lost []bool) []int16 {
	out := make([]int16, len(lost)*flen)
	copy(out, x)
	var p PLC
	for f, l := range lost {
		fr := out[f*flen : (f+1)*flen]
		if l {
			p.Conceal(fr)
		} else {
			p.Good(fr)
		}
	}
	return out
}

// silenceSub replaces lost frames with silence.
func silenceSub(x []int16, flen int, lost []bool) []int16 {
	out := make([]int16, len(lost)*flen)
	copy(out, x)
	for f, l := range lost {
		if l {
			clear(out[f*flen : (f+1)*flen])
		}
	}
	return out
}

func errEnergy(a, b []int16) float64 {
	var e float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		e += d * d
	}
	return e
}

func TestPLCZeroValueSilence(t *testing.T) {
	var p PLC
	fr := []int16{1, 2, 3, 4}
	p.Conceal(fr)
	for _, v := range fr {
		if v != 0 {
			t.Fatalf("conceal without history = %v, want silence", fr)
		}
	}
	if p.Lost() != 4 {
		t.Fatalf("Lost = %d, want 4", p.Lost())
	}
	g := []int16{100, 100, 100, 100}
	p.Good(g)
	if p.Lost() != 0 {
		t.Fatalf("Lost after Good = %d", p.Lost())
	}
}

// A steady voiced-like tone must be continued closely for the first 10 ms
// and be silent after 60 ms of loss.
func TestPLCContinuesPeriodicSignal(t *testing.T) {
	for _, f0 := range []float64{100, 133.3, 200} {
		for _, flen := range []int{1, 7, 80, 160, 480} {
			t.Run(fmt.Sprintf("%gHz/frame%d", f0, flen), func(t *testing.T) {
				// Fundamental plus two harmonics, period an integer-ish number of samples.
				x := sines(8000+800, []float64{f0, 2 * f0, 3 * f0}, []float64{6000, 3000, 1500})
				var p PLC
				n := 8000 / flen * flen
				for i := 0; i < n; i += flen {
					fr := append([]int16(nil), x[i:i+flen]...)
					p.Good(fr)
				}
				out := make([]int16, 800)
				for i := 0; i < len(out); i += flen {
					p.Conceal(out[i:min(i+flen, len(out))])
				}
				want := x[n : n+80]
				snr := 10 * math.Log10(energy(want)/max(errEnergy(out[:80], want), 1e-9))
				if snr < 15 {
					t.Errorf("first 10 ms of concealment: SNR %.1f dB, want ≥ 15", snr)
				}
				if e := energy(out[480:]); e != 0 {
					t.Errorf("after 60 ms of loss the output is not silent (energy %g)", e)
				}
				if energy(out[320:400]) >= energy(out[80:160]) {
					t.Errorf("no attenuation during the loss")
				}
			})
		}
	}
}

func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// After a loss the next good frame is blended, and frames after it pass
// unchanged.
func TestPLCRecoveryBlendsThenPassesThrough(t *testing.T) {
	x := sines(2000, []float64{150}, []float64{8000})
	var p PLC
	p.Good(append([]int16(nil), x[:800]...))
	lost := make([]int16, 160)
	p.Conceal(lost)
	g1 := append([]int16(nil), x[960:1120]...)
	p.Good(g1)
	changed := 0
	for i := range g1 {
		if g1[i] != x[960+i] {
			changed = i + 1
		}
	}
	if changed == 0 || changed > plcMaxOLA {
		t.Errorf("recovery blend changed samples up to %d, want 1..%d", changed, plcMaxOLA)
	}
	g2 := append([]int16(nil), x[1120:1280]...)
	p.Good(g2)
	for i := range g2 {
		if g2[i] != x[1120+i] {
			t.Fatalf("second good frame changed at %d", i)
		}
	}
}

func TestPLCNoAllocs(t *testing.T) {
	x := noise(160, 3000, 3)
	var p PLC
	fr := make([]int16, 160)
	i := 0
	if a := testing.AllocsPerRun(200, func() {
		copy(fr, x)
		if i%3 == 2 {
			p.Conceal(fr)
		} else {
			p.Good(fr)
		}
		i++
	}); a != 0 {
		t.Fatalf("PLC allocates %.1f times per frame", a)
	}
}

func BenchmarkPLCConcealFrame(b *testing.B) {
	x := noise(8000, 3000, 4)
	var p PLC
	fr := make([]int16, 80)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%5 == 4 {
			p.Conceal(fr)
		} else {
			copy(fr, x[(i*80)%7920:])
			p.Good(fr)
		}
		i++
	}
}

// TestPLCSpeech compares the error energy of our concealment, of spandsp's
// plc and of silence substitution on espeak-ng speech (through µ-law), with
// 5 % and 20 % random frame loss, 10 and 20 ms frames. The error is summed
// over the whole signal (lost frames and the blended frames after them) and
// reported in dB relative to silence substitution's. Ours must beat silence
// by 0.3 dB and be within 0.25 dB of spandsp (it is better in every case).
func TestPLCSpeech(t *testing.T) {
	espeak := requirePeer(t, "espeak-ng")
	o := oracle.New(t)
	voices := []int{0, 3, 7, 10, 13, 19}
	if testing.Short() {
		voices = voices[:3]
	}
	var x []int16
	for _, v := range voices {
		vc := talkoffVoices[v]
		x = append(x, mulawTrip(speech(t, espeak, vc.voice, talkoffTexts[vc.text], vc.speed, vc.pitch))...)
	}
	var report strings.Builder
	fmt.Fprintf(&report, "\n%.0f s of speech; error energy relative to silence substitution (lower is better)\n", float64(len(x))/SampleRate)
	fmt.Fprintf(&report, "%-6s %-6s %10s %10s\n", "loss", "frame", "ours", "spandsp")
	for _, rate := range []float64{0.05, 0.20} {
		for _, flen := range []int{80, 160} {
			lost := lossPattern(len(x)/flen, rate, uint64(100*rate)+uint64(flen))
			sil := errEnergy(silenceSub(x, flen, lost), x[:len(lost)*flen])
			ours := errEnergy(conceal(x, flen, lost), x[:len(lost)*flen])
			spOut, err := o.PLC(x, flen, lost)
			if err != nil {
				t.Fatal(err)
			}
			sp := errEnergy(spOut, x[:len(lost)*flen])
			oursDB, spDB := 10*math.Log10(ours/sil), 10*math.Log10(sp/sil)
			fmt.Fprintf(&report, "%4.0f %% %3d ms %8.2f dB %7.2f dB\n", 100*rate, flen/8, oursDB, spDB)
			if oursDB > -0.3 || oursDB > spDB+0.25 {
				t.Errorf("loss %.0f %%, %d ms frames: our concealment's error is %.2f dB relative to silence, want ≤ −0.3 dB and at most 0.25 dB above spandsp's (%.2f dB)", 100*rate, flen/8, oursDB, spDB)
			}
		}
	}
	t.Log(report.String())
}
