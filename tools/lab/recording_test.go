package lab

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// TestRecordingHasSomewhere: a recording carrying the tone passes, one
// carrying another tone fails, whatever its length.
func TestRecordingHasSomewhere(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		hz, secs float64
		ok       bool
	}{{1000, 3, true}, {600, 3, false}, {1000, 1.1, true}} {
		p := filepath.Join(dir, fmt.Sprintf("%v-%v.wav", tc.hz, tc.secs))
		if err := WriteToneWAV(p, tc.hz, -12, tc.secs); err != nil {
			t.Fatal(err)
		}
		if err := RecordingHasSomewhere(p, 1000); (err == nil) != tc.ok {
			t.Errorf("%v Hz for %v s: %v, want found %v", tc.hz, tc.secs, err, tc.ok)
		}
	}
}

// TestRecordingDigits: a key press in a recording is read back; a tone
// is no digit.
func TestRecordingDigits(t *testing.T) {
	var g dsp.DTMFGen
	if err := g.Queue("5", 100*time.Millisecond, 100*time.Millisecond, -10); err != nil {
		t.Fatal(err)
	}
	x := make([]int16, 8000)
	g.Fill(x[2000:])
	p := filepath.Join(t.TempDir(), "five.wav")
	if err := writeWAV(p, x); err != nil {
		t.Fatal(err)
	}
	if got, err := RecordingDigits(p); err != nil || got != "5" {
		t.Errorf("digits %q (%v), want 5", got, err)
	}
	q := filepath.Join(t.TempDir(), "tone.wav")
	if err := WriteToneWAV(q, 1000, -12, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := RecordingDigits(q); err != nil || got != "" {
		t.Errorf("a 1000 Hz tone: digits %q (%v), want none", got, err)
	}
}
