package dsp

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Profile is a country's set of call-progress tones and its ringing signal.
type Profile struct {
	// Country is the lower-case ISO 3166 code ("us").
	Country string
	// Dial, Ringback, Busy and Reorder (congestion) are the call-progress tones.
	Dial, Ringback, Busy, Reorder Tone
	// CallWaiting is the call-waiting tone; Stutter the message-waiting
	// (stutter) dial tone: interrupted dial tone that becomes steady.
	CallWaiting, Stutter Tone
	// RingCadence alternates ringing on and off durations; it repeats.
	RingCadence []time.Duration
	// RingHz is the ringing signal frequency.
	RingHz float64
	// CallerID is how the country sends caller ID to an on-hook phone.
	CallerID CallerIDSignal
}

// Caller-ID standards (CallerIDSignal.Standard).
const (
	CallerIDNone    = ""        // no caller ID
	CallerIDBell202 = "bell202" // Bell 202 FSK (Telcordia GR-30)
	CallerIDV23     = "v23"     // ITU-T V.23 FSK (ETSI EN 300 659-1)
	CallerIDDTMF    = "dtmf"    // DTMF (ETSI ES 200 778 style)
)

// Caller-ID alerting (CallerIDSignal.Alert): when and how the data goes
// out relative to ringing.
const (
	// AlertAfterFirstRing sends the data in the silent interval after
	// the first ring (GR-30, and the ETSI countries that do so).
	AlertAfterFirstRing = "after-first-ring"
	// AlertLineReversalDTAS reverses the line and sends the DT-AS dual
	// tone before the first ring (EN 300 659-1 5.2, BT SIN 227).
	AlertLineReversalDTAS = "line-reversal-dtas"
	// AlertRingPulse sends a short ring pulse before the data, which
	// goes before the first real ring (EN 300 659-1 RP-AS).
	AlertRingPulse = "ring-pulse"
	// AlertBeforeRing sends the data before the first ring with only a
	// line reversal (DTMF caller ID in several countries).
	AlertBeforeRing = "before-ring"
)

// CallerIDSignal is a country's on-hook caller-ID signalling.
type CallerIDSignal struct {
	// Standard is one of the CallerID* constants.
	Standard string
	// Alert is one of the Alert* constants.
	Alert string
}

// ErrUnknownCountry is returned (wrapped) by LookupProfile for a country
// without a profile.
var ErrUnknownCountry = errors.New("dsp: unknown country")

// Countries lists the country codes LookupProfile knows, sorted.
func Countries() []string { return []string{"cn", "de", "fr", "jp", "uk", "us"} }

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

// Levels. The US values follow the North American precise tone plan
// (dial −13, ringback −19, busy and reorder −24 dBm0 per frequency). The
// source table for the other countries gives no levels; they use −13 dBm0 for
// dial tone and −16 dBm0 for the others, inside the range ITU-T E.180 suggests.
const (
	usDial  = -13
	usRing  = -19
	usBusy  = -24
	etcDial = -13
	etcTone = -16
)

func single(name string, f, level float64, cadence []time.Duration) Tone {
	return Tone{Name: name, Freqs: [2]float64{f, 0}, Level: level, Cadence: cadence}
}

// stutterCadence is ten 100 ms / 100 ms interruptions, then steady tone
// (an hour-long "on" segment), the North American message-waiting dial tone
// (Telcordia GR-506) also used by the other profiles.
func stutterCadence() []time.Duration {
	v := make([]int, 0, 21)
	for range 10 {
		v = append(v, 100, 100)
	}
	return ms(append(v, 3600000)...)
}

func dual(name string, f1, f2, level float64, cadence []time.Duration) Tone {
	return Tone{Name: name, Freqs: [2]float64{f1, f2}, Level: level, Cadence: cadence}
}

