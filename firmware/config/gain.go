package config

import (
	"math"
	"strconv"
)

// MinGain and MaxGain bound a port's <tx-gain> and <rx-gain> in dB.
const (
	MinGain = -12.0
	MaxGain = 12.0
)

// parseGain reads a gain in dB: empty is 0; otherwise a decimal number in
// MinGain..MaxGain, a whole multiple of 0.5.
func parseGain(v string) (float64, bool) {
	if v == "" {
		return 0, true
	}
	g, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(g) || g < MinGain || g > MaxGain || g*2 != math.Trunc(g*2) {
		return 0, false
	}
	return g, true
}

// Gains returns the port's TX and RX gains in dB (0 for an empty or bad
// value; validation reports bad ones).
func (p *Port) Gains() (tx, rx float64) {
	tx, _ = parseGain(p.TXGain)
	rx, _ = parseGain(p.RXGain)
	return tx, rx
}

// checkGains checks a port's gains.
func checkGains(m *mapper, i int, p Port) {
	for _, g := range []struct{ name, v string }{{"tx-gain", p.TXGain}, {"rx-gain", p.RXGain}} {
		if _, ok := parseGain(g.v); !ok {
			m.add(sectPort, i, g.name, g.name, 0, "%q is not a gain in dB from %v to %v in steps of 0.5", g.v, MinGain, MaxGain)
		}
	}
}
