package dsp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

const allDigits = "123A456B789C*0#D"

// detect runs a fresh detector over x in 80-sample frames.
func detect(x []int16) string {
	d := NewDTMFDetector()
	var out []byte
	for i := 0; i < len(x); i += 80 {
		out = d.Process(x[i:min(i+80, len(x))], out)
	}
	return string(out)
}

// dtmfSignal generates digits with the generator, preceded by lead samples of
// silence and followed by 100 ms of silence.
func dtmfSignal(t *testing.T, digits string, on, off time.Duration, level float64, lead int) []int16 {
	t.Helper()
	var g DTMFGen
	if err := g.Queue(digits, on, off, level); err != nil {
		t.Fatal(err)
	}
	n := lead + len(digits)*(durationSamples(on)+durationSamples(off)) + 800
	out := make([]int16, n)
	g.Fill(out[lead:])
	if g.Busy() {
		t.Fatal("generator still busy")
	}
	return out
}

func TestDTMFFreqs(t *testing.T) {
	tests := []struct {
		d      byte
		lo, hi float64
		ok     bool
	}{
		{'1', 697, 1209, true}, {'5', 770, 1336, true}, {'9', 852, 1477, true},
		{'0', 941, 1336, true}, {'*', 941, 1209, true}, {'#', 941, 1477, true},
		{'A', 697, 1633, true}, {'d', 941, 1633, true}, {'E', 0, 0, false}, {' ', 0, 0, false},
	}
	for _, tc := range tests {
		lo, hi, ok := DTMFFreqs(tc.d)
		if lo != tc.lo || hi != tc.hi || ok != tc.ok {
			t.Errorf("DTMFFreqs(%q) = %v %v %v", tc.d, lo, hi, ok)
		}
	}
}

func TestDTMFGenSignal(t *testing.T) {
	x := dtmfSignal(t, "5", 100*time.Millisecond, 50*time.Millisecond, -10, 0)
	if got := DominantTones(x[:800], 4); len(got) != 2 || got[0] != 770 || got[1] != 1336 {
		t.Errorf("digit 5 tones %v", got)
	}
	segs := segments(x, 20)
	if len(segs) < 2 || segs[0] < 799 || segs[0] > 800 || segs[1] < 1200 {
		t.Errorf("on/off runs %v", segs)
	}
	// High group at -10 dBm0, low group 2 dB lower.
	lo := sines(800, []float64{770}, []float64{DBm0ToAmplitude(-12)})
	hi := sines(800, []float64{1336}, []float64{DBm0ToAmplitude(-10)})
	want := LevelDBFS(mix(lo, hi))
	if got := LevelDBFS(x[:800]); math.Abs(got-want) > 0.05 {
		t.Errorf("level %.2f, want %.2f", got, want)
	}
}

