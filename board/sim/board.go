// Package sim is the simulated board, built from a board.Definition whose
// chips are the behavioural models (board.Sim, the default, and board.QEMU):
// each Si3215 FXS port is a chip model driven by the real drivers/si3215
// driver, each Si3050 FXO port a DAA model driven by drivers/si3050 and hung
// on a virtual central office (CentralOffice), all on a virtual PCM highway
// (drivers/pcm/sim) of the definition's slots. Each SLIC model's tip/ring
// pair is wired to a virtual Phone with a hook switch, a keypad that dials
// DTMF as audio or pulses on the hook, a tone sender, a ringer that counts
// rings and an earpiece whose audio is recorded and analysed. The drivers
// cannot tell they are simulated: every hook change, ring and sample passes
// through the chip's registers and the highway's timeslots.
//
// The phones' test equipment (tone and DTMF generators, DTMF receiver, level
// meter and spectrum analyser) comes from dsp, the project's own signal
// library at the bottom of the tree.
package sim

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/chips"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/drivers/si3050"
	fxomodel "github.com/loopstart/loopstart/drivers/si3050/model"
	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/drivers/si3215/model"
)

// Name is the default board definition's name (board.Sim).
const Name = "sim"

// Ports is the number of FXS ports on the default board (board.Sim), ports
// 1 to Ports.
const Ports = 2

// FXOPort is the port number of the default board's FXO port (the Si3050 on
// the virtual central office line).
const FXOPort = Ports + 1

// Slots is the number of timeslots on the default board's highway (room for
// the FXO port and one spare).
const Slots = 4

// SPISpeed is the SPI clock the board runs its chips at when the definition
// names none.
const SPISpeed = 1 * physic.MegaHertz

// ErrNoPort is returned (wrapped) by Board.Phone and Board.Line for a port
// the board lacks or that is of the other kind.
var ErrNoPort = errors.New("board/sim: no such port")

var _ model.Terminal = (*Phone)(nil)

// Opts configures the simulated board.
type Opts struct {
	// Definition is the board to build; the zero value means board.Sim().
	// Its chips must be models (Definition.Models).
	Definition board.Definition
	// Clock paces the highway; nil means real time. A *simpcm.VirtualClock
	// runs the board as fast as the media loop asks.
	Clock simpcm.Clock
	// Logger receives bring-up messages; nil discards them.
	Logger *slog.Logger
	// Chips holds FXS ports' chip model options by port number. A missing
	// port or the zero value is a healthy chip; a test of fault handling can
	// set, say, ID 0x0F (no chip answers) or StuckCalibration.
	Chips map[int]model.Opts
	// FXO holds FXO ports' DAA model options by port number; a missing port
	// or the zero value is a healthy Si3050 + Si3019 (its Chain is taken
	// from the definition).
	FXO map[int]fxomodel.Opts
	// Country is where the virtual phones were bought: it sets how long
	// their flash button opens the loop (FlashFor); "" means FlashDuration.
	Country string
}

// Board is the assembled simulated board. Its embedded board.Board is what
// the voice layer uses; Phone, Phones and Line reach the virtual phones and
// central offices, for the sim control API and tests.
type Board struct {
	board.Board
	// Def is the definition the board was built from.
	Def     board.Definition
	highway *simpcm.Highway
	chips   []*model.Chip // FXS chip models in port order
	phones  []*Phone      // in port order
	byPort  map[int]*Phone
	daas    []*fxomodel.Chip // FXO chip models in port order
	lines   []*CentralOffice // in port order
	byLine  map[int]*CentralOffice
	country string // Opts.Country
}

