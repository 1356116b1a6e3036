package media

import (
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
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
	// The test's tones have no line echo to cancel; a canceller that has
	// not converged would only dent them.
	r.a, r.farA = newPairEcho(t, ca, EchoOpts{Off: true})
	r.b, r.farB = newPairEcho(t, cb, EchoOpts{Off: true})
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
	// Tone levels, not a tone count: a frame the host's scheduler delays
	// can splash a little spectrum around, but cannot make a party hear
	// itself or lose another's tone.
	for _, tt := range []struct {
		who   string
		heard []int16
		want  []float64
		own   float64
	}{
		{"phone", heardP, []float64{1100, 1700}, 500},
		{"far end A", heardA, []float64{500, 1700}, 1100},
		{"far end B", heardB, []float64{500, 1100}, 1700},
	} {
		win := tt.heard[len(tt.heard)-4000:]
		own := toneDB(win, tt.own)
		for _, f := range tt.want {
			got := toneDB(win, f)
			if got < -50 || got-own < 20 {
				t.Errorf("%s: %v Hz at %.1f dBFS, its own %v Hz at %.1f dBFS; want the other party above -50 dBFS and 20 dB over its own",
					tt.who, f, got, tt.own, own)
			}
		}
	}
}

// toneDB is the level of the f Hz component of x in dBFS (Goertzel; a
// full-scale sine is 0 dBFS).
func toneDB(x []int16, f float64) float64 {
	w := 2 * math.Pi * f / pcm.SampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v)/32768 + c*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	amp := 2 * math.Sqrt(p) / float64(len(x))
	return 20 * math.Log10(amp+1e-12)
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
