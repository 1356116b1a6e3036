package dsp

import (
	"fmt"
	"testing"
	"time"
)

func casCount(x []int16) int {
	d := NewCASDetector()
	n := 0
	for i := 0; i < len(x); i += 80 {
		n += d.Process(x[i:min(i+80, len(x))])
	}
	return n
}

func TestCAS(t *testing.T) {
	tests := []struct {
		name  string
		ms    int
		level float64
		devs  [2]float64
		snr   float64
		twist float64
		want  int
	}{
		{"80 ms -15 dBm0", 80, -15, [2]float64{}, 0, 0, 1},
		{"80 ms -32 dBm0", 80, -32, [2]float64{}, 0, 0, 1},
		{"100 ms dt-as -20", 100, -20, [2]float64{}, 0, 0, 1},
		{"50 ms", 50, -20, [2]float64{}, 0, 0, 1},
		{"30 ms rejected", 30, -20, [2]float64{}, 0, 0, 0},
		{"+1.1%", 80, -20, [2]float64{0.011, 0.011}, 0, 0, 1},
		{"-1.1%", 80, -20, [2]float64{-0.011, -0.011}, 0, 0, 1},
		{"6 dB twist", 80, -20, [2]float64{}, 0, 5.5, 1},
		{"noise 20 dB", 80, -25, [2]float64{}, 20, 0, 1},
		{"-50 dBm0 rejected", 80, -50, [2]float64{}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for lead := 0; lead < 80; lead += 7 {
				n := tc.ms * 8
				a1 := DBm0ToAmplitude(tc.level)
				a2 := DBm0ToAmplitude(tc.level - tc.twist)
				x := append(make([]int16, 400+lead), sines(n, []float64{CASLowHz * (1 + tc.devs[0]), CASHighHz * (1 + tc.devs[1])}, []float64{a1, a2})...)
				x = append(x, make([]int16, 800)...)
				if tc.snr > 0 {
					mix(x, noise(len(x), a1/1.414/pow10(tc.snr/20), uint64(lead)))
				}
				if got := casCount(mulawTrip(x)); got != tc.want {
					t.Fatalf("lead %d: %d detections, want %d", lead, got, tc.want)
				}
			}
		})
	}
	// Generated signal, twice, separated by 200 ms.
	x := append(EncodeCAS(80*time.Millisecond, -15), make([]int16, 1600)...)
	x = append(x, x...)
	if got := casCount(x); got != 2 {
		t.Errorf("EncodeCAS twice: %d detections", got)
	}
	if tones := DominantTones(EncodeCAS(500*time.Millisecond, -10), 2); fmt.Sprint(tones) != "[2130 2750]" {
		t.Errorf("EncodeCAS tones %v", tones)
	}
	// DTMF digits and single tones must not trigger it.
	if got := casCount(mulawTrip(dtmfSignal(t, allDigits, 100*time.Millisecond, 50*time.Millisecond, -5, 0))); got != 0 {
		t.Errorf("DTMF triggered CAS %d times", got)
	}
	if got := casCount(sines(8000, []float64{2130}, []float64{10000})); got != 0 {
		t.Errorf("single 2130 Hz tone triggered CAS")
	}
}

func TestCASAllocs(t *testing.T) {
	d := NewCASDetector()
	x := EncodeCAS(80*time.Millisecond, -15)[:80]
	if n := testing.AllocsPerRun(100, func() { d.Process(x) }); n != 0 {
		t.Errorf("CASDetector.Process allocates %v", n)
	}
}
