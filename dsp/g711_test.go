package dsp

import (
	"math"
	"testing"
)

func TestG711KnownValues(t *testing.T) {
	enc := []struct {
		name string
		f    func(int16) byte
		in   int16
		want byte
	}{
		{"mulaw 0", MulawEncode, 0, 0xFF},
		{"mulaw -1", MulawEncode, -1, 0x7F},
		{"mulaw 1000", MulawEncode, 1000, 0xCE},
		{"mulaw max", MulawEncode, 32767, 0x80},
		{"mulaw min", MulawEncode, -32768, 0x00},
		{"alaw 0", AlawEncode, 0, 0xD5},
		{"alaw -1", AlawEncode, -1, 0x55},
		{"alaw 1000", AlawEncode, 1000, 0xFA},
		{"alaw max", AlawEncode, 32767, 0xAA},
		{"alaw min", AlawEncode, -32768, 0x2A},
	}
	for _, tc := range enc {
		t.Run("encode "+tc.name, func(t *testing.T) {
			if got := tc.f(tc.in); got != tc.want {
				t.Errorf("encode(%d) = %#02x, want %#02x", tc.in, got, tc.want)
			}
		})
	}
	dec := []struct {
		name string
		f    func(byte) int16
		in   byte
		want int16
	}{
		{"mulaw 0x00", MulawDecode, 0x00, -32124},
		{"mulaw 0x80", MulawDecode, 0x80, 32124},
		{"mulaw 0xFF", MulawDecode, 0xFF, 0},
		{"mulaw 0x7F", MulawDecode, 0x7F, 0},
		{"mulaw 0xFE", MulawDecode, 0xFE, 8},
		{"mulaw 0xCE", MulawDecode, 0xCE, 988},
		{"alaw 0x55", AlawDecode, 0x55, -8},
		{"alaw 0xD5", AlawDecode, 0xD5, 8},
		{"alaw 0xAA", AlawDecode, 0xAA, 32256},
		{"alaw 0x2A", AlawDecode, 0x2A, -32256},
		{"alaw 0xFA", AlawDecode, 0xFA, 1008},
	}
	for _, tc := range dec {
		t.Run("decode "+tc.name, func(t *testing.T) {
			if got := tc.f(tc.in); got != tc.want {
				t.Errorf("decode(%#02x) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestG711RoundTripCodes(t *testing.T) {
	for c := range 256 {
		code := byte(c)
		if got := MulawEncode(MulawDecode(code)); got != code && code != 0x7F {
			t.Errorf("µ-law %#02x -> %d -> %#02x", code, MulawDecode(code), got)
		}
		if got := AlawEncode(AlawDecode(code)); got != code {
			t.Errorf("A-law %#02x -> %d -> %#02x", code, AlawDecode(code), got)
		}
	}
	// µ-law's negative zero re-encodes as positive zero.
	if got := MulawEncode(MulawDecode(0x7F)); got != 0xFF {
		t.Errorf("µ-law 0x7F round trip = %#02x, want 0xFF", got)
	}
}

// TestG711Quantiser checks every 16-bit input against properties any G.711
// quantiser must have: decoded output is monotonic in the input, and the
// error is at most half a quantisation step of the chosen segment.
func TestG711Quantiser(t *testing.T) {
	laws := []struct {
		name    string
		enc     func(int16) byte
		dec     func(byte) int16
		step    func(code byte) int // quantisation step of the code's segment
		maxOut  int
		halfMax int // largest |s| with bounded error
	}{
		{"mulaw", MulawEncode, MulawDecode,
			func(c byte) int { return 8 << ((^c & 0x70) >> 4) }, 32124, 32124 + 512},
		{"alaw", AlawEncode, AlawDecode,
			func(c byte) int {
				seg := ((c ^ 0x55) & 0x70) >> 4
				if seg == 0 {
					return 16
				}
				return 16 << (seg - 1)
			}, 32256, 32256 + 512},
	}
	for _, law := range laws {
		t.Run(law.name, func(t *testing.T) {
			prev := math.MinInt
			for s := -32768; s <= 32767; s++ {
				c := law.enc(int16(s))
				y := int(law.dec(c))
				if y < prev {
					t.Fatalf("not monotonic at %d: %d after %d", s, y, prev)
				}
				prev = y
				if s < -law.halfMax || s > law.halfMax {
					continue
				}
				if e := y - s; e > law.step(c)/2 || -e > law.step(c)/2 {
					t.Fatalf("input %d -> code %#02x -> %d: error %d beyond half step %d", s, c, y, e, law.step(c)/2)
				}
			}
			if prev != law.maxOut {
				t.Errorf("largest output %d, want %d", prev, law.maxOut)
			}
		})
	}
}

func TestG711Slices(t *testing.T) {
	src := []int16{0, 1000, -1000, 32767, -32768}
	b := make([]byte, 3) // shorter dst: only 3 encoded
	EncodeMulaw(b, src)
	if b[0] != 0xFF || b[1] != 0xCE || b[2] != MulawEncode(-1000) {
		t.Errorf("EncodeMulaw = % x", b)
	}
	out := make([]int16, 5)
	DecodeMulaw(out, b)
	if out[1] != 988 || out[3] != 0 {
		t.Errorf("DecodeMulaw = %v", out)
	}
	EncodeAlaw(b, src)
	if b[0] != 0xD5 || b[1] != 0xFA {
		t.Errorf("EncodeAlaw = % x", b)
	}
	DecodeAlaw(out, b)
	if out[0] != 8 || out[1] != 1008 {
		t.Errorf("DecodeAlaw = %v", out)
	}
}

func TestG711Allocs(t *testing.T) {
	src := sines(80, []float64{1000}, []float64{10000})
	b := make([]byte, 80)
	d := make([]int16, 80)
	for name, f := range map[string]func(){
		"EncodeMulaw": func() { EncodeMulaw(b, src) },
		"DecodeMulaw": func() { DecodeMulaw(d, b) },
		"EncodeAlaw":  func() { EncodeAlaw(b, src) },
		"DecodeAlaw":  func() { DecodeAlaw(d, b) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}

func BenchmarkG711(b *testing.B) {
	src := sines(80, []float64{1000}, []float64{10000})
	enc := make([]byte, 80)
	dec := make([]int16, 80)
	EncodeMulaw(enc, src)
	b.Run("EncodeMulaw80", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeMulaw(enc, src)
		}
	})
	b.Run("DecodeMulaw80", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DecodeMulaw(dec, enc)
		}
	})
	b.Run("EncodeAlaw80", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeAlaw(enc, src)
		}
	})
	b.Run("DecodeAlaw80", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DecodeAlaw(dec, enc)
		}
	})
}
