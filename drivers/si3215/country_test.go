package si3215_test

import (
	"math"
	"slices"
	"testing"

	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/dsp"
)

// TestCountriesMatchProfiles: the SLIC table knows exactly the countries
// the tone profiles know, and rings at the same frequency.
func TestCountriesMatchProfiles(t *testing.T) {
	if got, want := si3215.Countries(), dsp.Countries(); !slices.Equal(got, want) {
		t.Fatalf("si3215.Countries() = %v, dsp.Countries() = %v", got, want)
	}
	for _, cc := range dsp.Countries() {
		p, err := dsp.LookupProfile(cc)
		if err != nil {
			t.Fatal(err)
		}
		c, err := si3215.LookupCountry(cc)
		if err != nil {
			t.Fatal(err)
		}
		if float64(c.RingHz) != p.RingHz {
			t.Errorf("%s: SLIC rings at %d Hz, profile at %v Hz", cc, c.RingHz, p.RingHz)
		}
	}
}

// TestCountryRingOnChip: for every country, the driver programs the chip
// model so that the model's own reading of its ringing oscillator and
// impedance registers gives the country's frequency, voltage and line
// impedance.
func TestCountryRingOnChip(t *testing.T) {
	const (
		etsi  = "270+(750||150nF)"
		auNZ  = "220+(820||120nF)"
		china = "200+(680||100nF)"
	)
	impedance := map[string]string{
		"us": "600", "ca": "600", "mx": "600", "jp": "600", "in": "600", "ru": "600",
		"br": "900", "au": auNZ, "nz": auNZ, "cn": china,
		"uk": etsi, "de": etsi, "fr": etsi, "nl": etsi, "it": etsi, "es": etsi,
		"se": etsi, "ch": etsi, "be": etsi, "at": etsi, "pl": etsi,
	}
	for _, cc := range dsp.Countries() {
		t.Run(cc, func(t *testing.T) {
			p, err := dsp.LookupProfile(cc)
			if err != nil {
				t.Fatal(err)
			}
			c, err := si3215.LookupCountry(cc)
			if err != nil {
				t.Fatal(err)
			}
			// As board/hw opens a port: the country, and the profile's ring frequency.
			r := mustRig(t, si3215.Opts{Country: cc, RingHz: int(p.RingHz)}, false)
			ring := r.chip.Ringing()
			if math.Abs(ring.Hz-p.RingHz) > 0.05 {
				t.Errorf("chip rings at %.3f Hz, want %v", ring.Hz, p.RingHz)
			}
			if math.Abs(ring.VoltsPeak-float64(c.RingVoltsPeak)) > 0.5 {
				t.Errorf("chip rings at %.2f V peak, want %d", ring.VoltsPeak, c.RingVoltsPeak)
			}
			if ring.VoltsPeak < 60 || ring.VoltsPeak > 90 {
				t.Errorf("ringing %.1f V peak outside 60-90 V", ring.VoltsPeak)
			}
			if ring.OffsetVolts != float64(c.RingDCOffsetVolts) {
				t.Errorf("ringing offset %v V, want %d", ring.OffsetVolts, c.RingDCOffsetVolts)
			}
			if ring.Clipped() {
				t.Errorf("ringing %+v clips at the battery", ring)
			}
			want, ok := impedance[cc]
			if !ok {
				t.Fatalf("no expected impedance for %s", cc)
			}
			if got := r.chip.Impedance(); got != want {
				t.Errorf("line impedance %s (reg10 = %d), want %s", got, r.chip.Reg(10), want)
			}
		})
	}
}