// LookupProfile returns a fresh copy of the tone profile for a country code
// (case-insensitive): us, uk, de, fr, jp or cn. Frequencies and cadences are
// those of ITU-T E.180 Supplement 2 as collected in Asterisk's
// indications.conf.sample. Call-waiting tones: US 440 Hz 0.3 s (GR-506),
// UK 400 Hz 0.1 s every 4 s (BT SIN 350), the others from the same
// collection; every profile's stutter dial tone is its dial tone with ten
// 100/100 ms interruptions. Unknown countries give an error wrapping
// ErrUnknownCountry that names the country.
func LookupProfile(country string) (*Profile, error) {
	c := strings.ToLower(strings.TrimSpace(country))
	switch c {
	case "us":
		return &Profile{
			Country:     c,
			Dial:        dual("dial", 350, 440, usDial, nil),
			Ringback:    dual("ringback", 440, 480, usRing, ms(2000, 4000)),
			Busy:        dual("busy", 480, 620, usBusy, ms(500, 500)),
			Reorder:     dual("reorder", 480, 620, usBusy, ms(250, 250)),
			CallWaiting: single("callwaiting", 440, usDial, ms(300, 9700)),
			Stutter:     dual("stutter", 350, 440, usDial, stutterCadence()),
			RingCadence: ms(2000, 4000),
			RingHz:      20,
			CallerID:    CallerIDSignal{Standard: CallerIDBell202, Alert: AlertAfterFirstRing},
		}, nil
	case "uk", "gb":
		return &Profile{
			Country:     "uk",
			Dial:        dual("dial", 350, 440, etcDial, nil),
			Ringback:    dual("ringback", 400, 450, etcTone, ms(400, 200, 400, 2000)),
			Busy:        single("busy", 400, etcTone, ms(375, 375)),
			Reorder:     single("reorder", 400, etcTone, ms(400, 350, 225, 525)),
			CallWaiting: single("callwaiting", 400, etcTone, ms(100, 4000)),
			Stutter:     dual("stutter", 350, 440, etcDial, stutterCadence()),
			RingCadence: ms(400, 200, 400, 2000),
			RingHz:      25,
			CallerID:    CallerIDSignal{Standard: CallerIDV23, Alert: AlertLineReversalDTAS},
		}, nil
	case "de":
		return &Profile{
			Country:     c,
			Dial:        single("dial", 425, etcDial, nil),
			Ringback:    single("ringback", 425, etcTone, ms(1000, 4000)),
			Busy:        single("busy", 425, etcTone, ms(480, 480)),
			Reorder:     single("reorder", 425, etcTone, ms(240, 240)),
			CallWaiting: single("callwaiting", 425, etcTone, ms(200, 200, 200, 5000)),
			Stutter:     single("stutter", 425, etcDial, stutterCadence()),
			RingCadence: ms(1000, 4000),
			RingHz:      25,
			CallerID:    CallerIDSignal{Standard: CallerIDV23, Alert: AlertAfterFirstRing},
		}, nil
	case "fr":
		return &Profile{
			Country:     c,
			Dial:        single("dial", 440, etcDial, nil),
			Ringback:    single("ringback", 440, etcTone, ms(1500, 3500)),
			Busy:        single("busy", 440, etcTone, ms(500, 500)),
			Reorder:     single("reorder", 440, etcTone, ms(250, 250)),
			CallWaiting: single("callwaiting", 440, etcTone, ms(300, 10000)),
			Stutter:     single("stutter", 440, etcDial, stutterCadence()),
			RingCadence: ms(1500, 3500),
			RingHz:      50,
			CallerID:    CallerIDSignal{Standard: CallerIDV23, Alert: AlertAfterFirstRing},
		}, nil
	case "jp":
		rb := single("ringback", 400, etcTone, ms(1000, 2000))
		rb.ModHz = 16
		return &Profile{
			Country:     c,
			Dial:        single("dial", 400, etcDial, nil),
			Ringback:    rb,
			Busy:        single("busy", 400, etcTone, ms(500, 500)),
			Reorder:     single("reorder", 400, etcTone, ms(500, 500)),
			CallWaiting: single("callwaiting", 400, etcTone, ms(500, 8000)),
			Stutter:     single("stutter", 400, etcDial, stutterCadence()),
			RingCadence: ms(1000, 2000),
			RingHz:      16,
			CallerID:    CallerIDSignal{Standard: CallerIDV23, Alert: AlertBeforeRing},
		}, nil
	case "cn":
		return &Profile{
			Country:     c,
			Dial:        single("dial", 450, etcDial, nil),
			Ringback:    single("ringback", 450, etcTone, ms(1000, 4000)),
			Busy:        single("busy", 450, etcTone, ms(350, 350)),
			Reorder:     single("reorder", 450, etcTone, ms(700, 700)),
			CallWaiting: single("callwaiting", 450, etcTone, ms(400, 4000)),
			Stutter:     single("stutter", 450, etcDial, stutterCadence()),
			RingCadence: ms(1000, 4000),
			RingHz:      25,
			CallerID:    CallerIDSignal{Standard: CallerIDBell202, Alert: AlertAfterFirstRing},
		}, nil
	}
	return nil, fmt.Errorf("tone profile for country %q: %w", country, ErrUnknownCountry)
}
