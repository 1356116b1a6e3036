package si3215

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Country is the per-country line setup of an FXS port: ringing signal,
// two-wire impedance and audio gains.
type Country struct {
	// Name is the table key ("us", "uk", ...).
	Name string
	// RingHz is the ringing frequency; callers with a tone profile
	// (dsp.LookupProfile(c).RingHz) pass that one in Opts.RingHz.
	RingHz int
	// RingVoltsPeak is the ringing amplitude in volts peak (at most 90).
	RingVoltsPeak int
	// RingDCOffsetVolts is a DC offset added to the ringing signal (for
	// ringers that need one; 0 for most lines).
	RingDCOffsetVolts int
	// Impedance is register 10 bits 2:0, the two-wire impedance synthesis:
	// 0 600 Ω, 1 900 Ω, 2 600 Ω + 2.16 µF, 3 900 Ω + 2.16 µF,
	// 4 270 Ω + (750 Ω || 150 nF) (ETSI ES 201 970 / TBR21),
	// 5 220 Ω + (820 Ω || 120 nF) (Australia, New Zealand),
	// 6 220 Ω + (820 Ω || 115 nF), 7 200 Ω + (680 Ω || 100 nF) (China).
	// [U] codes 2-7 (the Si3210 family's table as DAHDI's drivers use it).
	Impedance byte
	// RXGainDB and TXGainDB are the digital gains (indirect 13/14), in dB
	// (-18..+6).
	RXGainDB, TXGainDB float64
}

// Two-wire impedance codes (Country.Impedance).
const (
	imp600   = 0
	imp900   = 1
	impETSI  = 4
	impAU    = 5
	impChina = 7
)

// countries is the FXS country table, one entry per dsp.Countries code
// (a test holds them together). Ring frequencies follow the countries'
// ringing signals (ITU-T Q.35 and the national standards; the same as
// the tone profiles' RingHz); amplitudes stay inside the ProSLIC's 90 V
// peak with the battery it can make. docs/COUNTRIES.md gives the sources.
var countries = map[string]Country{
	"us": {Name: "us", RingHz: 20, RingVoltsPeak: 85, Impedance: imp600},
	"ca": {Name: "ca", RingHz: 20, RingVoltsPeak: 85, Impedance: imp600},
	"mx": {Name: "mx", RingHz: 20, RingVoltsPeak: 85, Impedance: imp600},
	"uk": {Name: "uk", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"de": {Name: "de", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"fr": {Name: "fr", RingHz: 50, RingVoltsPeak: 80, Impedance: impETSI},
	"nl": {Name: "nl", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"it": {Name: "it", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"es": {Name: "es", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"se": {Name: "se", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"ch": {Name: "ch", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"be": {Name: "be", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"at": {Name: "at", RingHz: 50, RingVoltsPeak: 80, Impedance: impETSI},
	"pl": {Name: "pl", RingHz: 25, RingVoltsPeak: 80, Impedance: impETSI},
	"ru": {Name: "ru", RingHz: 25, RingVoltsPeak: 80, Impedance: imp600},
	"au": {Name: "au", RingHz: 25, RingVoltsPeak: 80, Impedance: impAU},
	"nz": {Name: "nz", RingHz: 25, RingVoltsPeak: 80, Impedance: impAU},
	"in": {Name: "in", RingHz: 25, RingVoltsPeak: 80, Impedance: imp600},
	"br": {Name: "br", RingHz: 25, RingVoltsPeak: 80, Impedance: imp900},
	"jp": {Name: "jp", RingHz: 16, RingVoltsPeak: 75, Impedance: imp600},
	"cn": {Name: "cn", RingHz: 25, RingVoltsPeak: 80, Impedance: impChina},
}

// Countries lists the country codes LookupCountry knows, sorted.
func Countries() []string {
	names := make([]string, 0, len(countries))
	for k := range countries {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// LookupCountry returns the FXS settings for a country code, one of
// Countries (case-insensitive; "gb" is "uk").
func LookupCountry(code string) (Country, error) {
	k := strings.ToLower(strings.TrimSpace(code))
	if k == "gb" {
		k = "uk"
	}
	c, ok := countries[k]
	if !ok {
		return Country{}, fmt.Errorf("si3215: unknown country %q (known: %s)", code, strings.Join(Countries(), ", "))
	}
	return c, nil
}

// RingAmplitude returns RNGX (indirect 8) for a ringing signal of vpk volts
// peak at hz: AN35's ringing oscillator formula
// RNGX = 2^15 * 1/4 * sqrt((1-c)/(1+c)) * vpk/96 with c = cos(2*pi*hz/1000).
// 89 V at 20 Hz gives 0x1DE, next to the 0x1D1 DAHDI documents as "89 Vpk".
func RingAmplitude(hz, vpk int) uint16 {
	c := math.Cos(2 * math.Pi * float64(hz) / 1000)
	v := 32768 * 0.25 * math.Sqrt((1-c)/(1+c)) * float64(vpk) / 96
	return uint16(math.Round(min(v, 0x7FFF)))
}

// RingOffset returns indirect 6 (ringing voltage offset) for volts DC:
// 2^15 * volts / 96, two's complement.
func RingOffset(volts int) uint16 {
	return uint16(int16(math.Round(32768 * float64(volts) / 96)))
}

// vbathFor returns register 74 (VBATH, 1.5 V/LSB) for a ringing signal of
// vpk with offset, plus 5 V headroom, at least the reset value 0x32 (75 V)
// and at most 0x3F (94.5 V).
func vbathFor(vpk, offset int) byte {
	if offset < 0 {
		offset = -offset
	}
	v := int(math.Ceil(float64(vpk+offset+5) / 1.5))
	return byte(min(max(v, 0x32), 0x3F))
}

// gainReg returns a digital gain register value for dB (0x4000 = 0 dB).
func gainReg(db float64) uint16 {
	return uint16(math.Round(min(0x4000*math.Pow(10, db/20), 0x7FFF)))
}
