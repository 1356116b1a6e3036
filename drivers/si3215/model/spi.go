package model

import (
	"errors"
	"fmt"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// ErrInjected is returned by a transfer failed with FailSPI.
var ErrInjected = errors.New("si3215 model: injected SPI error")

// ErrCSHeld is returned for a transfer that keeps chip select asserted over
// more than one byte: the ProSLIC needs CS to rise after every byte.
var ErrCSHeld = errors.New("si3215 model: chip select held over more than one byte")

// Connect implements spi.Port: the chip accepts mode 3, 8 bits per word, and
// at most MaxSpeed (f = 0 means "the device maximum"). It may be called more
// than once; every connection talks to the same chip.
func (c *Chip) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	if mode != spi.Mode3 {
		return nil, fmt.Errorf("si3215 model: SPI mode %s not supported, need Mode3 MSB first with CS", mode)
	}
	if bits != 8 {
		return nil, fmt.Errorf("si3215 model: %d bits per word not supported, need 8", bits)
	}
	if f < 0 {
		return nil, fmt.Errorf("si3215 model: invalid frequency %s", f)
	}
	c.mu.Lock()
	limit := c.speedLimit
	c.mu.Unlock()
	if f == 0 {
		f = MaxSpeed
	}
	if limit != 0 && limit < f {
		f = limit
	}
	if f > MaxSpeed {
		return nil, fmt.Errorf("si3215 model: SCLK %s above the chip's %s", f, MaxSpeed)
	}
	return &spiConn{c: c, f: f}, nil
}

// LimitSpeed implements spi.PortCloser.
func (c *Chip) LimitSpeed(f physic.Frequency) error {
	if f <= 0 {
		return fmt.Errorf("si3215 model: invalid speed limit %s", f)
	}
	c.mu.Lock()
	c.speedLimit = f
	c.mu.Unlock()
	return nil
}

// Close implements spi.PortCloser; the model has nothing to release.
func (c *Chip) Close() error { return nil }

var _ spi.PortCloser = (*Chip)(nil)

type spiConn struct {
	c *Chip
	f physic.Frequency
}

var (
	_ spi.Conn    = (*spiConn)(nil)
	_ conn.Limits = (*spiConn)(nil)
)

func (s *spiConn) String() string { return "si3215-model@" + s.f.String() }

func (s *spiConn) Duplex() conn.Duplex { return conn.Full }

// MaxTxSize implements conn.Limits: one byte per chip-select cycle.
func (s *spiConn) MaxTxSize() int { return 1 }

// Tx is one chip-select cycle. It must carry exactly one byte (w, or r alone
// clocking out a zero byte); longer transfers return ErrCSHeld and abandon
// any half-finished register access, as a real chip would lose its framing.
func (s *spiConn) Tx(w, r []byte) error {
	n := max(len(w), len(r))
	if (len(w) != 0 && len(r) != 0 && len(w) != len(r)) || n == 0 {
		return fmt.Errorf("si3215 model: bad Tx lengths w=%d r=%d", len(w), len(r))
	}
	if n > 1 {
		s.c.abort()
		return fmt.Errorf("%w: Tx of %d bytes", ErrCSHeld, n)
	}
	if s.c.takeFailure() {
		s.c.abort()
		return ErrInjected
	}
	var b byte
	if len(w) == 1 {
		b = w[0]
	}
	out := s.c.cycle(b)
	if len(r) == 1 {
		r[0] = out
	}
	return nil
}

// TxPackets runs each packet as one chip-select cycle. Every packet must be a
// single 8-bit byte with KeepCS false; otherwise nothing is sent and ErrCSHeld
// (or a format error) is returned.
func (s *spiConn) TxPackets(p []spi.Packet) error {
	for i := range p {
		pk := &p[i]
		if pk.BitsPerWord != 0 && pk.BitsPerWord != 8 {
			return fmt.Errorf("si3215 model: packet %d: %d bits per word, need 8", i, pk.BitsPerWord)
		}
		n := max(len(pk.W), len(pk.R))
		if n == 0 || (len(pk.W) != 0 && len(pk.R) != 0 && len(pk.W) != len(pk.R)) {
			return fmt.Errorf("si3215 model: packet %d: bad lengths w=%d r=%d", i, len(pk.W), len(pk.R))
		}
		if n > 1 || pk.KeepCS {
			s.c.abort()
			return fmt.Errorf("%w: packet %d", ErrCSHeld, i)
		}
	}
	if s.c.takeFailure() {
		s.c.abort()
		return ErrInjected
	}
	for i := range p {
		pk := &p[i]
		var b byte
		if len(pk.W) == 1 {
			b = pk.W[0]
		}
		out := s.c.cycle(b)
		if len(pk.R) == 1 {
			pk.R[0] = out
		}
	}
	return nil
}

