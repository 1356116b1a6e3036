package line

import (
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
)

// TestDigitMapAgreesWithConfig: a dial plan that firmware/config accepts
// must parse here, or a valid config would fail when applied.
func TestDigitMapAgreesWithConfig(t *testing.T) {
	for _, s := range []string{
		"(1xx)", "(1xx|[2-9]x.|0x.)", "x.", "(*xx|[2-9]xxxxxx|1xxxxxxxxxx)", "([135*#]x)",
		"(xxxT)", "(1xx", "1xx)", "()", "(x|)", "(.x)", "([9-2]x)", "([]x)", "(1a)", "(x..)",
		"(<9:1>xx)", "(x,x)", "(X.)", "( 1xx | 2xx )",
	} {
		cfgErr := config.CheckDialPlan(s)
		_, lineErr := ParseDigitMap(s)
		if (cfgErr == nil) && lineErr != nil {
			t.Errorf("%q: config accepts it but the line rejects it: %v", s, lineErr)
		}
	}
}

// FuzzDigitMapAgreesWithConfig looks for dial plans config accepts and the
// line cannot run.
func FuzzDigitMapAgreesWithConfig(f *testing.F) {
	for _, s := range []string{"(1xx|[2-9]x.)", "x.", "([0-9*#]x.)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if config.CheckDialPlan(s) == nil {
			if _, err := ParseDigitMap(s); err != nil {
				t.Fatalf("%q: config accepts it but the line rejects it: %v", s, err)
			}
		}
	})
}
