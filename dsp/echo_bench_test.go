package dsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// speechLike returns n samples of a deterministic speech-like signal:
// syllables of 120–300 ms (a glottal pulse train at a gliding 90–230 Hz
// pitch through two formant resonators, under a raised-sine envelope)
// separated by pauses of 60–450 ms that carry a background noise near
// −60 dBm0, never exact digital silence. Its active level is about rms.
func speechLike(n int, rms float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	out := make([]float64, n)
	bg := DBm0ToAmplitude(-60) / math.Sqrt2
	for i := range out {
		out[i] = r.NormFloat64() * bg
	}
	reson := func(f, bw float64) (a1, a2 float64) {
		rr := math.Exp(-math.Pi * bw / SampleRate)
		return 2 * rr * math.Cos(2*math.Pi*f/SampleRate), -rr * rr
	}
	var sq, cnt float64
	for i := int(r.Float64() * 0.2 * SampleRate); i < n; {
		length := int((0.12 + 0.18*r.Float64()) * SampleRate)
		f0, f1 := 90+140*r.Float64(), 90+140*r.Float64()
		a1, a2 := reson(300+600*r.Float64(), 80)
		b1, b2 := reson(900+1600*r.Float64(), 120)
		var y1, y2, z1, z2, phase float64
		for j := 0; j < length && i+j < n; j++ {
			f := f0 + (f1-f0)*float64(j)/float64(length)
			phase += f / SampleRate
			var ex float64
			if phase >= 1 {
				phase--
				ex = 1
			}
			ex += 0.05 * r.NormFloat64()
			y := ex + a1*y1 + a2*y2
			y2, y1 = y1, y
			z := y + b1*z1 + b2*z2
			z2, z1 = z1, z
			env := math.Sin(math.Pi * float64(j) / float64(length))
			v := (z - 0.3*y) * env * env
			out[i+j] += v
			sq += v * v
			cnt++
		}
		i += length + int((0.06+0.39*r.Float64())*SampleRate)
	}
	g := rms / math.Sqrt(sq/math.Max(cnt, 1))
	res := make([]int16, n)
	for i, v := range out {
		res[i] = saturate(v * g)
	}
	return res
}

// benchEchoFrames processes scene s in 10 ms frames, cycling through it,
// and reports ns per frame (ns/op: one op is one frame).
func benchEchoFrames(b *testing.B, s echoScene) {
	e := NewEchoCanceller()
	fr := make([]int16, 80)
	n := len(s.tx) / 80 * 80
	// Converge first: the steady state is what a call costs.
	for i := 0; i < n; i += 80 {
		copy(fr, s.rx[i:i+80])
		e.Process(fr, s.tx[i:i+80])
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		copy(fr, s.rx[i:i+80])
		e.Process(fr, s.tx[i:i+80])
		if i += 80; i == n {
			i = 0
		}
	}
}

// BenchmarkEchoCancellerSpeech: the default canceller (64 ms, NLP on) on
// 10 ms frames of a call: speech-like far end, its echo through path B
// (5 ms bulk, 10 dB ERL), noise at −65 dBm0, and near-end speech in 3 of
// its 10 s (double talk). One op is one frame.
func BenchmarkEchoCancellerSpeech(b *testing.B) {
	far, near := speechLike(10*SampleRate, 2000, 1), speechLike(10*SampleRate, 1500, 2)
	benchEchoFrames(b, makeScene(far, near, echoPaths[1], 10, 4, 7))
}

// BenchmarkEchoCancellerSilentRef: the same with nothing sent to the line
// (the reference digital silence: a far end that sends no audio, before
// the call is answered, on hold) while the near end talks 3 s of 10.
func BenchmarkEchoCancellerSilentRef(b *testing.B) {
	far, near := make([]int16, 10*SampleRate), speechLike(10*SampleRate, 1500, 2)
	benchEchoFrames(b, makeScene(far, near, echoPaths[1], 10, 4, 7))
}

// BenchmarkEchoCancellerToneDoubleTalk: a steady far-end tone (1000 Hz)
// on path B and, from 2 s of 10 on, a steady near-end tone (550 Hz) as
// loud: both ends talking on, the prolonged "double talk" in which the
// canceller adapts slowly (what `make bench-peers` runs, both ends
// sending a tone for the whole call).
func BenchmarkEchoCancellerToneDoubleTalk(b *testing.B) {
	benchEchoFrames(b, toneDoubleTalkScene())
}

