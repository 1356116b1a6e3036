// Package spimodel is the SPI side of the chip models (drivers/*/model): a
// periph.io spi.Port and spi.Conn that check what a real chip would (mode,
// word size, clock against the chip's maximum and the port's limit, chip
// select framing) and hand each chip-select cycle's bytes, one at a time, to
// the chip. What the bytes mean is left to the chip's Target.
package spimodel

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// Framing is how a chip wants its bytes split into chip-select cycles.
type Framing uint8

const (
	// Stream takes any number of bytes per chip-select cycle, and chip select
	// may rise between packets or not: the chip frames by byte count.
	Stream Framing = iota
	// OneByte needs chip select to rise after every byte. A longer cycle, or
	// a packet with KeepCS, aborts the chip's access and fails with
	// Spec.ErrCSHeld.
	OneByte
)

// Spec is a chip's SPI interface.
type Spec struct {
	// Chip prefixes error messages ("si3215 model").
	Chip string
	// Mode is the only SPI mode the chip accepts.
	Mode spi.Mode
	// ModeNeed ends the wrong-mode error: "need " + ModeNeed.
	ModeNeed string
	// MaxSpeed is the chip's highest SCLK; Connect at 0 Hz gets it.
	MaxSpeed physic.Frequency
	// Framing is the chip-select framing.
	Framing Framing
	// ErrInjected is returned by a transfer failed by Target.TakeFailure.
	ErrInjected error
	// ErrCSHeld is wrapped by the error for a cycle that breaks OneByte
	// framing.
	ErrCSHeld error
}

// Target is a chip, or a chain of chips on one chip select, as the bus sees
// it. All three funcs are required.
type Target struct {
	// Name names the target; a Conn's String is Name + "@" + its clock.
	Name string
	// Cycle clocks one byte in and returns the byte clocked out.
	Cycle func(in byte) (out byte)
	// Abort drops a half-finished access: the transfer failed.
	Abort func()
	// TakeFailure reports, once per transfer, whether the transfer is to
	// fail with Spec.ErrInjected (nothing is clocked and Abort is called).
	TakeFailure func() bool
}

// Port is an spi.Port for one Target. Its zero speed limit means none.
type Port struct {
	spec *Spec
	t    Target

	mu    sync.Mutex // guards limit
	limit physic.Frequency
	// bus carries one transfer at a time, as a controller does: the
	// drivers of a daisy chain's chips share the connection and may run
	// on different goroutines (the media loop's workers).
	bus sync.Mutex
}

// NewPort returns a port for t; spec must not change afterwards.
func NewPort(spec *Spec, t Target) *Port { return &Port{spec: spec, t: t} }

// Connect implements spi.Port: mode and bits must be the chip's, and f (0
// meaning the chip's maximum, capped by LimitSpeed) at most MaxSpeed. It may
// be called more than once; every connection talks to the same target.
func (p *Port) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	s := p.spec
	if mode != s.Mode {
		return nil, fmt.Errorf("%s: SPI mode %s not supported, need %s", s.Chip, mode, s.ModeNeed)
	}
	if bits != 8 {
		return nil, fmt.Errorf("%s: %d bits per word not supported, need 8", s.Chip, bits)
	}
	if f < 0 {
		return nil, fmt.Errorf("%s: invalid frequency %s", s.Chip, f)
	}
	p.mu.Lock()
	limit := p.limit
	p.mu.Unlock()
	if f == 0 {
		f = s.MaxSpeed
	}
	if limit != 0 && limit < f {
		f = limit
	}
	if f > s.MaxSpeed {
		return nil, fmt.Errorf("%s: SCLK %s above the chip's %s", s.Chip, f, s.MaxSpeed)
	}
	return &Conn{spec: s, t: &p.t, f: f, bus: &p.bus}, nil
}

// LimitSpeed implements spi.PortCloser: later connections run at most f.
func (p *Port) LimitSpeed(f physic.Frequency) error {
	if f <= 0 {
		return fmt.Errorf("%s: invalid speed limit %s", p.spec.Chip, f)
	}
	p.mu.Lock()
	p.limit = f
	p.mu.Unlock()
	return nil
}

