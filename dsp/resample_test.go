package dsp

import (
	"fmt"
	"math"
	"testing"
)

// hbFull returns the half-band filter's 55 taps.
func hbFull() []float64 {
	h := make([]float64, hbTaps)
	for j, c := range hbCoef {
		h[2*j] = float64(c)
	}
	h[hbTaps/2] = 0.5
	return h
}

// hbResponse returns |H(f)| of the half-band filter at 16 kHz (DC gain 1).
func hbResponse(f float64) float64 {
	var re, im float64
	for k, v := range hbFull() {
		w := 2 * math.Pi * f / 16000 * float64(k)
		re += v * math.Cos(w)
		im -= v * math.Sin(w)
	}
	return math.Hypot(re, im)
}

func TestHalfBandDesign(t *testing.T) {
	h := hbFull()
	for k := range h {
		if h[k] != h[len(h)-1-k] {
			t.Fatalf("tap %d: %g ≠ tap %d: %g (not linear phase)", k, h[k], len(h)-1-k, h[len(h)-1-k])
		}
	}
	var worstPass, worstStop float64
	for f := 0.0; f <= 3400; f += 10 {
		worstPass = math.Max(worstPass, math.Abs(20*math.Log10(hbResponse(f))))
	}
	worstStop = -200
	for f := 4600.0; f <= 8000; f += 10 {
		worstStop = math.Max(worstStop, 20*math.Log10(hbResponse(f)))
	}
	t.Logf("%d taps: passband 0-3.4 kHz ripple ±%.4f dB; stopband 4.6-8 kHz ≤ %.1f dB; at 4 kHz %.2f dB", hbTaps,
		worstPass, worstStop, 20*math.Log10(hbResponse(4000)))
	if worstPass > 0.01 {
		t.Errorf("passband ripple %.4f dB, want ≤ 0.01", worstPass)
	}
	if worstStop > -65 {
		t.Errorf("stopband %.1f dB, want ≤ −65", worstStop)
	}
}

// toneAt returns the amplitude of the frequency f (Hz, at sample rate sr)
// in x, by correlation over whole x.
func toneAt(x []int16, f, sr float64) float64 {
	var i, q float64
	for n, v := range x {
		s, c := math.Sincos(2 * math.Pi * f * float64(n) / sr)
		i += float64(v) * c
		q += float64(v) * s
	}
	return 2 * math.Hypot(i, q) / float64(len(x))
}

func sine(n int, f, sr, amp, delay float64) []int16 {
	x := make([]int16, n)
	for i := range x {
		x[i] = saturate(amp * math.Sin(2*math.Pi*f*(float64(i)-delay)/sr))
	}
	return x
}

// TestUpsampler2 checks the passband gain, the image rejection and the
// group delay of the 8 → 16 kHz converter on sines.
func TestUpsampler2(t *testing.T) {
	const amp = 10000
	for _, f := range []float64{100, 300, 1000, 2000, 3000, 3400} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			var u Upsampler2
			x := sine(8000, f, 8000, amp, 0)
			y := make([]int16, 16000)
			if n := u.Process(y, x); n != 16000 {
				t.Fatalf("wrote %d samples, want 16000", n)
			}
			y = y[1600:] // past the start-up transient; 14400 samples, whole cycles of f
			g := 20 * math.Log10(toneAt(y, f, 16000)/amp)
			img := 20 * math.Log10(toneAt(y, 8000-f, 16000)/amp)
			if math.Abs(g) > 0.02 {
				t.Errorf("gain at %v Hz %.3f dB, want 0 ± 0.02", f, g)
			}
			if img > -65 {
				t.Errorf("image at %v Hz %.1f dB, want ≤ −65", 8000-f, img)
			}
			// Group delay: the output is the 16 kHz sine delayed by
			// ResampleDelay16 samples.
			want := sine(16000, f, 16000, amp, ResampleDelay16)[1600:]
			if snr := snrDB(want, y); snr < 55 {
				t.Errorf("output vs ideal sine delayed %d samples: SNR %.1f dB, want ≥ 55", ResampleDelay16, snr)
			}
		})
	}
}

