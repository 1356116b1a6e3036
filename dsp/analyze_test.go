package dsp

import (
	"math"
	"slices"
	"testing"
)

func TestLevels(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
		tol  float64
	}{
		{"0 dBm0 amplitude", DBm0ToAmplitude(0), 32767 * math.Pow(10, -3.17/20), 1e-9},
		{"3.17 dBm0 is full scale", DBm0ToAmplitude(3.17), 32767, 1e-9},
		{"-6.02 dBFS", DBFSToAmplitude(-6.0206), 16383.5, 0.1},
		{"full-scale sine", LevelDBFS(sines(8000, []float64{1000}, []float64{32767})), 0, 0.01},
		{"-20 dBFS sine", LevelDBFS(sines(8000, []float64{1000}, []float64{DBFSToAmplitude(-20)})), -20, 0.01},
		{"0 dBm0 sine", LevelDBFS(sines(8000, []float64{1000}, []float64{DBm0ToAmplitude(0)})), -3.17, 0.01},
		{"square wave", LevelDBFS([]int16{32767, -32767, 32767, -32767}), 3.0103, 0.001},
		{"silence", LevelDBFS(make([]int16, 80)), -120, 0},
		{"empty", LevelDBFS(nil), -120, 0},
		{"one LSB", LevelDBFS([]int16{1}), 20 * math.Log10(math.Sqrt2/32767), 1e-9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if math.Abs(tc.got-tc.want) > tc.tol {
				t.Errorf("got %.4f, want %.4f ± %g", tc.got, tc.want, tc.tol)
			}
		})
	}
}

func TestDominantTones(t *testing.T) {
	amp := DBFSToAmplitude(-10)
	tests := []struct {
		name string
		in   []int16
		max  int
		want []float64
	}{
		{"1000 Hz", sines(4000, []float64{1000}, []float64{amp}), 4, []float64{1000}},
		{"dial 350+440", sines(4000, []float64{350, 440}, []float64{amp, amp}), 4, []float64{350, 440}},
		{"ringback 440+480", sines(4000, []float64{440, 480}, []float64{amp, amp}), 4, []float64{440, 480}},
		{"ringback via mulaw", mulawTrip(sines(4000, []float64{440, 480}, []float64{DBm0ToAmplitude(-19), DBm0ToAmplitude(-19)})), 4, []float64{440, 480}},
		{"busy via alaw", alawTrip(sines(4000, []float64{480, 620}, []float64{DBm0ToAmplitude(-24), DBm0ToAmplitude(-24)})), 4, []float64{480, 620}},
		{"fraction rounds", sines(4000, []float64{1633.4}, []float64{amp}), 4, []float64{1633}},
		{"max keeps strongest", sines(4000, []float64{500, 1000, 2000}, []float64{amp, amp / 2, amp / 4}), 2, []float64{500, 1000}},
		{"weak third dropped (>20 dB)", sines(4000, []float64{500, 1000, 2000}, []float64{amp, amp, amp / 20}), 4, []float64{500, 1000}},
		{"edges", sines(4000, []float64{120, 3780}, []float64{amp, amp}), 4, []float64{120, 3780}},
		{"below band", sines(4000, []float64{60}, []float64{amp}), 4, nil},
		{"above band", sines(4000, []float64{3900}, []float64{amp}), 4, nil},
		{"quiet -50 dBFS", sines(4000, []float64{700}, []float64{DBFSToAmplitude(-50)}), 4, []float64{700}},
		{"too quiet -60 dBFS", sines(4000, []float64{700}, []float64{DBFSToAmplitude(-60)}), 4, nil},
		{"silence", make([]int16, 4000), 4, nil},
		{"max 0", sines(4000, []float64{1000}, []float64{amp}), 0, nil},
		{"too short", sines(10, []float64{1000}, []float64{amp}), 4, nil},
		{"short 80 samples", sines(800, []float64{1000}, []float64{amp}), 4, []float64{1000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DominantTones(tc.in, tc.max)
			if !slices.Equal(got, tc.want) {
				t.Errorf("DominantTones = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDominantTonesAccuracy sweeps the band with non-integer frequencies and
// arbitrary phases through a µ-law round trip; each must be found within ±1 Hz.
func TestDominantTonesAccuracy(t *testing.T) {
	for f := 101.37; f < 3790; f += 47.91 {
		in := make([]int16, 4000)
		ph := f / 7
		for i := range in {
			in[i] = saturate(DBm0ToAmplitude(-20) * math.Sin(2*math.Pi*f*float64(i)/SampleRate+ph))
		}
		got := DominantTones(mulawTrip(in), 1)
		if len(got) != 1 || math.Abs(got[0]-f) > 1 {
			t.Errorf("%.2f Hz: got %v", f, got)
		}
	}
}

func BenchmarkDominantTones4000(b *testing.B) {
	in := mulawTrip(sines(4000, []float64{350, 440}, []float64{5000, 5000}))
	b.ReportAllocs()
	for b.Loop() {
		DominantTones(in, 4)
	}
}
