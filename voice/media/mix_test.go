package media

import (
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// confRig is a conference at the gateway (legs a, b) with its two far
// ends (farA, farB) on different codecs.
type confRig struct {
	a, farA, b, farB *Stream
	conf             Conference
}

func newConfRig(t *testing.T, ca, cb Codec) *confRig {
	t.Helper()
	r := &confRig{}
	r.a, r.farA = newPair(t, ca)
	r.b, r.farB = newPair(t, cb)
	return r
}

// TestConferenceEachHearsTheOtherTwo runs a three-way call in real time,
// the phone at 500 Hz, far end A (G.711 µ-law) at 1100 Hz and far end B
// (G.722) at 1700 Hz: A hears the phone and B, B the phone and A, the
// phone both far ends.
func TestConferenceEachHearsTheOtherTwo(t *testing.T) {
	r := newConfRig(t, PCMU, G722)
	capP, capA, capB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	out, outA, outB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var heardP, heardA, heardB []int16
	var pp, pa, pb float64
	tick := time.NewTicker(pcm.FrameDuration)
	defer tick.Stop()
	for range 150 {
		<-tick.C
		sine(capP, 500, 6000, &pp)
		sine(capA, 1100, 6000, &pa)
		sine(capB, 1700, 6000, &pb)
		r.farA.Send(capA)
		r.farB.Send(capB)
		r.conf.Tick(capP, out, r.a, r.b, true, true)
		r.farA.Receive(outA)
		r.farB.Receive(outB)
		heardP = append(heardP, out...)
		heardA = append(heardA, outA...)
		heardB = append(heardB, outB...)
	}
	for _, tt := range []struct {
		who   string
		heard []int16
		want  []float64
	}{
		{"phone", heardP, []float64{1100, 1700}},
		{"far end A", heardA, []float64{500, 1700}},
		{"far end B", heardB, []float64{500, 1100}},
	} {
		tones := dsp.DominantTones(tt.heard[len(tt.heard)-4000:], 3)
		slices.Sort(tones)
		if len(tones) != 2 || math.Abs(tones[0]-tt.want[0]) > 3 || math.Abs(tones[1]-tt.want[1]) > 3 {
			t.Errorf("%s heard %v, want %v", tt.who, tones, tt.want)
		}
	}
}

// TestConferenceAllocatesNothing asserts 0 allocations per conference frame.
func TestConferenceAllocatesNothing(t *testing.T) {
	r := newConfRig(t, PCMA, G722)
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	sine(frame, 1000, 8000, &ph)
	step := func() {
		r.farA.Send(frame)
		r.farB.Send(frame)
		runtime.Gosched()
		r.conf.Tick(frame, out, r.a, r.b, true, true)
		r.farA.Receive(out)
		r.farB.Receive(out)
	}
	for range 200 {
		step()
	}
	if n := testing.AllocsPerRun(3000, step); n != 0 {
		t.Fatalf("%v allocations per conference frame", n)
	}
}

func TestMixSaturates(t *testing.T) {
	dst := []int16{30000, -30000, 100}
	MixInto(dst, []int16{10000, -10000, -50})
	if want := []int16{32767, -32768, 50}; !slices.Equal(dst, want) {
		t.Errorf("mix %v, want %v", dst, want)
	}
}

// BenchmarkConferenceFrame is the cost of one conference for one 10 ms
// frame at the gateway: both legs' receive (jitter buffer, decode) and
// send (encode, packetize, UDP), G.711 µ-law and G.722, and the mix.
func BenchmarkConferenceFrame(b *testing.B) {
	t := &testing.T{}
	r := newConfRig(t, PCMU, G722)
	defer func() { r.a.Close(); r.farA.Close(); r.b.Close(); r.farB.Close() }()
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	sine(frame, 1000, 8000, &ph)
	b.ReportAllocs()
	for b.Loop() {
		r.conf.Tick(frame, out, r.a, r.b, true, true)
	}
}
