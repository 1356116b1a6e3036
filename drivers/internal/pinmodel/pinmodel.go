// Package pinmodel holds the GPIO pins of the chip models (drivers/*/model):
// full periph.io gpio.PinIO implementations whose behaviour is left to the
// chip. Out is a pin the host drives (a chip input such as RESET) and hands
// every level it is driven to to the chip; In is a pin the host reads (a chip
// output such as an open-drain INT) whose level the chip computes on demand.
//
// Neither pin has a goroutine of its own. Both refuse to be used in the wrong
// direction with the error their Desc names.
package pinmodel

import (
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// Desc names a modelled pin.
type Desc struct {
	// Name is the pin's name, as Name returns it ("RESET").
	Name string
	// Label is what String returns ("si3215-model.RESET").
	Label string
	// ErrDirection is returned when the pin is used in the wrong direction
	// (In or PWM on an Out, Out or PWM on an In).
	ErrDirection error
}

// Out is a pin the host drives: a chip input. Every Out call, whether or not
// it changes the level, is reported to the chip's callback.
type Out struct {
	d     Desc
	onOut func(gpio.Level)

	drive sync.Mutex // serialises Out so the chip sees drives in order
	mu    sync.Mutex // guards level
	level gpio.Level
}

var _ gpio.PinIO = (*Out)(nil)

// NewOut returns an output pin at level whose Out calls onOut (nil: none)
// with the level driven. onOut runs after the level is stored, one drive at
// a time; it may call Read but must not drive the pin.
func NewOut(d Desc, level gpio.Level, onOut func(gpio.Level)) *Out {
	return &Out{d: d, level: level, onOut: onOut}
}

// String implements conn.Resource.
func (p *Out) String() string { return p.d.Label }

// Halt implements conn.Resource; the pin has nothing running.
func (p *Out) Halt() error { return nil }

// Name implements pin.Pin.
func (p *Out) Name() string { return p.d.Name }

// Number implements pin.Pin: the pin has no host number.
func (p *Out) Number() int { return -1 }

// Function implements pin.Pin.
func (p *Out) Function() string { return "Out" }

// In implements gpio.PinIn: an output cannot be read as an input.
func (p *Out) In(gpio.Pull, gpio.Edge) error { return p.d.ErrDirection }

// Read returns the level last driven.
func (p *Out) Read() gpio.Level {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.level
}

// WaitForEdge implements gpio.PinIn: an output has no edges to wait for.
func (p *Out) WaitForEdge(time.Duration) bool { return false }

// Pull implements gpio.PinIn.
func (p *Out) Pull() gpio.Pull { return gpio.PullNoChange }

// DefaultPull implements gpio.PinIn.
func (p *Out) DefaultPull() gpio.Pull { return gpio.PullNoChange }

// Out drives the pin to l and reports it to the chip.
func (p *Out) Out(l gpio.Level) error {
	p.drive.Lock()
	defer p.drive.Unlock()
	p.mu.Lock()
	p.level = l
	p.mu.Unlock()
	if p.onOut != nil {
		p.onOut(l)
	}
	return nil
}

// PWM implements gpio.PinOut: the pin only takes levels.
func (p *Out) PWM(gpio.Duty, physic.Frequency) error { return p.d.ErrDirection }

// In is a pin the host reads: a chip output, expected to be open drain (its
// DefaultPull is PullUp). Its level comes from the chip on every Read.
type In struct {
	d    Desc
	read func() gpio.Level

	mu   sync.Mutex // guards edge
	edge gpio.Edge
}

var _ gpio.PinIO = (*In)(nil)

// NewIn returns an input pin whose level is read() at every sample.
func NewIn(d Desc, read func() gpio.Level) *In {
	return &In{d: d, read: read}
}

// String implements conn.Resource.
func (p *In) String() string { return p.d.Label }

// Halt implements conn.Resource; the pin has nothing running.
func (p *In) Halt() error { return nil }

// Name implements pin.Pin.
func (p *In) Name() string { return p.d.Name }

// Number implements pin.Pin: the pin has no host number.
func (p *In) Number() int { return -1 }

// Function implements pin.Pin: "In/" and the current level.
func (p *In) Function() string { return "In/" + p.Read().String() }

// In accepts any pull (the output is open drain; a pull-up is expected) and
// remembers the edge for WaitForEdge.
func (p *In) In(_ gpio.Pull, edge gpio.Edge) error {
	p.mu.Lock()
	p.edge = edge
	p.mu.Unlock()
	return nil
}

// Read samples the chip's output.
func (p *In) Read() gpio.Level { return p.read() }

// WaitForEdge polls the pin every millisecond for the edge set with In
// (timeout < 0 waits forever). The models have no goroutine of their own, so
// this costs wall-clock time; the drivers do not use it.
func (p *In) WaitForEdge(timeout time.Duration) bool {
	p.mu.Lock()
	edge := p.edge
	p.mu.Unlock()
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

// Pull implements gpio.PinIn.
func (p *In) Pull() gpio.Pull { return gpio.PullNoChange }

// DefaultPull implements gpio.PinIn: open drain wants a pull-up.
func (p *In) DefaultPull() gpio.Pull { return gpio.PullUp }

// Out implements gpio.PinOut: the host cannot drive a chip output.
func (p *In) Out(gpio.Level) error { return p.d.ErrDirection }

// PWM implements gpio.PinOut: the host cannot drive a chip output.
func (p *In) PWM(gpio.Duty, physic.Frequency) error { return p.d.ErrDirection }
