package hybridmodel

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestEcho: the path returns white noise the set loss down, after the bulk
// delay, and nothing when off.
func TestEcho(t *testing.T) {
	tests := []struct {
		name      string
		on        bool
		loss      float64
		delay     time.Duration
		wantLoss  float64
		wantDelay int // samples before the first echo
	}{
		{"10 dB, 1 ms", true, 10, time.Millisecond, 10, 8},
		{"6 dB, 5 ms", true, 6, 5 * time.Millisecond, 6, 40},
		{"15 dB, 30 ms", true, 15, 30 * time.Millisecond, 15, 240},
		{"delay capped", true, 10, time.Second, 10, 800},
		{"off", false, 0, 0, math.Inf(1), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Path
			if tc.on {
				p.Init(tc.loss, tc.delay)
			}
			r := rand.New(rand.NewPCG(1, 2))
			var pin, pout float64
			first := -1
			line, out := make([]int16, 80), make([]int16, 80)
			for f := range 200 {
				for i := range line {
					line[i] = int16(r.NormFloat64() * 3000)
				}
				if f == 0 {
					clear(line)
					line[0] = 10000 // an impulse first, to time the echo
				}
				for i := range out {
					out[i] = 1 // Echo must overwrite
				}
				p.Echo(out, line)
				for i := range out {
					if first < 0 && out[i] != 0 {
						first = f*80 + i
					}
					if f >= 20 {
						pin += float64(line[i]) * float64(line[i])
						pout += float64(out[i]) * float64(out[i])
					}
				}
			}
			if p.On() != tc.on {
				t.Errorf("On() = %v", p.On())
			}
			loss := 10 * math.Log10(pin/pout)
			if math.Abs(loss-tc.wantLoss) > 0.5 && !(math.IsInf(tc.wantLoss, 1) && pout == 0) {
				t.Errorf("echo return loss %.1f dB, want %.1f", loss, tc.wantLoss)
			}
			if tc.on && first != tc.wantDelay {
				t.Errorf("first echo after %d samples, want %d", first, tc.wantDelay)
			}
		})
	}
}

func TestEchoNoAllocs(t *testing.T) {
	var p Path
	p.Init(10, time.Millisecond)
	line, out := make([]int16, 80), make([]int16, 80)
	if a := testing.AllocsPerRun(100, func() { p.Echo(out, line) }); a != 0 {
		t.Fatalf("%.1f allocations per frame", a)
	}
}

// TestQuietShortcut: the shortcut for silent lines gives exactly the full
// filter's output, through speech, silences of every length (shorter and
// longer than the echo path) and a restart after a long silence.
func TestQuietShortcut(t *testing.T) {
	for _, c := range []struct {
		loss  float64
		delay time.Duration
	}{{10, time.Millisecond}, {6, 30 * time.Millisecond}, {10, MaxDelay}} {
		var fast, full Path
		fast.Init(c.loss, c.delay)
		full.Init(c.loss, c.delay)
		r := rand.New(rand.NewPCG(3, 4))
		line := make([]int16, 80)
		a, b := make([]int16, 80), make([]int16, 80)
		shortcuts := 0
		for f := range 3000 {
			switch phase := (f / 25) % 4; {
			case phase == 0 || phase == 2 && f%3 == 0:
				for i := range line {
					line[i] = int16(r.NormFloat64() * 2000)
				}
			case phase == 1 && f%25 == 24:
				clear(line)
				line[79] = 1 // a lone sample ends a silence
			default:
				clear(line)
			}
			if full.quiet >= full.delay+taps && allZero(line) {
				shortcuts++
			}
			fast.Echo(a, line)
			full.echoFull(b, line)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%v dB %v: frame %d sample %d: %d, full filter %d", c.loss, c.delay, f, i, a[i], b[i])
				}
			}
		}
		if shortcuts == 0 {
			t.Errorf("%v dB %v: the shortcut was never taken", c.loss, c.delay)
		}
	}
}

// BenchmarkEcho is one 10 ms frame of speech-like noise through a line's
// echo path (the sim board runs one per port with a talking line).
func BenchmarkEcho(b *testing.B) {
	var p Path
	p.Init(DefaultLoss, DefaultDelay)
	r := rand.New(rand.NewPCG(5, 6))
	line, out := make([]int16, 80), make([]int16, 80)
	for i := range line {
		line[i] = int16(r.NormFloat64() * 3000)
	}
	for b.Loop() {
		p.Echo(out, line)
	}
}

// TestEchoConvolution: the echo equals the impulse response convolved
// with the delayed line audio, written out sample by sample, for frames
// of any length (shorter and longer than one window of history).
func TestEchoConvolution(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Millisecond, MaxDelay} {
		var p Path
		p.Init(6, delay)
		r := rand.New(rand.NewPCG(7, 8))
		var all []float32
		for f, n := range []int{80, 1, 7, 160, 161, 400, 80, 33} {
			line, out := make([]int16, n), make([]int16, n)
			for i := range line {
				line[i] = int16(r.NormFloat64() * 4000)
			}
			p.Echo(out, line)
			for i, v := range line {
				all = append(all, float32(v))
				// The newest sample first, in float32, as the model
				// always summed: the same echo to the bit.
				now := len(all) - 1
				var acc float32
				for k := range taps {
					if at := now - p.delay - k; at >= 0 {
						acc += p.hr[taps-1-k] * all[at]
					}
				}
				if want := Sat(acc); out[i] != want {
					t.Fatalf("delay %v, frame %d (%d samples), sample %d: echo %d, convolution %d", delay, f, n, i, out[i], want)
				}
			}
		}
	}
}