func TestDTMFGenQueue(t *testing.T) {
	var g DTMFGen
	if g.Busy() {
		t.Error("zero DTMFGen busy")
	}
	buf := []int16{5, 5}
	g.Fill(buf)
	if buf[0] != 0 || buf[1] != 0 {
		t.Error("idle Fill not silent")
	}
	tests := []struct {
		name    string
		digits  string
		on, off time.Duration
		err     error
	}{
		{"bad digit", "12x", 50 * time.Millisecond, 50 * time.Millisecond, ErrInvalidDigit},
		{"zero on", "1", 0, 50 * time.Millisecond, ErrDuration},
		{"negative off", "1", 50 * time.Millisecond, -1, ErrDuration},
		{"too long", "1", 2 * time.Hour, 0, ErrDuration},
		{"fill queue", string(make([]byte, 0)) + repeat("1", DTMFQueueLen), 50 * time.Millisecond, 0, nil},
		{"full", "2", 50 * time.Millisecond, 0, ErrQueueFull},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := g.Queue(tc.digits, tc.on, tc.off, -10)
			if !errors.Is(err, tc.err) {
				t.Errorf("Queue error %v, want %v", err, tc.err)
			}
		})
	}
	for _, lv := range []float64{math.NaN(), math.Inf(-1), 10} {
		if err := g.Queue("1", time.Second, 0, lv); !errors.Is(err, ErrLevel) {
			t.Errorf("level %v: error %v", lv, err)
		}
	}
	if !g.Busy() {
		t.Error("not busy with a full queue")
	}
	// Playing one digit makes room for exactly one more.
	g.Fill(make([]int16, 400))
	if err := g.Queue("1", 50*time.Millisecond, 0, -10); err != nil {
		t.Errorf("after draining one: %v", err)
	}
	if err := g.Queue("1", 50*time.Millisecond, 0, -10); !errors.Is(err, ErrQueueFull) {
		t.Errorf("over capacity: %v", err)
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestDTMFGenDetect(t *testing.T) {
	type chain struct {
		name string
		f    func([]int16) []int16
	}
	chains := []chain{
		{"linear", func(x []int16) []int16 { return x }},
		{"mulaw", mulawTrip},
		{"alaw", alawTrip},
	}
	for _, level := range []float64{0, -10, -20, -25} {
		for _, c := range chains {
			for _, lead := range []int{0, 37, 101} {
				t.Run(c.name, func(t *testing.T) {
					x := c.f(dtmfSignal(t, allDigits, 50*time.Millisecond, 50*time.Millisecond, level, lead))
					if got := detect(x); got != allDigits {
						t.Errorf("level %v lead %d: detected %q", level, lead, got)
					}
				})
			}
		}
	}
}

func TestDTMFDetectTiming(t *testing.T) {
	tests := []struct {
		name    string
		digits  string
		on, off time.Duration
		want    string
	}{
		{"40 ms on 40 ms off", allDigits, 40 * time.Millisecond, 40 * time.Millisecond, allDigits},
		{"repeated digit", "1111", 50 * time.Millisecond, 50 * time.Millisecond, "1111"},
		{"long press once", "7", 2 * time.Second, 0, "7"},
		{"20 ms burst rejected", "5", 20 * time.Millisecond, 100 * time.Millisecond, ""},
		{"20 ms bursts rejected", allDigits, 20 * time.Millisecond, 60 * time.Millisecond, ""},
	}
	for _, tc := range tests {
		for lead := 0; lead < dtmfBlock; lead += 17 {
			t.Run(tc.name, func(t *testing.T) {
				x := mulawTrip(dtmfSignal(t, tc.digits, tc.on, tc.off, -10, lead))
				if got := detect(x); got != tc.want {
					t.Errorf("lead %d: detected %q, want %q", lead, got, tc.want)
				}
			})
		}
	}
}

func TestDTMFDetectQuality(t *testing.T) {
	a := func(dbm0 float64) float64 { return DBm0ToAmplitude(dbm0) }
	n := 8000
	tests := []struct {
		name string
		in   []int16
		want string
	}{
		{"us dial tone", sines(n, []float64{350, 440}, []float64{a(-13), a(-13)}), ""},
		{"us ringback", sines(n, []float64{440, 480}, []float64{a(-10), a(-10)}), ""},
		{"us busy", sines(n, []float64{480, 620}, []float64{a(-10), a(-10)}), ""},
		{"1000 Hz", sines(n, []float64{1000}, []float64{a(0)}), ""},
		{"941 Hz alone", sines(n, []float64{941}, []float64{a(-10)}), ""},
		{"1336 Hz alone", sines(n, []float64{1336}, []float64{a(-10)}), ""},
		{"white noise", noise(n, a(-10), 1), ""},
		{"loud white noise", noise(n, 12000, 2), ""},
		{"two low-group tones", sines(n, []float64{697, 770, 1209}, []float64{a(-10), a(-10), a(-10)}), ""},
		{"too quiet -40 dBm0", sines(n, []float64{697, 1209}, []float64{a(-40), a(-40)}), ""},
		{"low 10 dB stronger", sines(n, []float64{697, 1209}, []float64{a(-10), a(-20)}), ""},
		{"low 7 dB stronger", sines(n, []float64{697, 1209}, []float64{a(-10), a(-17)}), "1"},
		{"high 6 dB stronger", sines(n, []float64{697, 1209}, []float64{a(-16), a(-10)}), ""},
		{"high 3 dB stronger", sines(n, []float64{697, 1209}, []float64{a(-13), a(-10)}), "1"},
		{"-25 dBm0 with 15 dB S/N noise", mix(sines(n, []float64{770, 1477}, []float64{a(-27), a(-25)}), noise(n, a(-25-15), 3)), "6"},
		{"digit over dial tone", mix(sines(n, []float64{941, 1209}, []float64{a(-12), a(-10)}), sines(n, []float64{350, 440}, []float64{a(-30), a(-30)})), "*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := detect(mulawTrip(tc.in)); got != tc.want {
				t.Errorf("detected %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDTMFDetectorReset(t *testing.T) {
	x := sines(800, []float64{697, 1209}, []float64{5000, 6000})
	d := NewDTMFDetector()
	if got := string(d.Process(x, nil)); got != "1" {
		t.Fatalf("detected %q", got)
	}
	if got := string(d.Process(x, nil)); got != "" {
		t.Fatalf("held digit reported again: %q", got)
	}
	d.Reset()
	if got := string(d.Process(x, nil)); got != "1" {
		t.Fatalf("after Reset detected %q", got)
	}
	// Odd chunk sizes give the same result as frames.
	d.Reset()
	var out []byte
	y := mulawTrip(dtmfSignal(t, allDigits, 45*time.Millisecond, 45*time.Millisecond, -20, 3))
	for i, step := 0, 1; i < len(y); i, step = i+step, step%97+1 {
		out = d.Process(y[i:min(i+step, len(y))], out)
	}
	if string(out) != allDigits {
		t.Errorf("odd chunks detected %q", out)
	}
	// The zero value works too.
	var z DTMFDetector
	if got := string(z.Process(x, nil)); got != "1" {
		t.Errorf("zero-value detector detected %q", got)
	}
}

func TestDTMFAllocs(t *testing.T) {
	var g DTMFGen
	d := NewDTMFDetector()
	buf := make([]int16, 80)
	out := make([]byte, 0, 16)
	for name, f := range map[string]func(){
		"Queue": func() {
			if !g.Busy() {
				_ = g.Queue("123", 40*time.Millisecond, 40*time.Millisecond, -10)
			}
		},
		"Fill":    func() { g.Fill(buf) },
		"Add":     func() { g.Add(buf) },
		"Process": func() { out = d.Process(buf, out[:0]) },
	} {
		_ = g.Queue("1234", 40*time.Millisecond, 40*time.Millisecond, -10)
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func FuzzDTMFDetector(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 300))
	seed := sines(400, []float64{697, 1209}, []float64{8000, 9000})
	b := make([]byte, 2*len(seed))
	for i, s := range seed {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := make([]int16, len(data)/2)
		for i := range x {
			x[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		d := NewDTMFDetector()
		out := d.Process(x, nil)
		for _, c := range out {
			if _, _, ok := DTMFFreqs(c); !ok {
				t.Fatalf("detector produced %q", c)
			}
		}
		if len(out) > len(x)/dtmfBlock {
			t.Fatalf("%d digits from %d samples", len(out), len(x))
		}
	})
}

func BenchmarkDTMFProcess80(b *testing.B) {
	x := mulawTrip(sines(8000, []float64{770, 1477}, []float64{4000, 5000}))
	d := NewDTMFDetector()
	out := make([]byte, 0, 64)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		out = d.Process(x[i:i+80], out[:0])
		i = (i + 80) % len(x)
	}
}

func BenchmarkDTMFGenFill80(b *testing.B) {
	var g DTMFGen
	buf := make([]int16, 80)
	b.ReportAllocs()
	for b.Loop() {
		if !g.Busy() {
			_ = g.Queue("0123456789", 50*time.Millisecond, 50*time.Millisecond, -10)
		}
		g.Fill(buf)
	}
}

func TestDTMFRatios(t *testing.T) {
	for _, c := range []struct{ got, db float64 }{{normalTwist, dtmfNormalTwist}, {reverseTwist, dtmfReverseTwist}, {dominance, dtmfDominance}} {
		if math.Abs(c.got-math.Pow(10, c.db/10)) > 1e-12 {
			t.Errorf("ratio %v != %v dB", c.got, c.db)
		}
	}
}

// TestDTMFFrequencyTolerance: every DTMF frequency is accepted ±1.5% off and
// rejected ±3.5% off (ITU-T Q.24), with the other tone on frequency.
func TestDTMFFrequencyTolerance(t *testing.T) {
	lowAmp, highAmp := DBm0ToAmplitude(-12), DBm0ToAmplitude(-10)
	for _, dev := range []float64{-0.035, -0.015, 0.015, 0.035} {
		accept := math.Abs(dev) < 0.02
		for i := range 4 {
			cases := []struct {
				lo, hi float64
				want   byte
			}{
				{dtmfLow[i] * (1 + dev), 1336, dtmfKeys[i*4+1]},
				{770, dtmfHigh[i] * (1 + dev), dtmfKeys[4+i]},
			}
			for _, c := range cases {
				want := ""
				if accept {
					want = string(c.want)
				}
				x := mulawTrip(sines(4000, []float64{c.lo, c.hi}, []float64{lowAmp, highAmp}))
				if got := detect(x); got != want {
					t.Errorf("%.1f+%.1f Hz (%+.1f%%): detected %q, want %q", c.lo, c.hi, dev*100, got, want)
				}
			}
		}
	}
}

// TestDTMFDurationAllPhases checks the duration limits at many alignments
// of the tone against the detector's windows.
func TestDTMFDurationAllPhases(t *testing.T) {
	tests := []struct {
		on, off time.Duration
		level   float64
		want    string
	}{
		{40 * time.Millisecond, 40 * time.Millisecond, -25, allDigits},
		{40 * time.Millisecond, 40 * time.Millisecond, 0, allDigits},
		{23 * time.Millisecond, 40 * time.Millisecond, -25, ""},
		{23 * time.Millisecond, 40 * time.Millisecond, 0, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v/%v at %v dBm0", tc.on, tc.off, tc.level), func(t *testing.T) {
			for lead := 0; lead < dtmfBlock; lead += 3 {
				x := mulawTrip(dtmfSignal(t, allDigits, tc.on, tc.off, tc.level, lead))
				if got := detect(x); got != tc.want {
					t.Fatalf("lead %d: detected %q, want %q", lead, got, tc.want)
				}
			}
		})
	}
}

// TestDTMFGaps: a break of up to 10 ms inside a digit is bridged, a 40 ms
// pause separates two presses of the same digit.
func TestDTMFGaps(t *testing.T) {
	for _, tc := range []struct {
		gapMS int
		want  string
	}{{5, "9"}, {10, "9"}, {40, "99"}} {
		for lead := 0; lead < dtmfBlock; lead += 3 {
			x := make([]int16, lead)
			x = append(x, sines(400, []float64{852, 1477}, []float64{5000, 6000})...)
			x = append(x, make([]int16, tc.gapMS*SampleRate/1000)...)
			x = append(x, sines(400, []float64{852, 1477}, []float64{5000, 6000})...)
			x = append(x, make([]int16, 400)...)
			if got := detect(mulawTrip(x)); got != tc.want {
				t.Errorf("gap %d ms lead %d: detected %q, want %q", tc.gapMS, lead, got, tc.want)
			}
		}
	}
}

// TestDTMFGenPause: digits queued one at a time without a pause run
// together (one key pressed and held, or another key with no release),
// and Pause between them makes each a key of its own.
func TestDTMFGenPause(t *testing.T) {
	tests := []struct {
		name   string
		digits string
		pause  time.Duration
		want   string
	}{
		{"same key, no pause", "55", 0, "5"},
		{"same key, 50 ms pause", "55", 50 * time.Millisecond, "55"},
		{"two keys, 50 ms pause", "80", 50 * time.Millisecond, "80"},
		{"three keys, 40 ms pauses", "258", 40 * time.Millisecond, "258"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g DTMFGen
			for i := range len(tc.digits) {
				if i > 0 && tc.pause > 0 {
					if err := g.Pause(tc.pause); err != nil {
						t.Fatal(err)
					}
				}
				if err := g.Queue(tc.digits[i:i+1], 60*time.Millisecond, 0, -10); err != nil {
					t.Fatal(err)
				}
			}
			x := make([]int16, 8000)
			g.Fill(x)
			if g.Busy() {
				t.Fatal("still busy after a second")
			}
			if got := detect(mulawTrip(x)); got != tc.want {
				t.Errorf("detected %q, want %q", got, tc.want)
			}
		})
	}
	var g DTMFGen
	for _, d := range []time.Duration{0, -time.Millisecond, 2 * time.Hour} {
		if err := g.Pause(d); !errors.Is(err, ErrDuration) {
			t.Errorf("Pause(%v): %v", d, err)
		}
	}
	for range DTMFQueueLen {
		if err := g.Pause(time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Pause(time.Millisecond); !errors.Is(err, ErrQueueFull) {
		t.Errorf("Pause on a full queue: %v", err)
	}
}

// TestDTMFGenPhasor: the generator's phasors give what math.Sin per sample
// gives (to the rounding of the last bit), across digits, pauses and calls
// of any length.
func TestDTMFGenPhasor(t *testing.T) {
	const keys = "1234567890*#ABCD"
	var g DTMFGen
	for range 4 {
		if err := g.Queue(keys, 700*time.Millisecond, 50*time.Millisecond, -4); err != nil {
			t.Fatal(err)
		}
	}
	n := 4 * len(keys) * 6000
	got := fillInChunks(n, g.Fill)
	var bad int
	i := 0
	for range 4 {
		for k := range len(keys) {
			lo, hi, _ := DTMFFreqs(keys[k])
			aHi, aLo := DBm0ToAmplitude(-4), DBm0ToAmplitude(-4-dtmfLowOffset)
			var pl, ph float64
			for j := range 6000 {
				var v float64
				if j < 5600 {
					v = aLo*math.Sin(2*math.Pi*pl) + aHi*math.Sin(2*math.Pi*ph)
					if pl += lo / SampleRate; pl >= 1 {
						pl--
					}
					if ph += hi / SampleRate; ph >= 1 {
						ph--
					}
				}
				if want := saturate(v); got[i] != want {
					bad++
					if d := int(got[i]) - int(want); d < -1 || d > 1 {
						t.Fatalf("sample %d (key %c): %d, want %d", i, keys[k], got[i], want)
					}
				}
				i++
			}
		}
	}
	if bad > n/10000 {
		t.Fatalf("%d of %d samples differ by one", bad, n)
	}
	t.Logf("%d of %d samples differ by one from math.Sin's", bad, n)
}
