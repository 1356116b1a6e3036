package dsp

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/loopstart/loopstart/dsp/internal/oracle"
)

// g722Signals returns the 16 kHz test material: tones, sweeps, noise
// (including overload, to exercise saturation), silence and, when espeak-ng
// is available, speech.
func g722Signals(t *testing.T) map[string][]int16 {
	t.Helper()
	const fs = G722SampleRate
	sig := map[string][]int16{}
	tone := func(n int, f, amp float64) []int16 {
		x := make([]int16, n)
		for i := range x {
			x[i] = saturate(amp * math.Sin(2*math.Pi*f*float64(i)/fs))
		}
		return x
	}
	for _, c := range []struct{ f, dbfs float64 }{{100, -6}, {1000, -10}, {1000, -40}, {3400, -3}, {4000, -10}, {5500, -12}, {7000, -20}, {7900, -6}, {1020, 0}} {
		sig[fmt.Sprintf("tone %g Hz %g dBFS", c.f, c.dbfs)] = tone(8000, c.f, DBFSToAmplitude(c.dbfs))
	}
	sweep := func(f0, f1, amp float64) []int16 {
		n := 2 * fs
		x := make([]int16, n)
		var ph float64
		for i := range x {
			f := f0 * math.Pow(f1/f0, float64(i)/float64(n))
			ph += 2 * math.Pi * f / fs
			x[i] = saturate(amp * math.Sin(ph))
		}
		return x
	}
	sig["sweep 50-7950 Hz -6 dBFS"] = sweep(50, 7950, DBFSToAmplitude(-6))
	sig["sweep 7950-50 Hz 0 dBFS"] = sweep(7950, 50, 32767)
	r := rand.New(rand.NewPCG(7, 7))
	for _, rms := range []float64{30, 3000, 20000} {
		x := make([]int16, fs)
		for i := range x {
			x[i] = saturate(r.NormFloat64() * rms)
		}
		sig[fmt.Sprintf("noise rms %g", rms)] = x
	}
	sq := make([]int16, fs/2) // full-scale square wave: overload everywhere
	for i := range sq {
		sq[i] = 32767
		if (i/23)%2 == 1 {
			sq[i] = -32768
		}
	}
	sig["square 348 Hz full scale"] = sq
	sig["silence"] = make([]int16, 4000)
	return sig
}

func g722Speech(t *testing.T) map[string][]int16 {
	out := map[string][]int16{}
	espeak := requirePeer(t, "espeak-ng")
	for _, v := range []int{0, 7, 13, 20} {
		vc := talkoffVoices[v]
		x := speechAt(t, espeak, vc.voice, talkoffTexts[vc.text], vc.speed, vc.pitch, G722SampleRate)
		out["speech "+vc.voice] = x[:len(x)/2*2]
	}
	return out
}

func TestG722MatchesSpandsp(t *testing.T) {
	o := oracle.New(t)
	sig := g722Signals(t)
	for k, v := range g722Speech(t) {
		sig[k] = v
	}
	total := 0
	for name, x := range sig {
		t.Run(name, func(t *testing.T) {
			var e G722Encoder
			got := make([]byte, len(x)/2)
			if n := e.Encode(got, x); n != len(x)/2 {
				t.Fatalf("Encode wrote %d bytes, want %d", n, len(x)/2)
			}
			want, err := o.Run(oracle.PCM(x), "g722-enc")
			if err != nil {
				t.Fatal(err)
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("encoder differs from spandsp at byte %d of %d (ours %#02x, spandsp %#02x)", i, len(want), at(got, i), at(want, i))
			}
			var d G722Decoder
			pcm := make([]int16, 2*len(got))
			if n := d.Decode(pcm, got); n != len(pcm) {
				t.Fatalf("Decode wrote %d samples, want %d", n, len(pcm))
			}
			wb, err := o.Run(want, "g722-dec")
			if err != nil {
				t.Fatal(err)
			}
			if i := firstDiff(oracle.PCM(pcm), wb); i >= 0 {
				t.Fatalf("decoder differs from spandsp at sample %d", i/2)
			}
			total += len(x)
		})
	}
	t.Logf("%d signals, %.1f s of 16 kHz audio: encoder and decoder bit-exact with spandsp", len(sig), float64(total)/G722SampleRate)
}

