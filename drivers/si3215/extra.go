package si3215

import (
	"fmt"

	"periph.io/x/conn/v3/spi"
)

// Registers used by the diagnostics and the line setup.
const (
	regImpedance = 10
	regVBATH     = 74
	regLoopI     = 79 // loop current sense [U] 1.1 mA/LSB
	regTipV      = 80 // tip voltage sense, 0.376 V/LSB
	regRingV     = 81 // ring voltage sense, 0.376 V/LSB
)

// enableDaisy puts the chain in daisy-chain mode. The Dev holding the
// RESET pin has just reset every chip on the chain, so it sends the enable
// (register 0 bit 7) as a plain write that every chip takes; the other
// chips' Devs, created after it without the pin, find the chain already in
// daisy-chain mode. Either way register 0 must then read back with bits
// 7:6 = 10 through a chip-select byte.
func (d *Dev) enableDaisy() error {
	if d.reset != nil {
		d.daisy = false
		if err := d.write(regID, 0x80); err != nil {
			return err
		}
	}
	d.daisy = true
	v, err := d.read(regID)
	if err != nil {
		return err
	}
	if v&0xC0 != 0x80 {
		return fmt.Errorf("si3215 %s: %w: daisy-chain position %d: register 0 reads 0x%02x, want bits 7:6 = 10 (chip missing, chain broken, or the chain's first Dev, with the RESET pin, not created first)", d.opts.Name, ErrNotFound, d.opts.Chain, v)
	}
	return nil
}

// setupLine applies the country: two-wire impedance and, for the ringing
// amplitude and offset, the high battery voltage VBATH.
func (d *Dev) setupLine() error {
	if d.line != nil {
		if err := d.write(regImpedance, d.line.Impedance&0x07); err != nil {
			return err
		}
	}
	if d.ringVpk > 0 || d.ringOff != 0 {
		return d.write(regVBATH, vbathFor(d.ringVpk, d.ringOff))
	}
	return nil
}

// powerAlarm takes the port out of service after a power alarm in reg19
// status s: the line is opened, and every later call reports the fault.
// Caller holds mu.
func (d *Dev) powerAlarm(s byte) error {
	q := 0
	for b := 2; b < 8; b++ {
		if s&(1<<b) != 0 {
			q = b - 1
			break
		}
	}
	_ = d.setLinefeed(LinefeedOpen)
	d.fault = fmt.Errorf("si3215 %s: %w on transistor Q%d (interrupt status 19 = 0x%02x); line shut down", d.opts.Name, ErrPowerAlarm, q, s)
	return d.fault
}

// Fault returns the power alarm that took the port out of service, or nil.
func (d *Dev) Fault() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fault
}

// ClearFault re-arms the port after a power alarm: the pending alarms are
// cleared and the line goes back to forward active.
func (d *Dev) ClearFault() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fault == nil {
		return nil
	}
	if err := d.write(regIntStatus2, 0xFF); err != nil {
		return err
	}
	d.fault = nil
	return d.setLinefeed(LinefeedForwardActive)
}

// Diagnostics are the chip's analog readouts.
type Diagnostics struct {
	// VBATVolts is the battery voltage (register 82, 0.376 V/LSB).
	VBATVolts float64
	// TipVolts and RingVolts are the tip and ring voltages to ground
	// (registers 80/81, 0.376 V/LSB).
	TipVolts, RingVolts float64
	// LoopMA is the loop current (register 79, [U] 1.1 mA/LSB).
	LoopMA float64
}

// Diagnostics reads the battery voltage, the tip and ring voltages and
// the loop current.
func (d *Dev) Diagnostics() (Diagnostics, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var v [4]byte
	for i, a := range [...]byte{regVBATSense, regTipV, regRingV, regLoopI} {
		var err error
		if v[i], err = d.read(a); err != nil {
			return Diagnostics{}, err
		}
	}
	return Diagnostics{
		VBATVolts: float64(v[0]) * 0.376, TipVolts: float64(v[1]) * 0.376, RingVolts: float64(v[2]) * 0.376,
		LoopMA: float64(v[3]) * 1.1,
	}, nil
}

// Identity is what Probe reads from a chip.
type Identity struct {
	// ID is register 0: part number in bits 5:4, revision in bits 3:0.
	ID byte
	// Si3215 is register 1 bit 7 (set on the Si3215/16).
	Si3215 bool
	// Variant is register 6 bits 7:5.
	Variant byte
}

// Probe reads the identity registers of the ProSLIC on c without resetting
// or configuring it: for hardware smoke tests.
func Probe(c spi.Conn) (Identity, error) {
	d := &Dev{c: c, opts: Opts{Name: c.String()}}
	d.wr[0].W, d.wr[1].W = d.cmd[:], d.data[:]
	d.rd[0].W, d.rd[1].W, d.rd[1].R = d.cmd[:], d.dummy[:], d.in[:]
	var id Identity
	var err error
	if id.ID, err = d.read(regID); err != nil {
		return id, err
	}
	r1, err := d.read(regPCMMode)
	if err != nil {
		return id, err
	}
	v, err := d.read(regVariant)
	id.Si3215, id.Variant = r1&0x80 != 0, v>>5
	return id, err
}
