package model

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestHybridEcho: the echo path returns white noise Loss dB down, after
// the bulk delay, and nothing when Off.
func TestHybridEcho(t *testing.T) {
	tests := []struct {
		name      string
		h         Hybrid
		wantLoss  float64
		wantDelay int // samples before the first echo
	}{
		{"default", Hybrid{}, DefaultHybridLoss, 8},
		{"6 dB, 5 ms", Hybrid{Loss: 6, Delay: 5 * time.Millisecond}, 6, 40},
		{"15 dB, 30 ms", Hybrid{Loss: 15, Delay: 30 * time.Millisecond}, 15, 240},
		{"delay capped", Hybrid{Loss: 10, Delay: time.Second}, 10, 800},
		{"off", Hybrid{Off: true}, math.Inf(1), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hy hybrid
			hy.init(tc.h)
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
				clear(out)
				if hy.on {
					hy.echo(out, line)
				}
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
			loss := 10 * math.Log10(pin/pout)
			if math.Abs(loss-tc.wantLoss) > 0.5 && !(math.IsInf(tc.wantLoss, 1) && pout == 0) {
				t.Errorf("echo return loss %.1f dB, want %.1f", loss, tc.wantLoss)
			}
			if hy.on && first != tc.wantDelay {
				t.Errorf("first echo after %d samples, want %d", first, tc.wantDelay)
			}
		})
	}
}

func TestHybridNoAllocs(t *testing.T) {
	var hy hybrid
	hy.init(Hybrid{})
	line, out := make([]int16, 80), make([]int16, 80)
	if a := testing.AllocsPerRun(100, func() { hy.echo(out, line) }); a != 0 {
		t.Fatalf("%.1f allocations per frame", a)
	}
}

// TestHybridQuietShortcut: the shortcut for silent lines gives exactly the
// full filter's output, through speech, silences of every length (shorter
// and longer than the echo path) and a restart after a long silence.
func TestHybridQuietShortcut(t *testing.T) {
	for _, h := range []Hybrid{{}, {Loss: 6, Delay: 30 * time.Millisecond}, {Delay: time.Second}} {
		var fast, full hybrid
		fast.init(h)
		full.init(h)
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
			if full.quiet >= full.delay+hybridTaps && allZero(line) {
				shortcuts++
			}
			fast.echo(a, line)
			full.echoFull(b, line)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%+v: frame %d sample %d: %d, full filter %d", h, f, i, a[i], b[i])
				}
			}
		}
		if shortcuts == 0 {
			t.Errorf("%+v: the shortcut was never taken", h)
		}
	}
}

// echoFull is echo without the shortcut, for comparison.
func (hy *hybrid) echoFull(out, line []int16) {
	for i, v := range line {
		if v == 0 {
			hy.quiet = min(hy.quiet+1, hybridRing)
		} else {
			hy.quiet = 0
		}
		hy.ring[hy.pos] = float32(v)
		var acc float32
		p := hy.pos - hy.delay
		for k := range hybridTaps {
			acc += hy.h[k] * hy.ring[(p-k)&(hybridRing-1)]
		}
		hy.pos = (hy.pos + 1) & (hybridRing - 1)
		out[i] = sat(acc)
	}
}
