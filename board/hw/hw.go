// Package hw assembles a real board from a board.Definition: it opens each
// chip's SPI device and reset/IRQ GPIOs through periph.io's host drivers
// (Linux spidev and GPIO character devices), brings the chips up with the
// real drivers and returns a board.Board. A chip that fails leaves its
// port with Fault set; the other ports keep working.
//
// The product reaches it through board/factory, which checks the device
// files first and opens and starts the PCM highway the chips need; the
// hwsmoke tool and the tests call Open directly. Not yet run on hardware:
// the tests run the real drivers against the chip models behind Host.
// docs/DRIVERS.md has the wiring.
package hw

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/chips"
	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/dsp"
)

// Opts configures Open.
type Opts struct {
	// Highway is the PCM bus (an ALSA highway for the definition's device);
	// required. Its clocks must run before Open: the chips need PCLK.
	Highway pcm.Highway
	// Country selects the ports' line settings ("us" when empty).
	Country string
	// Logger receives bring-up messages; nil discards them.
	Logger *slog.Logger
	// Host opens SPI ports and GPIOs; nil uses periph.io (host.Init,
	// spireg, gpioreg). Tests pass fakes.
	Host Host
	// Sleep is the drivers' wait; nil means time.Sleep.
	Sleep func(time.Duration)
}

// Host opens the devices a board needs.
type Host interface {
	// SPI opens SPI bus.cs.
	SPI(bus, cs int) (spi.PortCloser, error)
	// GPIO returns the named pin, or nil when there is none.
	GPIO(name string) gpio.PinIO
}

// Periph is the Host of a real Linux board.
type Periph struct{}

// SPI implements Host with spireg.Open("SPI<bus>.<cs>").
func (Periph) SPI(bus, cs int) (spi.PortCloser, error) {
	return spireg.Open(fmt.Sprintf("SPI%d.%d", bus, cs))
}

// GPIO implements Host with gpioreg.ByName.
func (Periph) GPIO(name string) gpio.PinIO { return gpioreg.ByName(name) }

// Board is an assembled real board.
type Board struct {
	board.Board
	ports []spi.PortCloser
	halt  []func() error
}

