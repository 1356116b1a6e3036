package model

import (
	"errors"

	"periph.io/x/conn/v3/gpio"

	"github.com/loopstart/loopstart/drivers/internal/pinmodel"
)

// errDirection is returned when a pin is driven the wrong way.
var errDirection = errors.New("si3050 model: pin used in the wrong direction")

// ResetPin returns the chip's RESET input (active low). Driving it low holds
// the chip in reset: every register returns to its reset value, reads clock
// out 0xFF and writes are ignored until it is driven high again.
func (c *Chip) ResetPin() gpio.PinIO { return c.reset }

// IRQPin returns the chip's INT output (active low, open drain): it reads
// Low while any interrupt enabled in register 3 is pending in register 4 and
// register 2 INTE is set.
func (c *Chip) IRQPin() gpio.PinIO { return c.irq }

// newPins makes the chip's RESET (released) and INT pins.
func (c *Chip) newPins() {
	c.reset = pinmodel.NewOut(pinmodel.Desc{Name: "RESET", Label: "si3050-model.RESET", ErrDirection: errDirection},
		gpio.High, c.driveReset)
	c.irq = pinmodel.NewIn(pinmodel.Desc{Name: "INT", Label: "si3050-model.INT", ErrDirection: errDirection},
		c.irqLevel)
}

// driveReset is RESET driven to l.
func (c *Chip) driveReset(l gpio.Level) {
	c.mu.Lock()
	if l == gpio.Low {
		c.resetRegs()
		c.inReset = true
	} else {
		c.inReset = false
	}
	c.mu.Unlock()
}

// irqLevel samples the terminal and returns Low while an enabled interrupt
// is pending.
func (c *Chip) irqLevel() gpio.Level {
	c.mu.Lock()
	asserted := c.irqAsserted()
	c.mu.Unlock()
	if asserted {
		return gpio.Low
	}
	return gpio.High
}