// cycle clocks one byte in and returns the byte clocked out.
func (c *Chip) cycle(b byte) byte {
	c.mu.Lock()
	if c.inReset {
		c.mu.Unlock()
		return 0xFF
	}
	if c.opts.Absent {
		c.mu.Unlock()
		return c.opts.AbsentValue
	}
	if c.daisy {
		// Daisy chain: chip-select byte, control byte, data byte.
		switch c.dpos {
		case 0:
			c.dsel = b&(1<<uint(c.opts.Chain&7)) != 0
			c.dpos = 1
			c.mu.Unlock()
			return 0xFF
		case 1:
			c.dpos, c.cmd = 2, b
			c.mu.Unlock()
			return 0xFF
		}
		c.dpos = 0
		sel, cmd := c.dsel, c.cmd
		c.mu.Unlock()
		if !sel {
			return 0xFF // not addressed: SDO released
		}
		return c.access(cmd, b)
	}
	if !c.pending {
		c.pending, c.cmd = true, b
		c.mu.Unlock()
		return 0xFF
	}
	c.pending = false
	cmd := c.cmd
	c.mu.Unlock()
	return c.access(cmd, b)
}

// abort drops a half-finished access.
func (c *Chip) abort() {
	c.mu.Lock()
	c.pending = false
	c.dpos = 0
	c.mu.Unlock()
}

// Bus is several ProSLICs on one chip select, daisy-chained SDI to
// SDITHRU: every chip sees every byte; SDO is the wired combination of the
// chips' outputs (a chip not addressed releases it and reads 0xFF). Before
// daisy-chain mode is on, every chip takes every access, as on hardware
// where only the chain's first chip would see a clean frame; drivers only
// send the daisy-chain enable then.
type Bus struct {
	chips []*Chip
}

// NewBus chains chips on one chip select. Their Opts.Chain must differ.
func NewBus(chips ...*Chip) (*Bus, error) {
	seen := map[int]bool{}
	for _, c := range chips {
		if seen[c.opts.Chain] {
			return nil, fmt.Errorf("si3215 model: two chips at chain position %d", c.opts.Chain)
		}
		seen[c.opts.Chain] = true
	}
	return &Bus{chips: chips}, nil
}

// Connect implements spi.Port with the same rules as Chip.Connect.
func (b *Bus) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	if len(b.chips) == 0 {
		return nil, errors.New("si3215 model: empty bus")
	}
	if _, err := b.chips[0].Connect(f, mode, bits); err != nil {
		return nil, err
	}
	return &busConn{b: b}, nil
}

type busConn struct{ b *Bus }

func (s *busConn) String() string      { return "si3215-model-chain" }
func (s *busConn) Duplex() conn.Duplex { return conn.Full }

// Tx is one chip-select cycle of one byte.
func (s *busConn) Tx(w, r []byte) error {
	return s.TxPackets([]spi.Packet{{W: w, R: r}})
}

// TxPackets sends each single-byte packet to every chip and combines SDO.
func (s *busConn) TxPackets(p []spi.Packet) error {
	for i := range p {
		if max(len(p[i].W), len(p[i].R)) != 1 || p[i].KeepCS {
			for _, c := range s.b.chips {
				c.abort()
			}
			return fmt.Errorf("%w: packet %d", ErrCSHeld, i)
		}
	}
	for _, c := range s.b.chips {
		if c.takeFailure() {
			for _, c := range s.b.chips {
				c.abort()
			}
			return ErrInjected
		}
	}
	for i := range p {
		var in byte
		if len(p[i].W) == 1 {
			in = p[i].W[0]
		}
		out := byte(0xFF)
		for _, c := range s.b.chips {
			out &= c.cycle(in)
		}
		if len(p[i].R) == 1 {
			p[i].R[0] = out
		}
	}
	return nil
}
