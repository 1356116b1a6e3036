package model

import (
	"errors"

	"periph.io/x/conn/v3/gpio"

	"github.com/loopstart/loopstart/drivers/internal/pinmodel"
)

// errDirection is returned when a pin is driven the wrong way.
var errDirection = errors.New("si3215 model: pin used in the wrong direction")

// ResetPin returns the chip's RESET input (active low). Driving it low holds
// the chip in reset: every register returns to its reset value, reads clock
// out 0xFF and writes are ignored until it is driven high again.
func (c *Chip) ResetPin() gpio.PinIO { return c.reset }

// IRQPin returns the chip's INT output (active low, open drain): it reads
// Low while any interrupt enabled in registers 21-23 is pending in 18-20.
func (c *Chip) IRQPin() gpio.PinIO { return c.irq }

// newPins makes the chip's RESET (released) and INT pins.
func (c *Chip) newPins() {
	c.reset = pinmodel.NewOut(pinmodel.Desc{Name: "RESET", Label: "si3215-model.RESET", ErrDirection: errDirection},
		gpio.High, c.driveReset)
	c.irq = pinmodel.NewIn(pinmodel.Desc{Name: "INT", Label: "si3215-model.INT", ErrDirection: errDirection},
		c.irqLevel)
}

// driveReset is RESET driven to l: low resets the registers and stops any
// ringing the terminal was shown.
func (c *Chip) driveReset(l gpio.Level) {
	c.mu.Lock()
	ev := 0
	if l == gpio.Low {
		c.resetRegs()
		c.inReset = true
		if c.ringShown && c.term != nil {
			c.ringShown = false
			ev = -1
		}
	} else {
		c.inReset = false
	}
	t := c.term
	c.mu.Unlock()
	c.ringEvent(t, ev)
}

// irqLevel samples the terminal and returns Low while an enabled interrupt
// is pending.
func (c *Chip) irqLevel() gpio.Level {
	closed := c.loopClosed()
	c.mu.Lock()
	ev := c.sense(closed)
	asserted := !c.inReset && c.irqAsserted()
	t := c.term
	c.mu.Unlock()
	c.ringEvent(t, ev)
	if asserted {
		return gpio.Low
	}
	return gpio.High
}
