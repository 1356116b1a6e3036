package dsp

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Profile is a country's set of call-progress tones, its ringing signal,
// its caller-ID signalling and its hook-flash window. docs/COUNTRIES.md
// gives each value's source.
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
	// FlashMin and FlashMax bound the country's hook flash (register
	// recall): a break shorter than FlashMin is a glitch, one of FlashMax
	// or longer a hang-up. A line uses them when its own config sets none.
	FlashMin, FlashMax time.Duration
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

// Countries lists the country codes LookupProfile knows, sorted: the one
// list every per-country table in the firmware (the SLIC's and the DAA's
// line settings, the config schema, the web UI) is checked against.
func Countries() []string {
	out := make([]string, 0, len(profiles))
	for c := range profiles {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

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

func dual(name string, f1, f2, level float64, cadence []time.Duration) Tone {
	return Tone{Name: name, Freqs: [2]float64{f1, f2}, Level: level, Cadence: cadence}
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

// Hook-flash windows.
var (
	// nanpFlash is the North American window, 300-1100 ms: Telcordia
	// practice as the common ATAs ship it (Grandstream P251/P252).
	nanpFlash = ms(300, 1100)
	// recallFlash is the European timed-break recall: a 100 ms nominal
	// break, recognised from 80 ms up to 130 ms (ETSI EG 201 188 and
	// ES 201 970 register recall; BT SIN 351).
	recallFlash = ms(80, 130)
	// genericFlash is the window the line used before profiles carried
	// one (DAHDI's 1250 ms flash limit), kept for the countries whose
	// window is unverified.
	genericFlash = ms(100, 1250)
)

// Caller-ID signalling per country.
var (
	cidBell = CallerIDSignal{Standard: CallerIDBell202, Alert: AlertAfterFirstRing}
	cidV23  = CallerIDSignal{Standard: CallerIDV23, Alert: AlertAfterFirstRing}
	cidDTAS = CallerIDSignal{Standard: CallerIDV23, Alert: AlertLineReversalDTAS}
	cidRP   = CallerIDSignal{Standard: CallerIDV23, Alert: AlertRingPulse}
	cidDTMF = CallerIDSignal{Standard: CallerIDDTMF, Alert: AlertBeforeRing}
)

// etsi builds the profile of a country with single-frequency tones at f
// (the ITU-T E.180 recommended 425 Hz in most of Europe), whose dial tone
// is continuous unless dial is set.
type etsi struct {
	f                           float64
	ringback, busy, reorder, cw []int
	dial                        []int // dial tone cadence, nil for continuous
	ring                        []int
	hz                          float64
	cid                         CallerIDSignal
	flash                       []time.Duration
}

func (e etsi) profile(c string) *Profile {
	return &Profile{
		Country:     c,
		Dial:        single("dial", e.f, etcDial, msOrNil(e.dial)),
		Ringback:    single("ringback", e.f, etcTone, ms(e.ringback...)),
		Busy:        single("busy", e.f, etcTone, ms(e.busy...)),
		Reorder:     single("reorder", e.f, etcTone, ms(e.reorder...)),
		CallWaiting: single("callwaiting", e.f, etcTone, ms(e.cw...)),
		Stutter:     single("stutter", e.f, etcDial, stutterCadence()),
		RingCadence: ms(e.ring...),
		RingHz:      e.hz,
		CallerID:    e.cid,
		FlashMin:    e.flash[0],
		FlashMax:    e.flash[1],
	}
}

func msOrNil(v []int) []time.Duration {
	if len(v) == 0 {
		return nil
	}
	return ms(v...)
}

// profiles builds each country's profile. Tones and ring cadences are
// those of ITU-T E.180 Supplement 2 as collected in Asterisk's
// indications.conf.sample; call-waiting tones US 440 Hz 0.3 s (GR-506),
// UK 400 Hz 0.1 s every 4 s (BT SIN 350), the others from the same
// collection. Every profile's stutter dial tone is its dial tone with ten
// 100/100 ms interruptions.
var profiles = map[string]func(c string) *Profile{
	"us": nanp,
	"ca": nanp,
	"uk": func(c string) *Profile {
		return &Profile{
			Country:     c,
			Dial:        dual("dial", 350, 440, etcDial, nil),
			Ringback:    dual("ringback", 400, 450, etcTone, ms(400, 200, 400, 2000)),
			Busy:        single("busy", 400, etcTone, ms(375, 375)),
			Reorder:     single("reorder", 400, etcTone, ms(400, 350, 225, 525)),
			CallWaiting: single("callwaiting", 400, etcTone, ms(100, 4000)),
			Stutter:     dual("stutter", 350, 440, etcDial, stutterCadence()),
			RingCadence: ms(400, 200, 400, 2000),
			RingHz:      25,
			CallerID:    cidDTAS,
			FlashMin:    recallFlash[0],
			FlashMax:    recallFlash[1],
		}
	},
	"de": etsi{f: 425, ringback: []int{1000, 4000}, busy: []int{480, 480}, reorder: []int{240, 240},
		cw: []int{200, 200, 200, 5000}, ring: []int{1000, 4000}, hz: 25, cid: cidV23, flash: recallFlash}.profile,
	"fr": etsi{f: 440, ringback: []int{1500, 3500}, busy: []int{500, 500}, reorder: []int{250, 250},
		cw: []int{300, 10000}, ring: []int{1500, 3500}, hz: 50, cid: cidV23, flash: recallFlash}.profile,
	"jp": func(c string) *Profile {
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
			FlashMin:    genericFlash[0],
			FlashMax:    genericFlash[1],
		}
	},
	"cn": etsi{f: 450, ringback: []int{1000, 4000}, busy: []int{350, 350}, reorder: []int{700, 700},
		cw: []int{400, 4000}, ring: []int{1000, 4000}, hz: 25, cid: cidBell, flash: genericFlash}.profile,
	"au": func(c string) *Profile {
		return &Profile{
			Country:     c,
			Dial:        dual("dial", 413, 438, etcDial, nil),
			Ringback:    dual("ringback", 413, 438, etcTone, ms(400, 200, 400, 2000)),
			Busy:        single("busy", 425, etcTone, ms(375, 375)),
			Reorder:     single("reorder", 425, etcTone, ms(375, 375)),
			CallWaiting: single("callwaiting", 425, etcTone, ms(200, 200, 200, 4400)),
			Stutter:     dual("stutter", 413, 438, etcDial, stutterCadence()),
			RingCadence: ms(400, 200, 400, 2000),
			RingHz:      25,
			CallerID:    cidDTAS,
			FlashMin:    recallFlash[0],
			FlashMax:    recallFlash[1],
		}
	},
	"nz": func(c string) *Profile {
		return &Profile{
			Country:     c,
			Dial:        single("dial", 400, etcDial, nil),
			Ringback:    dual("ringback", 400, 450, etcTone, ms(400, 200, 400, 2000)),
			Busy:        single("busy", 400, etcTone, ms(500, 500)),
			Reorder:     single("reorder", 400, etcTone, ms(250, 250)),
			CallWaiting: single("callwaiting", 400, etcTone, ms(200, 3000)),
			Stutter:     single("stutter", 400, etcDial, stutterCadence()),
			RingCadence: ms(400, 200, 400, 2000),
			RingHz:      25,
			CallerID:    cidDTAS,
			FlashMin:    recallFlash[0],
			FlashMax:    recallFlash[1],
		}
	},
	"in": func(c string) *Profile {
		dial := single("dial", 400, etcDial, nil)
		dial.ModHz = 25
		rb := single("ringback", 400, etcTone, ms(400, 200, 400, 2000))
		rb.ModHz = 25
		st := single("stutter", 400, etcDial, stutterCadence())
		st.ModHz = 25
		return &Profile{
			Country:     c,
			Dial:        dial,
			Ringback:    rb,
			Busy:        single("busy", 400, etcTone, ms(750, 750)),
			Reorder:     single("reorder", 400, etcTone, ms(250, 250)),
			CallWaiting: single("callwaiting", 400, etcTone, ms(200, 100, 200, 7500)),
			Stutter:     st,
			RingCadence: ms(400, 200, 400, 2000),
			RingHz:      25,
			CallerID:    cidDTMF,
			FlashMin:    genericFlash[0],
			FlashMax:    genericFlash[1],
		}
	},
	"nl": etsi{f: 425, ringback: []int{1000, 4000}, busy: []int{500, 500}, reorder: []int{250, 250},
		cw: []int{500, 9500}, ring: []int{1000, 4000}, hz: 25, cid: cidDTMF, flash: recallFlash}.profile,
	"it": etsi{f: 425, dial: []int{200, 200, 600, 1000}, ringback: []int{1000, 4000}, busy: []int{500, 500},
		reorder: []int{200, 200}, cw: []int{400, 100, 250, 100, 150, 14000}, ring: []int{1000, 4000}, hz: 25,
		cid: cidDTAS, flash: recallFlash}.profile,
	"es": etsi{f: 425, ringback: []int{1500, 3000}, busy: []int{200, 200}, reorder: []int{200, 200, 200, 200, 200, 600},
		cw: []int{175, 175, 175, 3500}, ring: []int{1500, 3000}, hz: 25, cid: cidRP, flash: recallFlash}.profile,
	"br": etsi{f: 425, ringback: []int{1000, 4000}, busy: []int{250, 250}, reorder: []int{250, 250, 750, 250},
		cw: []int{50, 1000}, ring: []int{1000, 4000}, hz: 25,
		cid: CallerIDSignal{Standard: CallerIDDTMF, Alert: AlertAfterFirstRing}, flash: genericFlash}.profile,
	"se": etsi{f: 425, ringback: []int{1000, 5000}, busy: []int{250, 250}, reorder: []int{250, 750},
		cw: []int{200, 500, 200, 9100}, ring: []int{1000, 5000}, hz: 25, cid: cidDTMF, flash: recallFlash}.profile,
	"ch": etsi{f: 425, ringback: []int{1000, 4000}, busy: []int{500, 500}, reorder: []int{200, 200},
		cw: []int{200, 200, 200, 4000}, ring: []int{1000, 4000}, hz: 25, cid: cidV23, flash: recallFlash}.profile,
	"be": func(c string) *Profile {
		p := etsi{f: 425, ringback: []int{1000, 3000}, busy: []int{500, 500}, reorder: []int{167, 167},
			ring: []int{1000, 3000}, hz: 25, cid: cidDTMF, flash: recallFlash, cw: []int{175, 175, 175, 3500}}.profile(c)
		p.CallWaiting.Freqs[0] = 1400
		return p
	},
	"at": etsi{f: 420, ringback: []int{1000, 5000}, busy: []int{400, 400}, reorder: []int{200, 200},
		cw: []int{40, 1960}, ring: []int{1000, 5000}, hz: 50, cid: cidV23, flash: recallFlash}.profile,
	"pl": etsi{f: 425, ringback: []int{1000, 4000}, busy: []int{500, 500}, reorder: []int{500, 500},
		cw: []int{150, 150, 150, 4000}, ring: []int{1000, 4000}, hz: 25, cid: cidV23, flash: recallFlash}.profile,
	"ru": etsi{f: 425, ringback: []int{1000, 4000}, busy: []int{350, 350}, reorder: []int{175, 175},
		cw: []int{200, 5000}, ring: []int{1000, 4000}, hz: 25, cid: cidV23, flash: genericFlash}.profile,
	"mx": etsi{f: 425, ringback: []int{1000, 4000}, busy: []int{250, 250}, reorder: []int{250, 250},
		cw: []int{200, 600, 200, 10000}, ring: []int{2000, 4000}, hz: 20, cid: cidBell, flash: nanpFlash}.profile,
}

// nanp is the North American profile (us, ca).
func nanp(c string) *Profile {
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
		CallerID:    cidBell,
		FlashMin:    nanpFlash[0],
		FlashMax:    nanpFlash[1],
	}
}

// countryAliases maps other spellings to a profile's code.
var countryAliases = map[string]string{"gb": "uk"}

// LookupProfile returns a fresh copy of the profile for a country code
// (case-insensitive; "gb" is "uk"), one of Countries. Unknown countries give
// an error wrapping ErrUnknownCountry that names the country.
func LookupProfile(country string) (*Profile, error) {
	c := strings.ToLower(strings.TrimSpace(country))
	if a, ok := countryAliases[c]; ok {
		c = a
	}
	if mk, ok := profiles[c]; ok {
		return mk(c), nil
	}
	return nil, fmt.Errorf("tone profile for country %q: %w", country, ErrUnknownCountry)
}
