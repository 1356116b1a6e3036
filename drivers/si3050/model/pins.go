package model

import (
	"errors"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
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

type resetPin struct {
	c     *Chip
	level gpio.Level // guarded by c.mu
}

func (p *resetPin) String() string   { return "si3050-model.RESET" }
func (p *resetPin) Halt() error      { return nil }
func (p *resetPin) Name() string     { return "RESET" }
func (p *resetPin) Number() int      { return -1 }
func (p *resetPin) Function() string { return "Out" }

func (p *resetPin) In(gpio.Pull, gpio.Edge) error { return errDirection }

func (p *resetPin) Read() gpio.Level {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return p.level
}

func (p *resetPin) WaitForEdge(time.Duration) bool { return false }
func (p *resetPin) Pull() gpio.Pull                { return gpio.PullNoChange }
func (p *resetPin) DefaultPull() gpio.Pull         { return gpio.PullNoChange }

func (p *resetPin) Out(l gpio.Level) error {
	c := p.c
	c.mu.Lock()
	p.level = l
	if l == gpio.Low {
		c.resetRegs()
		c.inReset = true
	} else {
		c.inReset = false
	}
	c.mu.Unlock()
	return nil
}

func (p *resetPin) PWM(gpio.Duty, physic.Frequency) error { return errDirection }

type irqPin struct {
	c    *Chip
	edge gpio.Edge // guarded by c.mu
}

func (p *irqPin) String() string   { return "si3050-model.INT" }
func (p *irqPin) Halt() error      { return nil }
func (p *irqPin) Name() string     { return "INT" }
func (p *irqPin) Number() int      { return -1 }
func (p *irqPin) Function() string { return "In/" + p.Read().String() }

// In accepts any pull (the output is open drain; a pull-up is expected) and
// remembers the edge for WaitForEdge.
func (p *irqPin) In(_ gpio.Pull, edge gpio.Edge) error {
	p.c.mu.Lock()
	p.edge = edge
	p.c.mu.Unlock()
	return nil
}

// Read samples the terminal and returns Low while an enabled interrupt is
// pending.
func (p *irqPin) Read() gpio.Level {
	c := p.c
	c.mu.Lock()
	asserted := c.irqAsserted()
	c.mu.Unlock()
	if asserted {
		return gpio.Low
	}
	return gpio.High
}

// WaitForEdge polls the pin every millisecond for the configured edge. The
// model has no goroutine of its own, so this costs wall-clock time; the
// driver does not use it.
func (p *irqPin) WaitForEdge(timeout time.Duration) bool {
	p.c.mu.Lock()
	edge := p.edge
	p.c.mu.Unlock()
	if edge == gpio.NoEdge {
		return false
	}
	last := p.Read()
	deadline := time.Now().Add(timeout)
	for timeout < 0 || time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		l := p.Read()
		if l != last {
			if edge == gpio.BothEdges || (edge == gpio.FallingEdge) == (l == gpio.Low) {
				return true
			}
			last = l
		}
	}
	return false
}

func (p *irqPin) Pull() gpio.Pull                       { return gpio.PullNoChange }
func (p *irqPin) DefaultPull() gpio.Pull                { return gpio.PullUp }
func (p *irqPin) Out(gpio.Level) error                  { return errDirection }
func (p *irqPin) PWM(gpio.Duty, physic.Frequency) error { return errDirection }
