// Package hwtest puts the chip models where a real board's devices would
// be: a board/hw.Host whose SPI devices and GPIOs are the Si3215 and
// Si3050 behavioural models wired as a board.Definition says, so that
// board/hw, board/factory and tools/hwsmoke run their real device path in
// tests, with faults injected through the models' options.
package hwtest

import (
	"errors"
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/board"
	fxomodel "github.com/loopstart/loopstart/drivers/si3050/model"
	fxsmodel "github.com/loopstart/loopstart/drivers/si3215/model"
)

// ErrNoDevice is returned (wrapped) for an SPI device the definition does
// not wire, or one a test removed.
var ErrNoDevice = errors.New("hwtest: no such SPI device")

// Opts sets the models' options by port number; a port not listed gets a
// healthy chip.
type Opts struct {
	FXS map[int]fxsmodel.Opts
	FXO map[int]fxomodel.Opts
}

// Host is a board/hw.Host of chip models. Its maps may be edited by a test (a
// deleted pin or device reads as not wired).
type Host struct {
	// FXS and FXO hold each port's chip model, by port number.
	FXS map[int]*fxsmodel.Chip
	FXO map[int]*fxomodel.Chip
	// SPIDevs maps [bus, cs] to the model answering there.
	SPIDevs map[[2]int]spi.PortCloser
	// Pins maps the definition's GPIO names to the models' reset and IRQ
	// pins.
	Pins map[string]gpio.PinIO
}

// New wires a model for every chip of def. Chips that share a chip select
// (a daisy chain) are not modelled: the first one answers there.
func New(def board.Definition, o Opts) *Host {
	h := &Host{
		FXS:     map[int]*fxsmodel.Chip{},
		FXO:     map[int]*fxomodel.Chip{},
		SPIDevs: map[[2]int]spi.PortCloser{},
		Pins:    map[string]gpio.PinIO{},
	}
	for _, cd := range def.Chips {
		var dev spi.PortCloser
		var rst, irq gpio.PinIO
		switch cd.Kind {
		case board.KindFXS:
			c := fxsmodel.New(o.FXS[cd.Port])
			h.FXS[cd.Port], dev, rst, irq = c, c, c.ResetPin(), c.IRQPin()
		case board.KindFXO:
			c := fxomodel.New(o.FXO[cd.Port])
			h.FXO[cd.Port], dev, rst, irq = c, c, c.ResetPin(), c.IRQPin()
		default:
			continue
		}
		if _, taken := h.SPIDevs[[2]int{cd.SPIBus, cd.CS}]; !taken {
			h.SPIDevs[[2]int{cd.SPIBus, cd.CS}] = dev
		}
		if cd.Reset != "" {
			if _, taken := h.Pins[cd.Reset]; !taken {
				h.Pins[cd.Reset] = rst
			}
		}
		if cd.IRQ != "" {
			h.Pins[cd.IRQ] = irq
		}
	}
	return h
}

// SPI implements board/hw.Host.
func (h *Host) SPI(bus, cs int) (spi.PortCloser, error) {
	if d, ok := h.SPIDevs[[2]int{bus, cs}]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("SPI%d.%d: %w", bus, cs, ErrNoDevice)
}

// GPIO implements board/hw.Host.
func (h *Host) GPIO(name string) gpio.PinIO { return h.Pins[name] }
