package dsp

import "time"

// ConfirmTone returns the tone a line plays when a feature code took
// effect: the country's dial tone in three 100 ms bursts (the stutter
// Grandstream and Cisco adapters use), then silence until the cadence
// repeats a second later. A profile without a dial tone gives a zero Tone.
func ConfirmTone(p *Profile) Tone {
	if p == nil || p.Dial.Freqs[0] == 0 {
		return Tone{}
	}
	t := p.Dial
	t.Name = "confirm"
	t.ModHz = 0
	b := 100 * time.Millisecond
	t.Cadence = []time.Duration{b, b, b, b, b, 500 * time.Millisecond}
	return t
}
