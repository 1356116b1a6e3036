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

	"periph.io/x/conn/v3/gpio"
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
	// First every chip model with its phone or central office, in port
	// order; then each chip select's chips, brought up through one SPI
	// connection in chain order (the chain's first chip holds the reset
	// line, so its driver comes first).
	models := make([]simChip, len(cds))
	for i, cd := range cds {
		models[i].cd = cd
		switch cd.Chip {
		case board.ChipSi3215:
			models[i].fxs = b.newFXS(cd, opts.Chips[cd.Port])
		case board.ChipSi3050:
			models[i].daa, models[i].err = b.newFXO(cd, opts.FXO[cd.Port])
		}
	}
	for _, group := range chipSelects(models) {
		bringUpGroup(group, speed)
	}
	for _, m := range models {
		cd := m.cd
		port := board.Port{N: cd.Port, Kind: cd.Kind, Slot: cd.Slot, FXS: m.fxsPort, FXO: m.fxoPort}
		name := fmt.Sprintf("sim-spi%d.cs%d", cd.SPIBus, cd.CS)
		if m.err != nil {
			port.FXS, port.FXO = nil, nil
			port.Fault = fmt.Errorf("port %d: %w", cd.Port, m.err)
			log.Error("sim board: chip failed", "board", def.Name, "port", cd.Port, "kind", cd.Kind, "chip", name, "chain", cd.Chain, "err", m.err)
		} else {
			log.Debug("sim board: port up", "board", def.Name, "port", cd.Port, "kind", cd.Kind, "chip", name, "chain", cd.Chain, "slot", cd.Slot)
		}
		b.Ports = append(b.Ports, port)
	}
	log.Info("sim board: up", "board", def.Name, "ports", len(b.Ports), "slots", def.Slots)
	return b, nil
}

// simChip is one port's chip model on its way up.
type simChip struct {
	cd      board.ChipDef
	fxs     *model.Chip    // an Si3215 port's model
	daa     *fxomodel.Chip // an Si3050 port's model
	fxsPort board.FXS
	fxoPort board.FXO
	err     error // why the port is out of service
}

// chipSelects groups the chips by SPI bus and chip select, the groups in
// the order of their first port, each group in chain order.
func chipSelects(models []simChip) [][]*simChip {
	var groups [][]*simChip
	at := map[[2]int]int{}
	for i := range models {
		k := [2]int{models[i].cd.SPIBus, models[i].cd.CS}
		g, ok := at[k]
		if !ok {
			g = len(groups)
			at[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], &models[i])
	}
	for _, g := range groups {
		for i := 1; i < len(g); i++ {
			for j := i; j > 0 && g[j].cd.Chain < g[j-1].cd.Chain; j-- {
				g[j], g[j-1] = g[j-1], g[j]
			}
		}
	}
	return groups
}

// bringUpGroup connects to one chip select's chips (a daisy chain when
// there are several, or when the definition asks for daisy-chain mode)
// and brings each up with the real driver; a failure is recorded on the
// chips it concerns.
func bringUpGroup(g []*simChip, speed physic.Frequency) {
	fail := func(err error) {
		for _, m := range g {
			if m.err == nil {
				m.err = err
			}
		}
	}
	cd := g[0].cd
	name := fmt.Sprintf("sim-spi%d.cs%d", cd.SPIBus, cd.CS)
	var port interface {
		Connect(physic.Frequency, spi.Mode, int) (spi.Conn, error)
	}
	switch {
	case cd.Chip == board.ChipSi3215 && (len(g) > 1 || cd.Daisy):
		var cs []*model.Chip
		for _, m := range g {
			cs = append(cs, m.fxs)
		}
		bus, err := model.NewBus(cs...)
		if err != nil {
			fail(err)
			return
		}
		port = bus
	case cd.Chip == board.ChipSi3215:
		port = g[0].fxs
	case len(g) > 1:
		var cs []*fxomodel.Chip
		for _, m := range g {
			if m.daa != nil {
				cs = append(cs, m.daa)
			}
		}
		bus, err := fxomodel.NewBus(cs...)
		if err != nil {
			fail(err)
			return
		}
		port = bus
	default:
		port = g[0].daa
	}
	if cd.Chip == board.ChipSi3050 {
		conn, err := port.Connect(speed, si3050.SPIMode, 8)
		if err != nil {
			fail(fmt.Errorf("spi connect: %w", err))
			return
		}
		for _, m := range g {
			if m.err != nil {
				continue
			}
			var rst gpio.PinOut
			if m.cd.Reset != "" {
				rst = m.daa.ResetPin()
			}
			dev, err := si3050.New(conn, rst, m.daa.IRQPin(), &si3050.Opts{
				Slot:  m.cd.Slot,
				Name:  fmt.Sprintf("%s/%d", name, m.cd.Chain),
				Chain: m.cd.Chain,
				Sleep: func(time.Duration) {},
			})
			if err != nil {
				m.err = err
				continue
			}
			m.fxoPort = chips.NewSi3050FXO(dev)
		}
		return
	}
	conn, err := port.Connect(speed, spi.Mode3, 8)
	if err != nil {
		fail(fmt.Errorf("spi connect: %w", err))
		return
	}
	for _, m := range g {
		var rst gpio.PinOut
		if m.cd.Reset != "" || !m.cd.Daisy {
			rst = m.fxs.ResetPin()
		}
		dev, err := si3215.New(conn, rst, m.fxs.IRQPin(), &si3215.Opts{
			Slot:  m.cd.Slot,
			Name:  name,
			Daisy: m.cd.Daisy,
			Chain: m.cd.Chain,
			Sleep: func(time.Duration) {}, // the model counts accesses, not time
		})
		if err != nil {
			m.err = err
			continue
		}
		m.fxsPort = chips.NewSi3215FXS(dev)
	}
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

// newFXS builds an FXS port's SLIC model with a phone on its line.
func (b *Board) newFXS(cd board.ChipDef, mo model.Opts) *model.Chip {
	if mo.Chain == 0 {
		mo.Chain = cd.Chain
	}
	chip := model.New(mo)
	phone := NewPhoneHistory(cd.Port, HistoryFor(len(b.Def.Chips)))
	if b.country != "" {
		phone.SetFlash(FlashFor(b.country))
	}
	chip.Attach(phone)
	b.highway.Attach(chip)
	b.chips = append(b.chips, chip)
	b.phones = append(b.phones, phone)
	b.byPort[cd.Port] = phone
	return chip
}

// newFXO builds an FXO port's DAA model on a central office line.
func (b *Board) newFXO(cd board.ChipDef, mo fxomodel.Opts) (*fxomodel.Chip, error) {
	if mo.Chain == 0 {
		mo.Chain = cd.Chain
	}
	daa := fxomodel.New(mo)
	co := NewCentralOfficeHistory(cd.Port, HistoryFor(len(b.Def.Chips)))
	daa.Attach(co)
	b.highway.Attach(daa)
	b.daas = append(b.daas, daa)
	b.lines = append(b.lines, co)
	b.byLine[cd.Port] = co
	if b.country != "" {
		if err := co.SetCountry(b.country); err != nil {
			return daa, err
		}
	}
	return daa, nil
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
