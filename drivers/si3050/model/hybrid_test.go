package model

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// quietLine is a connected line whose far end is silent.
type quietLine struct{}

func (quietLine) Condition(uint64, bool) Condition     { return Condition{Volts: 8, LoopMA: 30} }
func (quietLine) Audio(uint64, bool, []int16, []int16) {}

// TestHybridEcho: off hook, white noise sent to a silent line comes back
// in the capture Loss dB down after the bulk delay (an impulse times it),
// nothing with the hybrid off, and nothing on hook.
func TestHybridEcho(t *testing.T) {
	tests := []struct {
		name      string
		h         Hybrid
		onHook    bool
		wantLoss  float64 // +Inf: no echo at all
		wantDelay int     // samples before the first echo
	}{
		{"default", Hybrid{}, false, DefaultHybridLoss, 8},
		{"6 dB, 5 ms", Hybrid{Loss: 6, Delay: 5 * time.Millisecond}, false, 6, 40},
		{"20 dB, 12 ms", Hybrid{Loss: 20, Delay: 12 * time.Millisecond}, false, 20, 96},
		{"delay capped", Hybrid{Delay: time.Second}, false, DefaultHybridLoss, 800},
		{"off", Hybrid{Off: true}, false, math.Inf(1), 0},
		{"on hook", Hybrid{}, true, math.Inf(1), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Opts{Hybrid: tc.h, LinkAccesses: 1})
			c.Attach(quietLine{})
			h := newHost(t, c)
			h.w(6, 0)
			h.r(2)
			h.w(33, 0x30) // PCM on, 16-bit linear; TX and RX on channel 0
			if !tc.onHook {
				h.w(5, 0x01)
			} else {
				h.w(5, 0x08) // line monitor: the capture still flows
			}
			r := rand.New(rand.NewPCG(1, 2))
			var pin, pout float64
			first := -1
			in, out := make([]int16, 80), make([]int16, 80)
			for f := range 200 {
				for i := range in {
					in[i] = int16(r.NormFloat64() * 3000)
				}
				if f == 0 {
					clear(in)
					in[0] = 10000
				}
				c.Transfer(uint64(f), [][]int16{in}, [][]int16{out})
				for i, v := range out {
					if first < 0 && v != 0 {
						first = f*80 + i
					}
					if f >= 20 {
						pin += float64(in[i]) * float64(in[i])
						pout += float64(v) * float64(v)
					}
				}
			}
			if math.IsInf(tc.wantLoss, 1) {
				if pout != 0 {
					t.Fatalf("echo at %.1f dB", 10*math.Log10(pin/pout))
				}
				return
			}
			if loss := 10 * math.Log10(pin/pout); math.Abs(loss-tc.wantLoss) > 0.5 {
				t.Errorf("echo return loss %.1f dB, want %.1f", loss, tc.wantLoss)
			}
			if first != tc.wantDelay {
				t.Errorf("first echo after %d samples, want %d", first, tc.wantDelay)
			}
		})
	}
}

// TestTransferNoAllocs: a frame with the echo path on does not allocate.
func TestTransferNoAllocs(t *testing.T) {
	c := New(Opts{LinkAccesses: 1})
	c.Attach(quietLine{})
	h := newHost(t, c)
	h.w(6, 0)
	h.r(2)
	h.w(33, 0x30)
	h.w(5, 0x01)
	in, out := [][]int16{make([]int16, 80)}, [][]int16{make([]int16, 80)}
	seq := uint64(0)
	if a := testing.AllocsPerRun(100, func() { seq++; c.Transfer(seq, in, out) }); a != 0 {
		t.Fatalf("%.1f allocations per frame", a)
	}
}
