package si3050

import (
	"fmt"
	"math"
)

// The DAA's digital gain stages: registers 38 and 40 on the audio the host
// sends to the line, 39 and 41 on the line's audio the host receives. The
// first of each pair takes whole dB, the second tenths; bit 4 makes the
// stage an attenuation, bits 3:0 its size.
const (
	regTXGain2 = 38
	regRXGain2 = 39
	regTXGain3 = 40
	regRXGain3 = 41

	gainAttenuate = 0x10
)

// MinGainDB and MaxGainDB bound SetGains: the digital gain stages attenuate
// up to 15 dB and amplify up to 12 dB, in 0.1 dB steps.
const (
	MinGainDB = -15.0
	MaxGainDB = 12.0
)

// GainRegisters returns the two register values (whole dB, tenths) of a
// gain stage set to db, rounded to 0.1 dB.
func GainRegisters(db float64) (whole, tenths byte, err error) {
	if math.IsNaN(db) || db < MinGainDB || db > MaxGainDB {
		return 0, 0, fmt.Errorf("gain %v dB is out of range %v..%v", db, MinGainDB, MaxGainDB)
	}
	t := int(math.Round(db * 10))
	if t < 0 {
		t = -t
		return gainAttenuate | byte(t/10), gainAttenuate | byte(t%10), nil
	}
	return byte(t / 10), byte(t % 10), nil
}

// SetGains sets the DAA's digital gains in dB (MinGainDB..MaxGainDB, in
// 0.1 dB steps): toLine on the audio the host sends to the line, fromLine
// on the line's audio the host receives. A value out of range changes
// nothing.
func (d *Dev) SetGains(toLine, fromLine float64) error {
	tw, tt, err := GainRegisters(toLine)
	if err != nil {
		return fmt.Errorf("si3050 %s: to the line: %w", d.opts.Name, err)
	}
	rw, rt, err := GainRegisters(fromLine)
	if err != nil {
		return fmt.Errorf("si3050 %s: from the line: %w", d.opts.Name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range [...]struct{ addr, val byte }{
		{regTXGain2, tw}, {regTXGain3, tt}, {regRXGain2, rw}, {regRXGain3, rt},
	} {
		if err := d.write(w.addr, w.val); err != nil {
			return err
		}
	}
	return nil
}
