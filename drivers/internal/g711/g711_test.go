package g711

import "testing"

// TestRoundTrip checks that every code decodes to a value that encodes back
// to the same code (the codes of the two zeros aside), and that quantisation
// error stays within a segment step.
func TestRoundTrip(t *testing.T) {
	for c := 0; c < 256; c++ {
		if got := EncodeULaw(DecodeULaw(byte(c))); got != byte(c) && !(c == 0x7F && got == 0xFF) {
			t.Errorf("µ-law %#02x -> %d -> %#02x", c, DecodeULaw(byte(c)), got)
		}
		if got := EncodeALaw(DecodeALaw(byte(c))); got != byte(c) {
			t.Errorf("A-law %#02x -> %d -> %#02x", c, DecodeALaw(byte(c)), got)
		}
	}
	for _, s := range []int16{0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 32767, -32768} {
		for name, f := range map[string]func(int16) int16{
			"ulaw": func(v int16) int16 { return DecodeULaw(EncodeULaw(v)) },
			"alaw": func(v int16) int16 { return DecodeALaw(EncodeALaw(v)) },
		} {
			got := f(s)
			d := int(got) - int(s)
			if d < 0 {
				d = -d
			}
			lim := max(int(s)/16, -int(s)/16, 40)
			if d > lim {
				t.Errorf("%s %d -> %d (error %d > %d)", name, s, got, d, lim)
			}
		}
	}
	// Known codes (G.711 tables): µ-law 0 -> 0xFF, A-law 0 -> 0xD5.
	if EncodeULaw(0) != 0xFF || EncodeALaw(0) != 0xD5 {
		t.Errorf("zero codes %#02x %#02x", EncodeULaw(0), EncodeALaw(0))
	}
}
