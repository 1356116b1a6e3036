package dsp

import "testing"

func TestConfirmTone(t *testing.T) {
	for _, c := range []string{"us", "de", "gb", "jp"} {
		p, err := LookupProfile(c)
		if err != nil {
			t.Fatal(err)
		}
		tone := ConfirmTone(p)
		if tone.Freqs != p.Dial.Freqs || tone.Level != p.Dial.Level || len(tone.Cadence) != 6 {
			t.Errorf("%s: confirm tone %+v does not stutter the dial tone %+v", c, tone, p.Dial)
		}
	}
	if ConfirmTone(nil).Freqs[0] != 0 {
		t.Error("nil profile gives a tone")
	}
}