// Conn is a connection made by Port.Connect.
type Conn struct {
	spec *Spec
	t    *Target
	f    physic.Frequency
	bus  *sync.Mutex // the port's: one transfer at a time
}

var (
	_ spi.Conn    = (*Conn)(nil)
	_ conn.Limits = (*Conn)(nil)
)

// String implements conn.Resource: the target's name and the clock.
func (c *Conn) String() string { return c.t.Name + "@" + c.f.String() }

// Duplex implements conn.Conn: SPI is full duplex.
func (c *Conn) Duplex() conn.Duplex { return conn.Full }

// MaxTxSize implements conn.Limits: 1 for OneByte framing.
func (c *Conn) MaxTxSize() int {
	if c.spec.Framing == OneByte {
		return 1
	}
	return 4096
}

// Tx is one chip-select cycle: w is clocked out (zeros past its end) and r
// filled; when both are given they must be the same length. Under OneByte
// framing it must carry exactly one byte.
func (c *Conn) Tx(w, r []byte) error {
	n := max(len(w), len(r))
	if (len(w) != 0 && len(r) != 0 && len(w) != len(r)) || (n == 0 && c.spec.Framing == OneByte) {
		return fmt.Errorf("%s: bad Tx lengths w=%d r=%d", c.spec.Chip, len(w), len(r))
	}
	c.bus.Lock()
	defer c.bus.Unlock()
	if n > 1 && c.spec.Framing == OneByte {
		c.t.Abort()
		return fmt.Errorf("%w: Tx of %d bytes", c.spec.ErrCSHeld, n)
	}
	if c.t.TakeFailure() {
		c.t.Abort()
		return c.spec.ErrInjected
	}
	c.clock(w, r)
	return nil
}

// TxPackets runs the packets in order, each a chip-select cycle as in Tx.
// Every packet is checked before any byte is sent; a bad one sends nothing.
func (c *Conn) TxPackets(p []spi.Packet) error {
	c.bus.Lock()
	defer c.bus.Unlock()
	one := c.spec.Framing == OneByte
	for i := range p {
		pk := &p[i]
		if pk.BitsPerWord != 0 && pk.BitsPerWord != 8 {
			return fmt.Errorf("%s: packet %d: %d bits per word, need 8", c.spec.Chip, i, pk.BitsPerWord)
		}
		n := max(len(pk.W), len(pk.R))
		if (len(pk.W) != 0 && len(pk.R) != 0 && len(pk.W) != len(pk.R)) || (n == 0 && one) {
			return fmt.Errorf("%s: packet %d: bad lengths w=%d r=%d", c.spec.Chip, i, len(pk.W), len(pk.R))
		}
		if one && (n > 1 || pk.KeepCS) {
			c.t.Abort()
			return fmt.Errorf("%w: packet %d", c.spec.ErrCSHeld, i)
		}
	}
	if c.t.TakeFailure() {
		c.t.Abort()
		return c.spec.ErrInjected
	}
	for i := range p {
		c.clock(p[i].W, p[i].R)
	}
	return nil
}

// clock cycles max(len(w), len(r)) bytes through the target.
func (c *Conn) clock(w, r []byte) {
	for i := range max(len(w), len(r)) {
		var b byte
		if i < len(w) {
			b = w[i]
		}
		out := c.t.Cycle(b)
		if i < len(r) {
			r[i] = out
		}
	}
}

// Failures counts injected transfer failures; its zero value has none
// pending. It is safe for concurrent use.
type Failures struct {
	mu sync.Mutex
	n  int
}

// Set makes the next n transfers fail.
func (f *Failures) Set(n int) {
	f.mu.Lock()
	f.n = n
	f.mu.Unlock()
}

// Take reports whether the current transfer fails, using up one failure.
func (f *Failures) Take() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		f.n--
		return true
	}
	return false
}
