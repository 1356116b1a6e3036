package si3050

import (
	"fmt"
	"sort"
	"strings"
)

// Country holds the line-interface settings a country's PSTN needs (the
// datasheet's country-specific register table).
type Country struct {
	// Name is the table key ("fcc", "tbr21", "uk", ...).
	Name string
	// OHS (register 16 bit 6) and OHS2 (register 31 bit 3) select the
	// on-hook speed (spark quenching): 0/0 under 0.5 ms, 1/0 3 ms, 0/1
	// 26 ms (the TBR21 countries).
	OHS, OHS2 bool
	// RZ (register 16 bit 1) selects a synthesized ringer impedance.
	RZ bool
	// RT and RT2 (register 16 bit 0, register 17 bit 4) select the ring
	// detect threshold: neither 13.5-16.5 Vrms, RT 19.35-23.65 Vrms, both
	// 40.5-49.5 Vrms.
	RT, RT2 bool
	// ILIM (register 26 bit 1) limits the DC loop current to 60 mA (TBR21).
	ILIM bool
	// DCV (register 26 bits 7:6) sets the DC termination voltage: 0 3.1 V,
	// 1 3.2 V, 2 3.35 V, 3 3.5 V.
	DCV uint8
	// MINI (register 26 bits 5:4) sets the minimum operating loop current:
	// 0 10 mA, 1 12 mA, 2 14 mA, 3 16 mA.
	MINI uint8
	// ACIM (register 30 bits 3:0) selects the AC termination: 0 600 Ω,
	// 2 270 Ω + (750 Ω || 150 nF) (TBR21), 3 220 Ω + (820 Ω || 120 nF),
	// 4 370 Ω + (620 Ω || 310 nF) (New Zealand, India), 5 320 Ω +
	// (1050 Ω || 230 nF) (UK), 15 the global complex impedance. [U] code 4.
	ACIM uint8
}

// countries is the country table: the datasheet's settings for each
// administration, keyed by the names Opts.Country takes, as DAHDI's
// fxo_modes table collects them (docs/COUNTRIES.md). "us" and "fcc" are
// the same entry, as are the ISO codes and the long names; every tone
// profile country (dsp.Countries) has an entry or an alias.
var countries = map[string]Country{
	"fcc":   {Name: "fcc", RT: true, DCV: 3},
	"tbr21": {Name: "tbr21", ILIM: true, DCV: 3, ACIM: 2},
	"uk":    {Name: "uk", OHS2: true, ILIM: true, DCV: 3, ACIM: 5},
	"de":    {Name: "de", OHS2: true, ILIM: true, DCV: 3, ACIM: 3},
	"fr":    {Name: "fr", OHS2: true, ILIM: true, DCV: 3, ACIM: 2},
	"jp":    {Name: "jp", MINI: 3},
	"cn":    {Name: "cn", MINI: 3, ACIM: 15},
	"at":    {Name: "at", OHS2: true, ILIM: true, DCV: 3, ACIM: 3},
	"au":    {Name: "au", OHS: true, MINI: 3, ACIM: 3},
	"be":    {Name: "be", OHS2: true, ILIM: true, DCV: 3, ACIM: 2},
	"br":    {Name: "br", MINI: 3},
	"ch":    {Name: "ch", OHS2: true, ILIM: true, DCV: 3, ACIM: 2},
	"es":    {Name: "es", OHS2: true, ILIM: true, DCV: 3, ACIM: 2},
	"in":    {Name: "in", DCV: 3, ACIM: 4},
	"it":    {Name: "it", OHS2: true, ILIM: true, DCV: 3, ACIM: 2},
	"mx":    {Name: "mx", DCV: 3},
	"nl":    {Name: "nl", OHS2: true, ILIM: true, DCV: 3, ACIM: 2},
	"nz":    {Name: "nz", DCV: 3, ACIM: 4},
	"pl":    {Name: "pl", RZ: true, RT: true, DCV: 3},
	"ru":    {Name: "ru", MINI: 3},
	"se":    {Name: "se", OHS2: true, ILIM: true, DCV: 3, ACIM: 2},
}

var countryAliases = map[string]string{
	"us": "fcc", "usa": "fcc", "ca": "fcc", "canada": "fcc",
	"gb": "uk", "germany": "de", "france": "fr", "japan": "jp", "china": "cn",
	"eu": "tbr21",
}

// LookupCountry returns the settings for a country name or code (case
// insensitive): fcc (us, ca), tbr21 (eu), or an ISO code of Countries.
func LookupCountry(name string) (Country, error) {
	k := strings.ToLower(strings.TrimSpace(name))
	if a, ok := countryAliases[k]; ok {
		k = a
	}
	c, ok := countries[k]
	if !ok {
		return Country{}, fmt.Errorf("si3050: unknown country %q (known: %s)", name, strings.Join(Countries(), ", "))
	}
	return c, nil
}

// Countries lists the table's keys, sorted.
func Countries() []string {
	out := make([]string, 0, len(countries))
	for k := range countries {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// registers returns the country's values of registers 16, 17 (RT2 only),
// 26, 30 and 31 (OHS2 only); the caller merges them with its other bits.
func (c Country) registers() (r16, r17, r26, r30, r31 byte) {
	if c.OHS {
		r16 |= 0x40
	}
	if c.RZ {
		r16 |= 0x02
	}
	if c.RT {
		r16 |= 0x01
	}
	if c.RT2 {
		r17 |= 0x10
	}
	r26 = (c.DCV&3)<<6 | (c.MINI&3)<<4
	if c.ILIM {
		r26 |= 0x02
	}
	r30 = c.ACIM & 0x0F
	if c.OHS2 {
		r31 |= 0x08
	}
	return
}
