package sim

import (
	"testing"
	"time"
)

// TestHeardSilenceFirst: a phone that has heard only silence keeps no
// recording buffer, yet Heard returns that silence; once sound arrives the
// recording holds the silence before it and the sound, in order, and wraps
// as before.
func TestHeardSilenceFirst(t *testing.T) {
	tests := []struct {
		name           string
		silent, sound  int // frames
		wantLen        int
		wantZeros      int // leading zeros in Heard(time.Hour)
		wantBufferHeld bool
	}{
		{"silence only", 50, 0, 4000, 4000, false},
		{"silence then sound", 50, 10, 4800, 4000, true},
		{"silence past the buffer, then sound", 3100, 10, historySamples, historySamples - 800, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			for range tc.silent {
				r.p.Audio(r.seq, r.ear, r.mout)
				r.seq++
			}
			var next int16 = 1
			for range tc.sound {
				for i := range r.ear {
					r.ear[i] = next
					next++
				}
				r.p.Audio(r.seq, r.ear, r.mout)
				r.seq++
			}
			if held := r.p.rec.held(); held != tc.wantBufferHeld {
				t.Errorf("recording buffer held %v, want %v", held, tc.wantBufferHeld)
			}
			got := r.p.Heard(time.Hour)
			if len(got) != tc.wantLen {
				t.Fatalf("heard %d samples, want %d", len(got), tc.wantLen)
			}
			for i, v := range got {
				want := int16(0)
				if i >= tc.wantZeros {
					want = int16(i-tc.wantZeros) + 1
				}
				if v != want {
					t.Fatalf("sample %d: %d, want %d", i, v, want)
				}
			}
		})
	}
}
