package model

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/drivers/internal/spimodel"
)

// ErrInjected is returned by a transfer failed with FailSPI.
var ErrInjected = errors.New("si3215 model: injected SPI error")

// ErrCSHeld is returned for a transfer that keeps chip select asserted over
// more than one byte: the ProSLIC needs CS to rise after every byte.
var ErrCSHeld = errors.New("si3215 model: chip select held over more than one byte")

// spiSpec is the ProSLIC's SPI interface: mode 3, 8 bits, chip select
// rising after every byte.
var spiSpec = spimodel.Spec{
	Chip:        "si3215 model",
	Mode:        spi.Mode3,
	ModeNeed:    "Mode3 MSB first with CS",
	MaxSpeed:    MaxSpeed,
	Framing:     spimodel.OneByte,
	ErrInjected: ErrInjected,
	ErrCSHeld:   ErrCSHeld,
}

// Connect implements spi.Port: the chip accepts mode 3, 8 bits per word, and
// at most MaxSpeed (f = 0 means "the device maximum"). It may be called more
// than once; every connection talks to the same chip.
//
// Each Tx, and each packet of TxPackets, is one chip-select cycle and must
// carry exactly one byte (w, or r alone clocking out a zero byte) with
// KeepCS false; otherwise nothing is sent, any half-finished register access
// is abandoned, as a real chip would lose its framing, and ErrCSHeld (or a
// format error) is returned. The connection's MaxTxSize is 1.
func (c *Chip) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	return c.port.Connect(f, mode, bits)
}

// LimitSpeed implements spi.PortCloser.
func (c *Chip) LimitSpeed(f physic.Frequency) error { return c.port.LimitSpeed(f) }

// Close implements spi.PortCloser; the model has nothing to release.
func (c *Chip) Close() error { return nil }

var _ spi.PortCloser = (*Chip)(nil)

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
	// mu makes a transfer one bus cycle sequence, as a controller does:
	// the chips' drivers share the connection and may run on different
	// goroutines (the media loop's workers).
	mu sync.Mutex
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
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for i := range p {
		if max(len(p[i].W), len(p[i].R)) != 1 || p[i].KeepCS {
			for _, c := range s.b.chips {
				c.abort()
			}
			return fmt.Errorf("%w: packet %d", ErrCSHeld, i)
		}
	}
	for _, c := range s.b.chips {
		if c.fail.Take() {
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