// New builds the board of opts.Definition: the highway, a chip model per
// port with a phone (FXS) or a central office (FXO) on its line, and a
// driver for each chip brought up through SPI. A chip that fails to come up
// leaves its port with Fault set and the other ports still work, so a chip
// fault is not an error of New; the error is for the board as a whole (an
// invalid definition, or one that is not made of models).
func New(opts Opts) (*Board, error) {
	def := opts.Definition
	if def.Name == "" {
		def = board.Sim()
	}
	if err := def.Validate(); err != nil {
		return nil, err
	}
	if !def.Models {
		return nil, fmt.Errorf("board/sim: %s has real chips, not models", def.Name)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	speed := physic.Frequency(def.SPIHz) * physic.Hertz
	if speed <= 0 {
		speed = SPISpeed
	}
	hw := simpcm.New(simpcm.Opts{Slots: def.Slots, Clock: opts.Clock})
	b := &Board{
		Board:   board.Board{Name: def.Name, Highway: hw},
		country: opts.Country,
		Def:     def,
		highway: hw,
		byPort:  map[int]*Phone{},
		byLine:  map[int]*CentralOffice{},
	}
	cds := append([]board.ChipDef(nil), def.Chips...)
	sortChips(cds)
	for _, cd := range cds {
		name := fmt.Sprintf("sim-spi%d.cs%d", cd.SPIBus, cd.CS)
		port := board.Port{N: cd.Port, Kind: cd.Kind, Slot: cd.Slot}
		var err error
		switch cd.Chip {
		case board.ChipSi3215:
			err = b.addFXS(cd, opts.Chips[cd.Port], name, speed, &port)
		case board.ChipSi3050:
			err = b.addFXO(cd, opts.FXO[cd.Port], name, speed, &port)
		}
		if err != nil {
			port.Fault = fmt.Errorf("port %d: %w", cd.Port, err)
			log.Error("sim board: chip failed", "board", def.Name, "port", cd.Port, "kind", cd.Kind, "chip", name, "err", err)
		} else {
			log.Info("sim board: port up", "board", def.Name, "port", cd.Port, "kind", cd.Kind, "chip", name, "slot", cd.Slot)
		}
		b.Ports = append(b.Ports, port)
	}
	return b, nil
}

// sortChips orders chip definitions by port number (Validate made the
// numbers unique).
func sortChips(cds []board.ChipDef) {
	for i := 1; i < len(cds); i++ {
		for j := i; j > 0 && cds[j].Port < cds[j-1].Port; j-- {
			cds[j], cds[j-1] = cds[j-1], cds[j]
		}
	}
}

// addFXS builds an FXS port: a SLIC model with a phone on its line, brought
// up by the real driver.
func (b *Board) addFXS(cd board.ChipDef, mo model.Opts, name string, speed physic.Frequency, port *board.Port) error {
	chip := model.New(mo)
	phone := NewPhone(cd.Port)
	if b.country != "" {
		phone.SetFlash(FlashFor(b.country))
	}
	chip.Attach(phone)
	b.highway.Attach(chip)
	b.chips = append(b.chips, chip)
	b.phones = append(b.phones, phone)
	b.byPort[cd.Port] = phone
	dev, err := bringUp(chip, name, cd.Slot, speed)
	if err != nil {
		return err
	}
	port.FXS = chips.NewSi3215FXS(dev)
	return nil
}

// addFXO builds an FXO port: a DAA model on a central office line, brought
// up by the real driver.
func (b *Board) addFXO(cd board.ChipDef, mo fxomodel.Opts, name string, speed physic.Frequency, port *board.Port) error {
	if mo.Chain == 0 {
		mo.Chain = cd.Chain
	}
	daa := fxomodel.New(mo)
	co := NewCentralOffice(cd.Port)
	if b.country != "" {
		if err := co.SetCountry(b.country); err != nil {
			return err
		}
	}
	daa.Attach(co)
	b.highway.Attach(daa)
	b.daas = append(b.daas, daa)
	b.lines = append(b.lines, co)
	b.byLine[cd.Port] = co
	dev, err := bringUpFXO(daa, fmt.Sprintf("%s/%d", name, mo.Chain), cd.Slot, mo.Chain, speed)
	if err != nil {
		return err
	}
	port.FXO = chips.NewSi3050FXO(dev)
	return nil
}

// bringUpFXO connects to the DAA model and initialises it with the driver.
func bringUpFXO(chip *fxomodel.Chip, name string, slot, chain int, speed physic.Frequency) (*si3050.Dev, error) {
	conn, err := chip.Connect(speed, si3050.SPIMode, 8)
	if err != nil {
		return nil, fmt.Errorf("spi connect: %w", err)
	}
	return si3050.New(conn, chip.ResetPin(), chip.IRQPin(), &si3050.Opts{
		Slot:  slot,
		Name:  name,
		Chain: chain,
		Sleep: func(time.Duration) {},
	})
}

// bringUp connects to a chip model and initialises it with the real driver.
func bringUp(chip *model.Chip, name string, slot int, speed physic.Frequency) (*si3215.Dev, error) {
	conn, err := chip.Connect(speed, spi.Mode3, 8)
	if err != nil {
		return nil, fmt.Errorf("spi connect: %w", err)
	}
	return si3215.New(conn, chip.ResetPin(), chip.IRQPin(), &si3215.Opts{
		Slot:  slot,
		Name:  name,
		Sleep: func(time.Duration) {}, // the model counts accesses, not time
	})
}

// Line returns the central office line of FXO port n.
func (b *Board) Line(n int) (*CentralOffice, error) {
	co, ok := b.byLine[n]
	if !ok {
		return nil, fmt.Errorf("line %d: %w", n, ErrNoPort)
	}
	return co, nil
}

// Lines returns the FXO ports' central offices in port order.
func (b *Board) Lines() []*CentralOffice {
	return append([]*CentralOffice(nil), b.lines...)
}

// DAA returns the first FXO port's chip model (for tests and fault
// injection), nil on a board without FXO ports.
func (b *Board) DAA() *fxomodel.Chip {
	if len(b.daas) == 0 {
		return nil
	}
	return b.daas[0]
}

// Phone returns the phone on FXS port n.
func (b *Board) Phone(n int) (*Phone, error) {
	p, ok := b.byPort[n]
	if !ok {
		return nil, fmt.Errorf("phone %d: %w", n, ErrNoPort)
	}
	return p, nil
}

// Phones returns the phones in port order.
func (b *Board) Phones() []*Phone {
	return append([]*Phone(nil), b.phones...)
}

// Close stops the highway. The chip models need no halting: nothing outside
// the process sees their lines.
func (b *Board) Close() error { return b.highway.Close() }
