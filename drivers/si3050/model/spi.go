package model

import (
	"fmt"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/drivers/internal/spimodel"
)

// spiSpec is the DAA's SPI interface: mode 3, 8 bits, 3-byte frames that
// the chip counts itself, so chip select may stay low across them.
var spiSpec = spimodel.Spec{
	Chip:        "si3050 model",
	Mode:        spi.Mode3,
	ModeNeed:    "Mode3",
	MaxSpeed:    MaxSpeed,
	Framing:     spimodel.Stream,
	ErrInjected: ErrInjected,
}

// Connect implements spi.Port: mode 3, 8 bits, at most MaxSpeed (0 means
// the maximum). A transfer is one chip-select cycle of any number of bytes
// (a whole frame, or one byte of it); TxPackets runs packets in order, and
// chip select may rise between them or not.
func (c *Chip) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	return c.port.Connect(f, mode, bits)
}

// LimitSpeed implements spi.PortCloser.
func (c *Chip) LimitSpeed(f physic.Frequency) error { return c.port.LimitSpeed(f) }

// Close implements spi.PortCloser.
func (c *Chip) Close() error { return nil }

var _ spi.PortCloser = (*Chip)(nil)

// Bus is several DAAs daisy-chained on one chip select: every chip sees
// every byte, and SDO is the wired combination of the chips' outputs (a
// chip not addressed releases it, reading 0xFF).
type Bus struct {
	chips []*Chip
	port  *spimodel.Port
}

// NewBus chains chips on one chip select. Their Opts.Chain must differ.
func NewBus(chips ...*Chip) (*Bus, error) {
	seen := map[int]bool{}
	for _, c := range chips {
		if seen[c.opts.Chain] {
			return nil, fmt.Errorf("si3050 model: two chips at chain position %d", c.opts.Chain)
		}
		seen[c.opts.Chain] = true
	}
	b := &Bus{chips: chips}
	b.port = spimodel.NewPort(&spiSpec, spimodel.Target{
		Name: b.String(), Cycle: b.cycle, Abort: b.abort, TakeFailure: b.takeFailure,
	})
	return b, nil
}

// String names the bus (conn.Resource).
func (b *Bus) String() string { return "si3050-model-chain" }

func (b *Bus) cycle(x byte) byte {
	out := byte(0xFF)
	for _, c := range b.chips {
		out &= c.cycle(x)
	}
	return out
}

func (b *Bus) abort() {
	for _, c := range b.chips {
		c.abort()
	}
}

func (b *Bus) takeFailure() bool {
	f := false
	for _, c := range b.chips {
		f = c.fail.Take() || f
	}
	return f
}

// Connect implements spi.Port for the chain, with the rules of Chip.Connect.
func (b *Bus) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	return b.port.Connect(f, mode, bits)
}

// LimitSpeed implements spi.PortCloser.
func (b *Bus) LimitSpeed(f physic.Frequency) error { return b.port.LimitSpeed(f) }

// Close implements spi.PortCloser.
func (b *Bus) Close() error { return nil }

var _ spi.PortCloser = (*Bus)(nil)