// Random code streams exercise every code and adaptation path of the
// decoder, including ones an encoder never produces.
func TestG722DecoderRandomCodesMatchSpandsp(t *testing.T) {
	o := oracle.New(t)
	r := rand.New(rand.NewPCG(9, 9))
	for run := range 4 {
		codes := make([]byte, 16000)
		for i := range codes {
			codes[i] = byte(r.IntN(256))
			if run == 1 { // mostly large codes
				codes[i] |= 0xc0
			}
		}
		var d G722Decoder
		pcm := make([]int16, 2*len(codes))
		d.Decode(pcm, codes)
		wb, err := o.Run(codes, "g722-dec")
		if err != nil {
			t.Fatal(err)
		}
		if i := firstDiff(oracle.PCM(pcm), wb); i >= 0 {
			t.Fatalf("run %d: decoder differs from spandsp at sample %d", run, i/2)
		}
	}
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// Round trip quality: a 1 kHz tone comes back with SNR > 30 dB after the
// codec delay, and a 6 kHz tone (high band) > 15 dB.
func TestG722RoundTrip(t *testing.T) {
	for _, c := range []struct{ f, minSNR float64 }{{1000, 30}, {300, 30}, {6000, 12}} {
		n := 8000
		x := make([]int16, n)
		for i := range x {
			x[i] = saturate(10000 * math.Sin(2*math.Pi*c.f*float64(i)/G722SampleRate))
		}
		var e G722Encoder
		var d G722Decoder
		codes := make([]byte, n/2)
		e.Encode(codes, x)
		y := make([]int16, n)
		d.Decode(y, codes)
		best := math.Inf(-1)
		for delay := 0; delay < 40; delay++ {
			var sig, errE float64
			for i := 2000; i < n-delay; i++ {
				s := float64(x[i])
				sig += s * s
				dd := float64(y[i+delay]) - s
				errE += dd * dd
			}
			best = math.Max(best, 10*math.Log10(sig/errE))
		}
		if best < c.minSNR {
			t.Errorf("%g Hz round trip SNR %.1f dB, want ≥ %g", c.f, best, c.minSNR)
		}
	}
}

// Odd-length calls: the held sample makes the byte stream independent of
// how the input is cut.
func TestG722EncodeChunking(t *testing.T) {
	x := noise(4000, 4000, 5)
	var a G722Encoder
	whole := make([]byte, 2000)
	a.Encode(whole, x)
	var b G722Encoder
	var got []byte
	buf := make([]byte, 200)
	for i, sizes := 0, []int{1, 7, 160, 3, 320, 33}; i < len(x); {
		n := min(sizes[len(got)%len(sizes)], len(x)-i)
		k := b.Encode(buf, x[i:i+n])
		got = append(got, buf[:k]...)
		i += n
	}
	if !bytes.Equal(got, whole) {
		t.Fatalf("chunked encode differs at byte %d", firstDiff(got, whole))
	}
}

func TestG722NoAllocs(t *testing.T) {
	x := noise(320, 4000, 6)
	var e G722Encoder
	var d G722Decoder
	codes := make([]byte, 160)
	y := make([]int16, 320)
	if a := testing.AllocsPerRun(100, func() {
		e.Encode(codes, x)
		d.Decode(y, codes)
	}); a != 0 {
		t.Fatalf("G.722 allocates %.1f times per frame", a)
	}
}

// One op is 10 ms: 160 samples at 16 kHz, 80 bytes.
func BenchmarkG722EncodeFrame(b *testing.B) {
	x := noise(160, 4000, 6)
	var e G722Encoder
	codes := make([]byte, 80)
	b.ReportAllocs()
	for b.Loop() {
		e.Encode(codes, x)
	}
}

func BenchmarkG722DecodeFrame(b *testing.B) {
	x := noise(160, 4000, 6)
	var e G722Encoder
	codes := make([]byte, 80)
	e.Encode(codes, x)
	var d G722Decoder
	y := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		d.Decode(y, codes)
	}
}

// FuzzG722Decode: any byte stream (an RTP payload from outside) decodes
// without panicking, two samples per byte, and chunking does not matter.
func FuzzG722Decode(f *testing.F) {
	f.Add([]byte{0, 0xff, 0x80, 0x7f, 0x3c})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d1, d2 G722Decoder
		y1 := make([]int16, 2*len(b))
		if n := d1.Decode(y1, b); n != len(y1) {
			t.Fatalf("decoded %d samples from %d bytes", n, len(b))
		}
		y2 := make([]int16, 2*len(b))
		h := len(b) / 2
		d2.Decode(y2[:2*h], b[:h])
		d2.Decode(y2[2*h:], b[h:])
		for i := range y1 {
			if y1[i] != y2[i] {
				t.Fatalf("chunked decode differs at %d", i)
			}
		}
	})
}
