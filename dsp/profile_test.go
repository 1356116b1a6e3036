package dsp

import (
	"slices"
	"testing"
	"time"
)

// TestProfilesPlausible checks every country's profile against the ranges
// the standards allow: tones between 300 and 2000 Hz (ITU-T E.180 uses
// 340-500 Hz for call progress, 1400 Hz for some call-waiting tones),
// cadences non-empty and positive, ringing 15-60 Hz in on/off pairs, a
// known caller-ID signalling and a flash window that a dial pulse (up to
// 120 ms) cannot swallow.
func TestProfilesPlausible(t *testing.T) {
	cs := Countries()
	if !slices.IsSorted(cs) || len(cs) < 12 {
		t.Fatalf("Countries() = %v", cs)
	}
	for _, must := range []string{"us", "uk", "de", "fr", "jp", "cn", "ca", "au", "nl", "it", "es", "br"} {
		if !slices.Contains(cs, must) {
			t.Errorf("Countries() lacks %q", must)
		}
	}
	standards := []string{CallerIDBell202, CallerIDV23, CallerIDDTMF}
	alerts := []string{AlertAfterFirstRing, AlertLineReversalDTAS, AlertRingPulse, AlertBeforeRing}
	for _, c := range cs {
		t.Run(c, func(t *testing.T) {
			p, err := LookupProfile(c)
			if err != nil {
				t.Fatal(err)
			}
			if p.Country != c {
				t.Errorf("Country = %q", p.Country)
			}
			tones := map[string]Tone{"dial": p.Dial, "ringback": p.Ringback, "busy": p.Busy,
				"reorder": p.Reorder, "callwaiting": p.CallWaiting, "stutter": p.Stutter}
			for name, tone := range tones {
				if tone.Name != name {
					t.Errorf("%s tone named %q", name, tone.Name)
				}
				if f := tone.Freqs[0]; f < 300 || f > 2000 {
					t.Errorf("%s tone at %v Hz", name, f)
				}
				if f := tone.Freqs[1]; f != 0 && (f < 300 || f > 2000) {
					t.Errorf("%s tone's second component at %v Hz", name, f)
				}
				if tone.Level > -3 || tone.Level < -30 {
					t.Errorf("%s tone at %v dBm0", name, tone.Level)
				}
				if tone.ModHz < 0 || tone.ModHz > 30 {
					t.Errorf("%s tone modulated at %v Hz", name, tone.ModHz)
				}
				for _, d := range tone.Cadence {
					if d <= 0 {
						t.Errorf("%s cadence %v has a non-positive step", name, tone.Cadence)
					}
				}
				if name != "dial" && len(tone.Cadence) == 0 {
					t.Errorf("%s tone is continuous", name)
				}
			}
			if len(p.Stutter.Cadence) < 3 || p.Stutter.Freqs != p.Dial.Freqs {
				t.Errorf("stutter %+v is not the interrupted dial tone %+v", p.Stutter, p.Dial)
			}
			if n := len(p.RingCadence); n == 0 || n%2 != 0 {
				t.Errorf("ring cadence %v", p.RingCadence)
			}
			var cycle time.Duration
			for _, d := range p.RingCadence {
				if d <= 0 {
					t.Errorf("ring cadence %v has a non-positive step", p.RingCadence)
				}
				cycle += d
			}
			if cycle < 2*time.Second || cycle > 8*time.Second {
				t.Errorf("ring cycle %v", cycle)
			}
			if p.RingHz < 15 || p.RingHz > 60 {
				t.Errorf("ringing at %v Hz", p.RingHz)
			}
			if !slices.Contains(standards, p.CallerID.Standard) || !slices.Contains(alerts, p.CallerID.Alert) {
				t.Errorf("caller ID %+v", p.CallerID)
			}
			if p.FlashMin < 50*time.Millisecond || p.FlashMax <= p.FlashMin || p.FlashMax <= 120*time.Millisecond || p.FlashMax > 1250*time.Millisecond {
				t.Errorf("flash window %v-%v", p.FlashMin, p.FlashMax)
			}
		})
	}
}

// TestProfileKnownValues pins the values the standards name outright.
func TestProfileKnownValues(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		country  string
		ringHz   float64
		cid      CallerIDSignal
		min, max time.Duration
	}{
		{"us", 20, CallerIDSignal{CallerIDBell202, AlertAfterFirstRing}, 300 * ms, 1100 * ms},
		{"ca", 20, CallerIDSignal{CallerIDBell202, AlertAfterFirstRing}, 300 * ms, 1100 * ms},
		{"uk", 25, CallerIDSignal{CallerIDV23, AlertLineReversalDTAS}, 80 * ms, 130 * ms},
		{"de", 25, CallerIDSignal{CallerIDV23, AlertAfterFirstRing}, 80 * ms, 130 * ms},
		{"fr", 50, CallerIDSignal{CallerIDV23, AlertAfterFirstRing}, 80 * ms, 130 * ms},
		{"nl", 25, CallerIDSignal{CallerIDDTMF, AlertBeforeRing}, 80 * ms, 130 * ms},
		{"jp", 16, CallerIDSignal{CallerIDV23, AlertBeforeRing}, 100 * ms, 1250 * ms},
	} {
		p, err := LookupProfile(tc.country)
		if err != nil {
			t.Fatal(err)
		}
		if p.RingHz != tc.ringHz || p.CallerID != tc.cid || p.FlashMin != tc.min || p.FlashMax != tc.max {
			t.Errorf("%s: ring %v Hz, caller ID %+v, flash %v-%v; want %v Hz, %+v, %v-%v",
				tc.country, p.RingHz, p.CallerID, p.FlashMin, p.FlashMax, tc.ringHz, tc.cid, tc.min, tc.max)
		}
	}
	gb, err := LookupProfile(" GB ")
	if err != nil || gb.Country != "uk" {
		t.Errorf("LookupProfile(GB) = %+v, %v", gb, err)
	}
}

func TestDistinctiveRing(t *testing.T) {
	for _, tc := range []struct {
		pattern int
		want    []time.Duration
	}{
		{0, nil},
		{1, nil},
		{2, ms(800, 400, 800, 4000)},
		{3, ms(400, 200, 400, 200, 800, 4000)},
		{4, ms(300, 200, 1000, 200, 300, 4000)},
		{5, ms(500, 3600000)},
		{6, nil},
		{-1, nil},
	} {
		got := DistinctiveRing(tc.pattern)
		if !slices.Equal(got, tc.want) {
			t.Errorf("DistinctiveRing(%d) = %v, want %v", tc.pattern, got, tc.want)
		}
		if len(got)%2 != 0 {
			t.Errorf("DistinctiveRing(%d) has odd length", tc.pattern)
		}
	}
}