// toneDoubleTalkScene is BenchmarkEchoCancellerToneDoubleTalk's call: a
// steady far-end tone (1000 Hz) on path B and, from 2 s of 10 on, a steady
// near-end tone (550 Hz) as loud.
func toneDoubleTalkScene() echoScene {
	n := 10 * SampleRate
	far, near := make([]int16, n), make([]int16, n)
	a := DBFSToAmplitude(-12)
	for i := range n {
		far[i] = int16(a * math.Sin(2*math.Pi*1000*float64(i)/SampleRate))
		near[i] = int16(a * math.Sin(2*math.Pi*550*float64(i)/SampleRate))
	}
	return makeScene(far, near, echoPaths[1], 10, 2, 10)
}

// evictCache writes every byte of buf (larger than the caches), outside
// the benchmark's timer, so that what the next op reads comes from memory.
func evictCache(b *testing.B, buf []byte) {
	b.StopTimer()
	for i := range buf {
		buf[i]++
	}
	b.StartTimer()
}

// BenchmarkEchoFilters: both filters (foreground and background) over
// the default tail's partitions, one block (the two inverse transforms
// included): one at a time, and in the one pass a block runs them in.
func BenchmarkEchoFilters(b *testing.B) {
	e := NewEchoCanceller()
	noiseSecond(e, 30, nil)
	var yf, yb [ecBlock]float32
	b.Run("apart", func(b *testing.B) {
		for b.Loop() {
			e.filter(e.wf, &yf)
			e.filter(e.wb, &yb)
		}
	})
	b.Run("together", func(b *testing.B) {
		for b.Loop() {
			e.filters(&yf, &yb)
		}
	})
}

// TestEchoFiltersTogether: the one-pass filters give each filter's output
// bit for bit.
func TestEchoFiltersTogether(t *testing.T) {
	e := NewEchoCanceller()
	noiseSecond(e, 300, func(frame int) {
		var f1, b1, f2, b2 [ecBlock]float32
		e.filter(e.wf, &f1)
		e.filter(e.wb, &b1)
		e.filters(&f2, &b2)
		if f1 != f2 || b1 != b2 {
			t.Fatalf("frame %d: the filters together differ from each alone", frame)
		}
	})
}

// noiseSecond runs e over a second of white noise sent to the line and
// its echo plus near-end noise of rms nearRMS, calling after (if not nil)
// after each 10 ms frame.
func noiseSecond(e *EchoCanceller, nearRMS float64, after func(frame int)) {
	tx := noise(8000, 3000, 2)
	rx := mix(noise(8000, nearRMS, 3), tx)
	fr := make([]int16, 80)
	for i := 0; i < 8000; i += 80 {
		copy(fr, rx[i:i+80])
		e.Process(fr, tx[i:i+80])
		if after != nil {
			after(i / 80)
		}
	}
}

// BenchmarkRFFT: one forward and one inverse 128-point real transform.
func BenchmarkRFFT(b *testing.B) {
	var x [fftN]float32
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	var X [fftBins]complex64
	var tmp [fftHalf]complex64
	for b.Loop() {
		rfft(&X, &x, &tmp)
		irfft(&x, &X, &tmp)
	}
}

// BenchmarkEchoCancellerCold: eight cancellers (the default tail, the
// tone double talk of BenchmarkEchoCancellerToneDoubleTalk, converged),
// one 10 ms frame each from a cache emptied of them, as in the media loop
// at eight calls, where a call's canceller has left the cache by its next
// frame (one op: the eight frames).
func BenchmarkEchoCancellerCold(b *testing.B) {
	s := toneDoubleTalkScene()
	const chans = 8
	var es [chans]*EchoCanceller
	fr := make([]int16, 80)
	n := len(s.tx) / 80 * 80
	for c := range es {
		es[c] = NewEchoCanceller()
		for i := 0; i < n; i += 80 {
			copy(fr, s.rx[i:i+80])
			es[c].Process(fr, s.tx[i:i+80])
		}
	}
	evict := make([]byte, 8<<20)
	i := 0
	for b.Loop() {
		evictCache(b, evict)
		for _, e := range es {
			copy(fr, s.rx[i:i+80])
			e.Process(fr, s.tx[i:i+80])
		}
		if i += 80; i == n {
			i = 0
		}
	}
}
