package dsp

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// render runs g for n samples in 80-sample frames.
func render(g interface{ Fill([]int16) }, n int) []int16 {
	out := make([]int16, n)
	for i := 0; i < n; i += 80 {
		g.Fill(out[i:min(i+80, n)])
	}
	return out
}

// segments splits x into alternating on/off run lengths in samples, starting
// with the first "on" run. A run of at least minGap zero samples is "off".
func segments(x []int16, minGap int) []int {
	var out []int
	start := 0
	for start < len(x) && x[start] == 0 {
		start++
	}
	runStart := start
	zeros := 0
	for i := start; i < len(x); i++ {
		if x[i] == 0 {
			zeros++
			continue
		}
		if zeros >= minGap {
			out = append(out, i-zeros-runStart, zeros)
			runStart = i
		}
		zeros = 0
	}
	if runStart < len(x) {
		if zeros >= minGap {
			out = append(out, len(x)-zeros-runStart, zeros)
		} else {
			out = append(out, len(x)-runStart)
		}
	}
	return out
}

func TestLookupProfile(t *testing.T) {
	for _, c := range append(Countries(), "US", " Jp ", "gb") {
		t.Run(c, func(t *testing.T) {
			p, err := LookupProfile(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, tone := range []Tone{p.Dial, p.Ringback, p.Busy, p.Reorder} {
				if tone.Freqs[0] <= 0 || tone.Name == "" {
					t.Errorf("tone %+v incomplete", tone)
				}
			}
			// Italy's dial tone is the one interrupted one (Telecom Italia:
			// 200 ms on, 200 off, 600 on, 1000 off).
			if (len(p.Dial.Cadence) != 0) != (p.Country == "it") || len(p.Busy.Cadence) == 0 || len(p.RingCadence) < 2 || p.RingHz < 15 {
				t.Errorf("profile %+v implausible", p)
			}
		})
	}
	_, err := LookupProfile("zz")
	if !errors.Is(err, ErrUnknownCountry) || err == nil || !contains(err.Error(), `"zz"`) {
		t.Errorf("LookupProfile(zz) error = %v", err)
	}
	// Profiles are fresh copies.
	a, _ := LookupProfile("us")
	a.Busy.Cadence[0] = time.Hour
	b, _ := LookupProfile("us")
	if b.Busy.Cadence[0] != 500*time.Millisecond {
		t.Error("profiles share cadence slices")
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestToneGenProfiles(t *testing.T) {
	us, _ := LookupProfile("us")
	uk, _ := LookupProfile("uk")
	de, _ := LookupProfile("de")
	jp, _ := LookupProfile("jp")
	tests := []struct {
		name    string
		tone    *Tone
		freqs   []float64 // expected in the first 500 ms
		levelDB float64   // expected RMS level of the first 375 ms, dBFS
		segs    []int     // expected on/off run lengths (samples), first ones
	}{
		{"us dial", &us.Dial, []float64{350, 440}, -13 - 3.17 + 3.01, nil},
		{"us ringback", &us.Ringback, []float64{440, 480}, -19 - 3.17 + 3.01, []int{16000, 32000, 16000, 32000}},
		{"us busy", &us.Busy, []float64{480, 620}, -24 - 3.17 + 3.01, []int{4000, 4000, 4000, 4000, 4000}},
		{"us reorder", &us.Reorder, nil, 0, []int{2000, 2000, 2000, 2000}},
		{"uk ringback", &uk.Ringback, []float64{400, 450}, -16 - 3.17 + 3.01, []int{3200, 1600, 3200, 16000, 3200, 1600}},
		{"uk reorder", &uk.Reorder, nil, 0, []int{3200, 2800, 1800, 4200, 3200}},
		{"de busy", &de.Busy, []float64{425}, -16 - 3.17, []int{3840, 3840, 3840}},
		// 100% AM at 16 Hz: carrier at -6 dB, sidebands (400±16 Hz) at
		// -12 dB, power 3/8 (-4.26 dB) of the unmodulated tone.
		{"jp ringback", &jp.Ringback, []float64{384, 400, 416}, -16 - 3.17 - 4.26, []int{8000, 16000, 8000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g ToneGen
			g.Play(tc.tone)
			if g.Playing() != tc.tone {
				t.Fatal("Playing does not report the tone")
			}
			out := render(&g, 8000*13)
			if tc.freqs != nil {
				got := DominantTones(out[:4000], 4)
				if !slices.Equal(got, tc.freqs) {
					t.Errorf("frequencies %v, want %v", got, tc.freqs)
				}
				if lv := LevelDBFS(out[:3000]); math.Abs(lv-tc.levelDB) > 0.1 {
					t.Errorf("level %.2f dBFS, want %.2f", lv, tc.levelDB)
				}
			}
			if tc.segs != nil {
				got := segments(out, 20)
				if len(got) < len(tc.segs) {
					t.Fatalf("segments %v, want prefix %v", got, tc.segs)
				}
				for i, want := range tc.segs {
					if d := got[i] - want; d > 2 || d < -2 {
						t.Errorf("segment %d: %d samples, want %d (all %v)", i, got[i], want, got[:len(tc.segs)])
					}
				}
			}
		})
	}
}

func TestToneGenStopAndZero(t *testing.T) {
	var g ToneGen
	buf := []int16{1, 2, 3}
	g.Fill(buf)
	if !slices.Equal(buf, []int16{0, 0, 0}) || g.Playing() != nil {
		t.Errorf("zero ToneGen Fill = %v", buf)
	}
	buf = []int16{1, 2, 3}
	g.Add(buf)
	if !slices.Equal(buf, []int16{1, 2, 3}) {
		t.Errorf("stopped Add changed dst: %v", buf)
	}
	tone := &Tone{Name: "t", Freqs: [2]float64{1000}, Level: -10}
	g.Play(tone)
	g.Fill(buf)
	if buf[1] == 0 {
		t.Error("playing tone is silent")
	}
	g.Stop()
	g.Fill(buf)
	if g.Playing() != nil || buf[1] != 0 {
		t.Error("Stop did not silence")
	}
	g.Play(tone)
	g.Play(nil)
	if g.Playing() != nil {
		t.Error("Play(nil) did not stop")
	}
	// NaN and infinite parameters give silence or clipping, never garbage.
	g.Play(&Tone{Freqs: [2]float64{math.NaN(), 1000}, Level: math.NaN(), ModHz: math.NaN()})
	g.Fill(buf)
	if buf[1] != 0 {
		t.Errorf("NaN level produced %v", buf)
	}
	g.PlayFreqs([]float64{math.NaN(), math.Inf(1), 1000}, math.Inf(1))
	g.Fill(buf)
	// Degenerate cadences must not hang.
	g.Play(&Tone{Freqs: [2]float64{1000}, Cadence: []time.Duration{0, 0}})
	g.Fill(make([]int16, 100))
	g.Play(&Tone{Freqs: [2]float64{1000}, Cadence: []time.Duration{time.Microsecond, -time.Second}})
	g.Fill(make([]int16, 100))
}

func TestToneGenPlayFreqs(t *testing.T) {
	tests := []struct {
		name  string
		freqs []float64
		level float64
		want  []float64
	}{
		{"one", []float64{1000}, -10, []float64{1000}},
		{"two", []float64{697, 1209}, -6, []float64{697, 1209}},
		{"four", []float64{300, 900, 1700, 3100}, -3, []float64{300, 900, 1700, 3100}},
		{"fifth ignored", []float64{300, 900, 1700, 3100, 2500}, -3, []float64{300, 900, 1700, 3100}},
		{"invalid skipped", []float64{-5, 0, 5000, 1500}, -10, []float64{1500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g ToneGen
			in := slices.Clone(tc.freqs)
			g.PlayFreqs(in, tc.level)
			in[len(in)-1] = 1234 // the generator must have copied
			out := render(&g, 4000)
			if got := DominantTones(out, 8); !slices.Equal(got, tc.want) {
				t.Errorf("frequencies %v, want %v", got, tc.want)
			}
			n := float64(len(tc.want))
			// n equal sines of amplitude A/n: RMS level = level − 20log10(n) + 10log10(n).
			want := tc.level - 10*math.Log10(n)
			if lv := LevelDBFS(out); math.Abs(lv-want) > 0.1 {
				t.Errorf("level %.2f dBFS, want %.2f", lv, want)
			}
			peak := 0
			for _, v := range out {
				peak = max(peak, int(math.Abs(float64(v))))
			}
			if float64(peak) > DBFSToAmplitude(tc.level)+1 {
				t.Errorf("peak %d above level amplitude %.0f", peak, DBFSToAmplitude(tc.level))
			}
			if p := g.Playing(); p == nil || p.Name != "freqs" || p.Freqs[0] != tc.want[0] {
				t.Errorf("Playing = %+v", p)
			}
		})
	}
	var g ToneGen
	g.PlayFreqs(nil, 0)
	if g.Playing() != nil {
		t.Error("PlayFreqs(nil) plays")
	}
}

func TestToneGenAddSaturates(t *testing.T) {
	var g ToneGen
	g.PlayFreqs([]float64{1000}, 0)
	buf := make([]int16, 160)
	for i := range buf {
		buf[i] = 30000
	}
	g.Add(buf)
	sawMax := false
	for i, v := range buf {
		if v < 30000-32767-1 {
			t.Fatalf("sample %d = %d wrapped", i, v)
		}
		sawMax = sawMax || v == 32767
	}
	if !sawMax {
		t.Error("never saturated")
	}
	// Add of a phase-continuous generator equals Fill plus the input.
	var a, b ToneGen
	a.PlayFreqs([]float64{700}, -20)
	b.PlayFreqs([]float64{700}, -20)
	x := make([]int16, 80)
	y := make([]int16, 80)
	for i := range y {
		y[i] = 100
	}
	a.Fill(x)
	b.Add(y)
	for i := range x {
		if y[i]-x[i] != 100 {
			t.Fatalf("Add[%d] = %d, Fill = %d", i, y[i], x[i])
		}
	}
}

func TestToneGenAllocs(t *testing.T) {
	us, _ := LookupProfile("us")
	var g ToneGen
	buf := make([]int16, 80)
	freqs := []float64{1000, 2000}
	for name, f := range map[string]func(){
		"Play":      func() { g.Play(&us.Busy) },
		"PlayFreqs": func() { g.PlayFreqs(freqs, -10) },
		"Fill":      func() { g.Fill(buf) },
		"Add":       func() { g.Add(buf) },
	} {
		g.Play(&us.Busy)
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func BenchmarkToneGenFill80(b *testing.B) {
	us, _ := LookupProfile("us")
	var g ToneGen
	g.Play(&us.Ringback)
	buf := make([]int16, 80)
	b.ReportAllocs()
	for b.Loop() {
		g.Fill(buf)
	}
}

// TestToneGenPhasor: the phasor's samples are what math.Sin of each
// sample's phase gives over a minute of a three-tone signal, in frames and
// in odd chunks: never more than one step apart, and that in at most one
// sample in 100 000 (none, as it stands).
func TestToneGenPhasor(t *testing.T) {
	freqs := []float64{350, 440, 1633}
	const level = -6.0
	var g ToneGen
	g.PlayFreqs(freqs, level)
	var ref ToneGen
	ref.PlayFreqs(freqs, level)
	n := 60 * SampleRate
	got := fillInChunks(n, g.Fill)
	var bad int
	for i := range n {
		var v float64
		for k := range ref.n {
			v += ref.amp[k] * math.Sin(2*math.Pi*ref.phase[k])
			ref.phase[k] += ref.step[k]
			if ref.phase[k] >= 1 {
				ref.phase[k]--
			}
		}
		if want := saturate(v); got[i] != want {
			bad++
			if d := int(got[i]) - int(want); d < -1 || d > 1 {
				t.Fatalf("sample %d: %d, want %d", i, got[i], want)
			}
		}
	}
	if bad > n/100000 {
		t.Fatalf("%d of %d samples differ by one", bad, n)
	}
	t.Logf("%d of %d samples differ by one from math.Sin's", bad, n)
}

// TestToneGenSteady: renderSteady, the path of a steady tone of one or two
// components, gives the general path's samples and phases bit for bit,
// filled and added, in chunks of any size.
func TestToneGenSteady(t *testing.T) {
	for _, freqs := range [][]float64{{1000}, {350, 440}, {697, 1633}} {
		var fast, slow ToneGen
		fast.PlayFreqs(freqs, -9)
		slow.PlayFreqs(freqs, -9)
		slow.general = true
		for i := range 400 {
			n := 1 + i%97
			a, b := make([]int16, n), make([]int16, n)
			for j := range a {
				a[j] = int16(j * 37)
				b[j] = a[j]
			}
			if i%2 == 0 {
				fast.Fill(a)
				slow.Fill(b)
			} else {
				fast.Add(a)
				slow.Add(b)
			}
			if !slices.Equal(a, b) || fast.phase != slow.phase {
				t.Fatalf("%v Hz, chunk %d: samples or phases differ (%v, want %v)", freqs, i, fast.phase, slow.phase)
			}
		}
	}
}

// BenchmarkToneGenSteady80: a frame of a steady 1000 Hz tone (a phone's
// test tone), through renderSteady and through the general path.
func BenchmarkToneGenSteady80(b *testing.B) {
	for _, general := range []bool{false, true} {
		name := "steady"
		if general {
			name = "general"
		}
		b.Run(name, func(b *testing.B) {
			var g ToneGen
			g.PlayFreqs([]float64{1000}, -9)
			g.general = general
			buf := make([]int16, 80)
			for b.Loop() {
				g.Fill(buf)
			}
		})
	}
}
