package line

import (
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// TestRingCadence: a ring burst counts when its length fits the country's
// ring (a double ring's short pause bridged, as the DAA reports it) and,
// after the first, the pause before it fits too.
func TestRingCadence(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		country      string
		burst, pause time.Duration // pause < 0: the first burst
		want         bool
	}{
		{"us", ms(2100), -1, true},
		{"us", ms(1600), -1, true},
		{"us", ms(2850), ms(3900), true},
		{"us", ms(1000), -1, false}, // a German ring
		{"us", ms(400), -1, false},  // a short burst
		{"us", ms(150), -1, false},  // a ring pulse
		{"us", ms(3500), -1, false}, // too long
		{"us", ms(2000), ms(900), false},
		{"uk", ms(1100), -1, true}, // 400 + 200 + 400, the time-out bridging the pause
		{"uk", ms(1100), ms(1900), true},
		{"uk", ms(400), -1, false}, // one half of a double ring
		{"uk", ms(2100), -1, false},
		{"de", ms(1100), ms(3900), true},
		{"de", ms(2100), -1, false},
	}
	for _, tc := range tests {
		p, err := dsp.LookupProfile(tc.country)
		if err != nil {
			t.Fatal(err)
		}
		rc := newRingCadence(p.RingCadence)
		if got := rc.fits(tc.burst, tc.pause); got != tc.want {
			t.Errorf("%s: burst %v after %v: fits %v, want %v (%+v)", tc.country, tc.burst, tc.pause, got, tc.want, rc)
		}
	}
}

// TestRingCadenceEmpty: without a cadence any burst from fxoMinRing on
// counts.
func TestRingCadenceEmpty(t *testing.T) {
	rc := newRingCadence(nil)
	for _, tc := range []struct {
		burst time.Duration
		want  bool
	}{{100 * time.Millisecond, false}, {fxoMinRing, true}, {10 * time.Second, true}} {
		if got := rc.fits(tc.burst, -1); got != tc.want {
			t.Errorf("burst %v: %v, want %v", tc.burst, got, tc.want)
		}
	}
}