// Open assembles def. The error is for the board as a whole (a bad
// definition, no highway, no host drivers); chip failures only mark ports.
func Open(def board.Definition, o Opts) (*Board, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	if def.Models {
		return nil, fmt.Errorf("board/hw: %s runs chip models; use board/sim", def.Name)
	}
	if o.Highway == nil {
		return nil, errors.New("board/hw: no PCM highway")
	}
	if o.Highway.Slots() < def.Slots {
		return nil, fmt.Errorf("board/hw: highway has %d slots, %s needs %d", o.Highway.Slots(), def.Name, def.Slots)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := o.Host
	if h == nil {
		if _, err := host.Init(); err != nil {
			return nil, fmt.Errorf("board/hw: periph host drivers: %w", err)
		}
		h = Periph{}
	}
	country := o.Country
	if country == "" {
		country = "us"
	}
	prof, err := dsp.LookupProfile(country)
	if err != nil {
		return nil, fmt.Errorf("board/hw: %w", err)
	}
	b := &Board{Board: board.Board{Name: def.Name, Highway: o.Highway}}
	open := map[[2]int]spi.Conn{}
	for _, cd := range def.Chips {
		port := board.Port{N: cd.Port, Kind: cd.Kind, Slot: cd.Slot}
		if err := b.bringUp(h, def, cd, open, country, int(prof.RingHz), o.Sleep, &port); err != nil {
			port.Fault = fmt.Errorf("port %d: %w", cd.Port, err)
			log.Error("board: chip failed", "board", def.Name, "port", cd.Port, "chip", cd.Chip, "err", err)
		} else {
			log.Info("board: port up", "board", def.Name, "port", cd.Port, "chip", cd.Chip, "slot", cd.Slot)
		}
		b.Ports = append(b.Ports, port)
	}
	if def.PollHz > 0 {
		p := newPoller()
		for i := range b.Ports {
			pt := &b.Ports[i]
			if pt.Fault != nil {
				continue
			}
			if pt.FXS != nil {
				f := &polledFXS{FXS: pt.FXS}
				p.fxs, pt.FXS = append(p.fxs, f), f
			}
			if pt.FXO != nil {
				f := &polledFXO{FXO: pt.FXO}
				p.fxo, pt.FXO = append(p.fxo, f), f
			}
		}
		p.start(time.Second / time.Duration(def.PollHz))
		// Polling stops before the chips are halted.
		b.halt = append([]func() error{p.halt}, b.halt...)
	}
	return b, nil
}

func (b *Board) bringUp(h Host, def board.Definition, cd board.ChipDef, open map[[2]int]spi.Conn, country string, ringHz int, sleep func(time.Duration), port *board.Port) error {
	key := [2]int{cd.SPIBus, cd.CS}
	c, ok := open[key]
	if !ok {
		p, err := h.SPI(cd.SPIBus, cd.CS)
		if err != nil {
			return fmt.Errorf("open SPI%d.%d: %w", cd.SPIBus, cd.CS, err)
		}
		b.ports = append(b.ports, p)
		if c, err = p.Connect(physic.Frequency(def.SPIHz)*physic.Hertz, spi.Mode3, 8); err != nil {
			return fmt.Errorf("connect SPI%d.%d: %w", cd.SPIBus, cd.CS, err)
		}
		open[key] = c
	}
	pin := func(name string) (gpio.PinIO, error) {
		if name == "" {
			return nil, nil
		}
		p := h.GPIO(name)
		if p == nil {
			return nil, fmt.Errorf("no GPIO %q", name)
		}
		return p, nil
	}
	rst, err := pin(cd.Reset)
	if err != nil {
		return err
	}
	irq, err := pin(cd.IRQ)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("SPI%d.%d", cd.SPIBus, cd.CS)
	switch cd.Chip {
	case board.ChipSi3215:
		dev, err := si3215.New(c, outPin(rst), inPin(irq), &si3215.Opts{
			Slot: cd.Slot, Name: name, Country: country, RingHz: ringHz,
			Daisy: cd.Daisy, Chain: cd.Chain, Sleep: sleep,
		})
		if err != nil {
			return err
		}
		port.FXS = chips.NewSi3215FXS(dev)
		b.halt = append(b.halt, dev.Halt)
	case board.ChipSi3050:
		dev, err := si3050.New(c, outPin(rst), inPin(irq), &si3050.Opts{
			Slot: cd.Slot, Name: fmt.Sprintf("%s/%d", name, cd.Chain), Chain: cd.Chain, Country: daaCountry(country), Sleep: sleep,
		})
		if err != nil {
			return err
		}
		port.FXO = chips.NewSi3050FXO(dev)
		b.halt = append(b.halt, dev.Halt)
	}
	return nil
}

// daaCountry maps a tone-profile country to the DAA's line table: every
// profile country has an entry or an alias there (a drivers/si3050 test
// checks it); anything else gets FCC.
func daaCountry(c string) string {
	if _, err := si3050.LookupCountry(c); err == nil {
		return c
	}
	return "fcc"
}

// outPin and inPin keep a nil interface nil.
func outPin(p gpio.PinIO) gpio.PinOut {
	if p == nil {
		return nil
	}
	return p
}

func inPin(p gpio.PinIO) gpio.PinIn {
	if p == nil {
		return nil
	}
	return p
}

// Close halts every chip (line open, DAA on hook), closes the SPI ports and
// the highway.
func (b *Board) Close() error {
	var errs []error
	for _, h := range b.halt {
		errs = append(errs, h())
	}
	for _, p := range b.ports {
		errs = append(errs, p.Close())
	}
	errs = append(errs, b.Highway.Close())
	return errors.Join(errs...)
}
