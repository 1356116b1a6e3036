package sim

import (
	"testing"
	"time"
)

// TestPhoneQuietReceivers: after a spell of digital silence the phone's
// receivers skip silent frames, and what comes after the silence is still
// heard: DTMF off hook and on hook, after short and long silences, digits
// split by a silence longer than the skip threshold, and nothing is
// allocated while the receivers skip.
func TestPhoneQuietReceivers(t *testing.T) {
	tests := []struct {
		name    string
		hook    string
		silence int // frames of silence before each group of digits
		groups  []string
		want    string
	}{
		{"off hook, no silence to speak of", "off", 2, []string{"42"}, "42"},
		{"off hook, exactly the threshold", "off", phoneQuiet, []string{"42"}, "42"},
		{"off hook, after 5 s of silence", "off", 500, []string{"1590"}, "1590"},
		{"off hook, groups split by long silences", "off", 300, []string{"12", "34", "#*"}, "1234#*"},
		{"on hook (DTMF caller ID's tones), after 5 s", "on", 500, []string{"7"}, "7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig()
			if tc.hook == "off" {
				if err := r.p.SetHook("off"); err != nil {
					t.Fatal(err)
				}
			}
			var got []byte
			for _, g := range tc.groups {
				r.run(tc.silence)
				if err := r.keys.Queue(g, 60*time.Millisecond, 60*time.Millisecond, -10); err != nil {
					t.Fatal(err)
				}
				r.run(len(g)*12 + 5)
				r.p.mu.Lock()
				for i := range r.p.detLen {
					got = append(got, r.p.dets[(r.p.detPos-r.p.detLen+i+len(r.p.dets))%len(r.p.dets)].digit)
				}
				r.p.detPos, r.p.detLen = 0, 0
				r.p.mu.Unlock()
			}
			if string(got) != tc.want {
				t.Fatalf("detected %q, want %q", got, tc.want)
			}
			r.run(phoneQuiet + 1)
			if allocs := testing.AllocsPerRun(100, func() { r.step() }); allocs != 0 {
				t.Fatalf("%.1f allocations per silent frame", allocs)
			}
			if r.p.quiet < phoneQuiet {
				t.Fatalf("receivers not idle after %d silent frames (quiet %d)", phoneQuiet+101, r.p.quiet)
			}
		})
	}
}
