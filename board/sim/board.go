// Package sim is the simulated board: two FXS ports, each an Si3215 chip model
// driven by the real drivers/si3215 driver, and an FXO port 3, an Si3050
// model driven by drivers/si3050 and hung on a virtual central office
// (CentralOffice), on a virtual PCM highway
// (drivers/pcm/sim). Each model's tip/ring pair is wired to a virtual Phone
// with a hook switch, a keypad that dials DTMF as audio or pulses on the
// hook, a tone sender, a ringer that counts rings and an earpiece whose audio
// is recorded and analysed. The drivers cannot tell they are simulated: every
// hook change, ring and sample passes through the chip's registers and the
// highway's timeslots.
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

// Name is the board definition's name.
const Name = "sim"

// Ports is the number of FXS ports on the simulated board.
const Ports = 2

// FXOPort is the port number of the FXO port (the Si3050 on the virtual
// central office line).
const FXOPort = Ports + 1

// Slots is the number of timeslots on the simulated highway (room for the FXO
// port and one spare).
const Slots = 4

// SPISpeed is the SPI clock the board runs its chips at.
const SPISpeed = 1 * physic.MegaHertz

// ErrNoPort is returned (wrapped) by Board.Phone for a port the board lacks.
var ErrNoPort = errors.New("board/sim: no such port")

var _ model.Terminal = (*Phone)(nil)

// Opts configures the simulated board.
type Opts struct {
	// Clock paces the highway; nil means real time. A *simpcm.VirtualClock
	// runs the board as fast as the media loop asks.
	Clock simpcm.Clock
	// Logger receives bring-up messages; nil discards them.
	Logger *slog.Logger
	// Chips holds each port's chip model options, port 1 first. The zero
	// value is a healthy chip; a test of fault handling can set, say, ID 0x0F
	// (no chip answers) or StuckCalibration.
	Chips [Ports]model.Opts
	// FXO holds the FXO port's DAA model options; the zero value is a
	// healthy Si3050 + Si3019.
	FXO fxomodel.Opts
}

// Board is the assembled simulated board. Its embedded board.Board is what
// the voice layer uses; Phone and Phones reach the virtual phones, for the sim
// control API and tests.
type Board struct {
	board.Board
	highway *simpcm.Highway
	chips   []*model.Chip
	phones  []*Phone
	daa     *fxomodel.Chip
	co      *CentralOffice
}

// New builds the board: the highway, a chip model and a phone per port, and a
// driver for each chip brought up through SPI. A chip that fails to come up
// leaves its port with Fault set and the other port still works, so a chip
// fault is not an error of New; the error is for failures of the board as a
// whole.
func New(opts Opts) (*Board, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hw := simpcm.New(simpcm.Opts{Slots: Slots, Clock: opts.Clock})
	b := &Board{
		Board:   board.Board{Name: Name, Highway: hw},
		highway: hw,
	}
	for i := range Ports {
		n, slot := i+1, i
		name := fmt.Sprintf("sim-spi0.cs%d", i)
		chip := model.New(opts.Chips[i])
		phone := NewPhone(n)
		chip.Attach(phone)
		hw.Attach(chip)
		b.chips = append(b.chips, chip)
		b.phones = append(b.phones, phone)

		port := board.Port{N: n, Kind: board.KindFXS, Slot: slot}
		dev, err := bringUp(chip, name, slot)
		if err != nil {
			port.Fault = fmt.Errorf("port %d: %w", n, err)
			log.Error("sim board: fxs chip failed", "port", n, "chip", name, "err", err)
		} else {
			port.FXS = &fxs{dev: dev}
			log.Info("sim board: fxs port up", "port", n, "chip", name, "slot", slot)
		}
		b.Ports = append(b.Ports, port)
	}
	b.addFXO(opts.FXO, log)
	return b, nil
}

