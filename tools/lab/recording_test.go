package lab

import (
	"fmt"
	"path/filepath"
	"testing"
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
