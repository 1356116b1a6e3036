package config

import (
	"slices"
	"testing"

	"github.com/loopstart/loopstart/dsp"
)

// TestCountriesMatchProfiles: <country> accepts exactly the countries that
// have a tone profile.
func TestCountriesMatchProfiles(t *testing.T) {
	if got, want := Countries(), dsp.Countries(); !slices.Equal(got, want) {
		t.Errorf("config.Countries() = %v, dsp.Countries() = %v", got, want)
	}
}