// addFXO builds port FXOPort: the DAA model on the central office line,
// brought up by the real driver.
func (b *Board) addFXO(mo fxomodel.Opts, log *slog.Logger) {
	n, slot := FXOPort, FXOPort-1
	name := fmt.Sprintf("sim-spi0.cs%d", slot)
	b.daa = fxomodel.New(mo)
	b.co = NewCentralOffice(n)
	b.daa.Attach(b.co)
	b.highway.Attach(b.daa)
	port := board.Port{N: n, Kind: board.KindFXO, Slot: slot}
	dev, err := bringUpFXO(b.daa, name, slot)
	if err != nil {
		port.Fault = fmt.Errorf("port %d: %w", n, err)
		log.Error("sim board: fxo chip failed", "port", n, "chip", name, "err", err)
	} else {
		port.FXO = chips.NewSi3050FXO(dev)
		log.Info("sim board: fxo port up", "port", n, "chip", name, "slot", slot)
	}
	b.Ports = append(b.Ports, port)
}

// bringUpFXO connects to the DAA model and initialises it with the driver.
func bringUpFXO(chip *fxomodel.Chip, name string, slot int) (*si3050.Dev, error) {
	conn, err := chip.Connect(SPISpeed, si3050.SPIMode, 8)
	if err != nil {
		return nil, fmt.Errorf("spi connect: %w", err)
	}
	return si3050.New(conn, chip.ResetPin(), chip.IRQPin(), &si3050.Opts{
		Slot:  slot,
		Name:  name,
		Sleep: func(time.Duration) {},
	})
}

// Line returns the central office line of FXO port n.
func (b *Board) Line(n int) (*CentralOffice, error) {
	if n != FXOPort {
		return nil, fmt.Errorf("line %d: %w", n, ErrNoPort)
	}
	return b.co, nil
}

// DAA returns the FXO port's chip model (for tests and fault injection).
func (b *Board) DAA() *fxomodel.Chip { return b.daa }

// bringUp connects to a chip model and initialises it with the real driver.
func bringUp(chip *model.Chip, name string, slot int) (*si3215.Dev, error) {
	conn, err := chip.Connect(SPISpeed, spi.Mode3, 8)
	if err != nil {
		return nil, fmt.Errorf("spi connect: %w", err)
	}
	return si3215.New(conn, chip.ResetPin(), chip.IRQPin(), &si3215.Opts{
		Slot:  slot,
		Name:  name,
		Sleep: func(time.Duration) {}, // the model counts accesses, not time
	})
}

// Phone returns the phone on port n (from 1).
func (b *Board) Phone(n int) (*Phone, error) {
	if n < 1 || n > len(b.phones) {
		return nil, fmt.Errorf("phone %d: %w", n, ErrNoPort)
	}
	return b.phones[n-1], nil
}

// Phones returns the phones in port order.
func (b *Board) Phones() []*Phone {
	return append([]*Phone(nil), b.phones...)
}

// Close stops the highway.
func (b *Board) Close() error { return b.highway.Close() }

// fxs adapts the si3215 driver to board.FXS.
type fxs struct {
	dev *si3215.Dev
}

var _ board.FXS = (*fxs)(nil)

// linefeeds maps board feed states to the chip's.
var linefeeds = [...]si3215.Linefeed{
	board.FeedOpen:          si3215.LinefeedOpen,
	board.FeedForwardActive: si3215.LinefeedForwardActive,
	board.FeedForwardOHT:    si3215.LinefeedForwardOHT,
	board.FeedReverseActive: si3215.LinefeedReverseActive,
	board.FeedReverseOHT:    si3215.LinefeedReverseOHT,
}

// PollHook implements board.FXS.
func (f *fxs) PollHook(now time.Duration) (bool, error) { return f.dev.PollHook(now) }

// SetLinefeed implements board.FXS.
func (f *fxs) SetLinefeed(lf board.Linefeed) error {
	if lf < 0 || int(lf) >= len(linefeeds) {
		return fmt.Errorf("board/sim: unknown linefeed %v", lf)
	}
	return f.dev.SetLinefeed(linefeeds[lf])
}

// SetRinging implements board.FXS.
func (f *fxs) SetRinging(on bool) error { return f.dev.SetRinging(on) }
