package model

import "math"

// RingSignal is the ringing signal the chip would put on the line with the
// registers the host has written, by the ringing oscillator formulas of
// Silicon Labs AN35: the oscillator runs at 1 kHz, the coefficient
// RCO (indirect 7) = 2^15 * cos(2*pi*f/1000), the amplitude RNGX
// (indirect 8) = 2^15 / 4 * sqrt((1-c)/(1+c)) * Vpk/96 with c = RCO/2^15,
// the offset (indirect 6) = 2^15 * V/96 in two's complement; the high
// battery VBATH (register 74) is 1.5 V per step.
type RingSignal struct {
	// Hz is the ringing frequency (0 when RCO gives none).
	Hz float64
	// VoltsPeak is the amplitude, volts peak.
	VoltsPeak float64
	// OffsetVolts is the DC offset added to the ringing.
	OffsetVolts float64
	// BatteryVolts is the high battery VBATH the signal swings within.
	BatteryVolts float64
}

// Clipped reports whether the signal's peak (amplitude plus offset) goes
// beyond the high battery, which would flatten the ringing on a real chip.
func (r RingSignal) Clipped() bool {
	return r.VoltsPeak+math.Abs(r.OffsetVolts) > r.BatteryVolts
}

// Ringing returns the ringing signal the current registers program.
func (c *Chip) Ringing() RingSignal {
	c.mu.Lock()
	rco, rngx, off, vbath := c.ir[7], c.ir[8], int16(c.ir[6]), c.regs[74]
	c.mu.Unlock()
	r := RingSignal{OffsetVolts: float64(off) * 96 / 32768, BatteryVolts: float64(vbath) * 1.5}
	cos := float64(int16(rco)) / 32768
	if cos <= -1 || cos >= 1 {
		return r
	}
	r.Hz = 1000 * math.Acos(cos) / (2 * math.Pi)
	r.VoltsPeak = float64(rngx) * 96 * 4 / (32768 * math.Sqrt((1-cos)/(1+cos)))
	return r
}

// impedances names register 10's two-wire impedance codes (bits 2:0).
// [U] Codes 2-7 follow the Si3210 family's table as DAHDI's drivers use it.
var impedances = [8]string{
	"600", "900", "600+2.16uF", "900+2.16uF",
	"270+(750||150nF)", "220+(820||120nF)", "220+(820||115nF)", "200+(680||100nF)",
}

// Impedance names the two-wire impedance register 10 selects, in ohms and
// farads ("600", "270+(750||150nF)").
func (c *Chip) Impedance() string {
	return impedances[c.Reg(10)&7]
}
