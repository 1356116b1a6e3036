package dsp

import (
	"testing"

	"github.com/loopstart/loopstart/dsp/internal/oracle"
)

// TestG711MatchesSpandsp compares our G.711 encoders over all 65536 linear
// inputs and our decoders over all 256 codes with spandsp's g711.h.
func TestG711MatchesSpandsp(t *testing.T) {
	o := oracle.New(t)
	all := make([]int16, 65536)
	for i := range all {
		all[i] = int16(uint16(i))
	}
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	laws := []struct {
		name string
		enc  func(int16) byte
		dec  func(byte) int16
	}{
		{"ulaw", MulawEncode, MulawDecode},
		{"alaw", AlawEncode, AlawDecode},
	}
	for _, law := range laws {
		t.Run(law.name+"/encode", func(t *testing.T) {
			want, err := o.Encode(law.name, all)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != len(all) {
				t.Fatalf("oracle returned %d codes, want %d", len(want), len(all))
			}
			bad := 0
			for i, s := range all {
				if got := law.enc(s); got != want[i] {
					if bad < 5 {
						t.Errorf("encode(%d) = %#02x, spandsp %#02x", s, got, want[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of 65536 inputs differ from spandsp", bad)
			}
		})
		t.Run(law.name+"/decode", func(t *testing.T) {
			want, err := o.Decode(law.name, codes)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != 256 {
				t.Fatalf("oracle returned %d samples, want 256", len(want))
			}
			for i, c := range codes {
				if got := law.dec(c); got != want[i] {
					t.Errorf("decode(%#02x) = %d, spandsp %d", c, got, want[i])
				}
			}
		})
	}
}