// TestDownsampler2 checks the passband gain, the alias rejection and the
// group delay of the 16 → 8 kHz converter.
func TestDownsampler2(t *testing.T) {
	const amp = 10000
	for _, f := range []float64{100, 1000, 3000, 3400} {
		var d Downsampler2
		x := sine(16000, f, 16000, amp, 0)
		y := make([]int16, 8000)
		if n := d.Process(y, x); n != 8000 {
			t.Fatalf("wrote %d samples, want 8000", n)
		}
		g := 20 * math.Log10(toneAt(y[800:], f, 8000)/amp)
		if math.Abs(g) > 0.02 {
			t.Errorf("gain at %v Hz %.3f dB, want 0 ± 0.02", f, g)
		}
		// y[n] is the filter output at input sample 2n.
		want := sine(16000, f, 16000, amp, ResampleDelay16)
		ref := make([]int16, 8000)
		for n := range ref {
			ref[n] = want[2*n]
		}
		if snr := snrDB(ref[800:], y[800:]); snr < 55 {
			t.Errorf("%v Hz: output vs ideal sine delayed %d samples (16 kHz): SNR %.1f dB, want ≥ 55", f, ResampleDelay16, snr)
		}
	}
	for _, f := range []float64{4600, 5000, 6000, 7000, 7900} {
		var d Downsampler2
		x := sine(16000, f, 16000, amp, 0)
		y := make([]int16, 8000)
		d.Process(y, x)
		if a := 20 * math.Log10(toneAt(y[800:], 8000-f, 8000)/amp+1e-9); a > -60 {
			t.Errorf("%v Hz aliases to %v Hz at %.1f dB, want ≤ −65", f, 8000-f, a)
		}
	}
}

// TestResampleRoundTrip: 8 → 16 → 8 kHz returns speech-band input delayed
// by ResampleRoundTrip samples, and chunking does not matter.
func TestResampleRoundTrip(t *testing.T) {
	x := make([]int16, 8000)
	for _, f := range []float64{250, 700, 1300, 2100, 3300} {
		mix(x, sine(8000, f, 8000, 3000, 0))
	}
	var u Upsampler2
	var d Downsampler2
	mid := make([]int16, 16000)
	u.Process(mid, x)
	y := make([]int16, 8000)
	d.Process(y, mid)
	ref := make([]int16, 8000)
	copy(ref[ResampleRoundTrip:], x)
	if snr := snrDB(ref[400:], y[400:]); snr < 50 {
		t.Errorf("round trip vs input delayed %d samples: SNR %.1f dB, want ≥ 50", ResampleRoundTrip, snr)
	}

	// Odd and uneven chunks give the same output as one call.
	u.Reset()
	d.Reset()
	var y2 []int16
	buf16 := make([]int16, 400)
	buf8 := make([]int16, 400)
	for i, step := 0, 1; i < len(x); i, step = i+step, step%37+3 {
		s := x[i:min(i+step, len(x))]
		n := u.Process(buf16, s)
		// Feed the 16 kHz samples in two odd-sized pieces.
		h := n/2 | 1
		h = min(h, n)
		m := d.Process(buf8, buf16[:h])
		y2 = append(y2, buf8[:m]...)
		m = d.Process(buf8, buf16[h:n])
		y2 = append(y2, buf8[:m]...)
	}
	if len(y2) != len(y) {
		t.Fatalf("chunked round trip gave %d samples, want %d", len(y2), len(y))
	}
	for i := range y {
		if y[i] != y2[i] {
			t.Fatalf("chunked round trip differs at %d: %d vs %d", i, y2[i], y[i])
		}
	}
}

func TestResampleNoAllocs(t *testing.T) {
	var u Upsampler2
	var d Downsampler2
	x := noise(80, 3000, 1)
	mid := make([]int16, 160)
	y := make([]int16, 80)
	if a := testing.AllocsPerRun(100, func() {
		u.Process(mid, x)
		d.Process(y, mid)
	}); a != 0 {
		t.Fatalf("resamplers allocate %.1f times per frame", a)
	}
}

// snrDB returns the power of ref over the power of (got − ref), in dB.
func snrDB(ref, got []int16) float64 {
	var ps, pe float64
	for i := range ref {
		d := float64(got[i]) - float64(ref[i])
		ps += float64(ref[i]) * float64(ref[i])
		pe += d * d
	}
	return 10 * math.Log10(ps/math.Max(pe, 1e-9))
}

func BenchmarkUpsampler2Frame(b *testing.B) {
	x := noise(80, 3000, 1)
	y := make([]int16, 160)
	var u Upsampler2
	b.ReportAllocs()
	for b.Loop() {
		u.Process(y, x)
	}
}

func BenchmarkDownsampler2Frame(b *testing.B) {
	x := noise(160, 3000, 1)
	y := make([]int16, 80)
	var d Downsampler2
	b.ReportAllocs()
	for b.Loop() {
		d.Process(y, x)
	}
}
