package line

import (
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// TestToneDetector: a country's busy tone is recognised by its cadence
// within three runs; its dial tone, ringback and silence are not busy.
func TestToneDetector(t *testing.T) {
	us, err := dsp.LookupProfile("us")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		play *dsp.Tone
		want bool
	}{
		{"busy", &us.Busy, true},
		{"dial", &us.Dial, false},
		{"ringback", &us.Ringback, false},
		{"silence", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g dsp.ToneGen
			g.Play(tc.play)
			var d toneDetector
			d.reset(&us.Busy)
			buf := make([]int16, 80)
			got := false
			for range int(3 * time.Second / (10 * time.Millisecond)) {
				clear(buf)
				g.Fill(buf)
				if d.process(buf) {
					got = true
					break
				}
			}
			if got != tc.want {
				t.Errorf("busy detected %v, want %v", got, tc.want)
			}
		})
	}
}
