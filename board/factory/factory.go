// Package factory opens the board a product runs on, by definition name:
// the one path from `loopstart run --board NAME` to a board.Board.
//
// A definition made of chip models (board.Sim, board.QEMU) is built by
// board/sim, whose *sim.Board is returned as the board's sim control
// surface. A real definition (board.RPiTDM400, ...) is opened in three
// steps:
//
//  1. the device files it needs are checked (/dev/spidev<bus>.<cs> per chip
//     select, a /dev/gpiochip* when a reset or IRQ line is named, the ALSA
//     PCMs /dev/snd/pcmC<card>D<device>p and c); when any is missing Open
//     fails with one *MissingError naming them all;
//  2. the ALSA highway is opened and kept running: a pump goroutine
//     exchanges silent frames, so the PCM clocks the chips need during
//     bring-up run, until the media loop's first Exchange takes the
//     highway over. A highway that does not open, or gives no frame within
//     Opts.PCMTimeout, is not an error: every port is marked faulted with
//     the reason and a virtual highway (drivers/pcm/sim on Opts.Clock, real
//     time by default) stands in, so the product runs with its web UI up;
//  3. board/hw brings the chips up through periph.io's host drivers; a chip
//     that does not answer marks its port's Fault and the others work.
package factory

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hw"
	"github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/drivers/pcm/alsa"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// DefaultPCMTimeout is how long a real highway may take to deliver its
// first frame when Opts.PCMTimeout is 0.
const DefaultPCMTimeout = time.Second

// Opts configures Open.
type Opts struct {
	// DevRoot is the directory the device files are looked for under
	// ("/" when empty); tests point it at a fake tree. It only moves the
	// check: the ALSA and periph.io drivers open the real /dev.
	DevRoot string
	// Logger receives bring-up messages; nil discards them.
	Logger *slog.Logger
	// Clock paces a model board's highway, and the stand-in highway of a
	// real board whose PCM is down; nil means real time.
	Clock simpcm.Clock
	// Country selects a real board's line settings ("us" when empty).
	Country string
	// Host opens a real board's SPI ports and GPIOs; nil means periph.io.
	Host hw.Host
	// Highway, when set, is a real board's PCM bus instead of the ALSA
	// device the definition names (tests inject a virtual one).
	Highway pcm.Highway
	// PCMTimeout bounds the wait for a real highway's first frame; 0 means
	// DefaultPCMTimeout.
	PCMTimeout time.Duration
	// Sleep is the chip drivers' wait on a real board; nil means
	// time.Sleep.
	Sleep func(time.Duration)
}

// Board is an opened board. Its embedded board.Board is what the voice
// layer takes (gateway.Config.Board = &b.Board).
type Board struct {
	board.Board
	// Def is the definition the board was opened from.
	Def board.Definition
	// Sim is the simulated board's control surface (virtual phones and
	// central offices) on a model board, nil on a real one.
	Sim *sim.Board
	// PCMFault is why the real highway is not in use, nil when it is (and
	// on a model board). Every port's Fault then carries it too.
	PCMFault error

	close func() error
}

// Close halts the chips (line open, DAA on hook) and closes the SPI ports
// and the highway.
func (b *Board) Close() error { return b.close() }

// MissingError is Open's error when device files a real board needs are
// absent.
type MissingError struct {
	// Board is the definition's name.
	Board string
	// Files are the missing files, in the order the definition needs them.
	Files []string
}

// Error names every missing file on one line.
func (e *MissingError) Error() string {
	return fmt.Sprintf("board %s: missing device files: %s", e.Board, strings.Join(e.Files, ", "))
}

// Open opens the board definition named name (board.Lookup).
func Open(name string, o Opts) (*Board, error) {
	def, err := board.Lookup(name)
	if err != nil {
		return nil, err
	}
	return OpenDefinition(def, o)
}

// OpenDefinition opens def: see the package documentation. The error is for
// the board as a whole (an invalid definition, missing device files, no
// periph.io host drivers); chips and a PCM highway that do not work only
// fault ports.
func OpenDefinition(def board.Definition, o Opts) (*Board, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if def.Models {
		sb, err := sim.New(sim.Opts{Definition: def, Clock: o.Clock, Logger: log, Country: o.Country})
		if err != nil {
			return nil, err
		}
		return &Board{Board: sb.Board, Def: def, Sim: sb, close: sb.Close}, nil
	}
	missing, err := Missing(def, o.DevRoot)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, &MissingError{Board: def.Name, Files: missing}
	}
	hwy, pcmErr := openHighway(def, o)
	if pcmErr != nil {
		pcmErr = fmt.Errorf("pcm highway %s: %w", def.Highway, pcmErr)
		log.Error("board: no PCM highway; every port out of service", "board", def.Name, "err", pcmErr)
		return faulted(def, o, pcmErr), nil
	}
	hb, err := hw.Open(def, hw.Opts{Highway: hwy, Country: o.Country, Logger: log, Host: o.Host, Sleep: o.Sleep})
	if err != nil {
		return nil, errors.Join(err, hwy.Close())
	}
	return &Board{Board: hb.Board, Def: def, close: hb.Close}, nil
}

// faulted is a real board without its highway: every port out of service
// for reason, on a virtual highway the media loop can still run on.
func faulted(def board.Definition, o Opts, reason error) *Board {
	stand := simpcm.New(simpcm.Opts{Slots: def.Slots, Clock: o.Clock})
	b := &Board{
		Board:    board.Board{Name: def.Name, Highway: stand},
		Def:      def,
		PCMFault: reason,
		close:    stand.Close,
	}
	for _, cd := range sortedChips(def) {
		b.Ports = append(b.Ports, board.Port{N: cd.Port, Kind: cd.Kind, Slot: cd.Slot,
			Fault: fmt.Errorf("port %d: %w", cd.Port, reason)})
	}
	return b
}

// sortedChips returns def's chips in port order.
func sortedChips(def board.Definition) []board.ChipDef {
	cds := append([]board.ChipDef(nil), def.Chips...)
	for i := 1; i < len(cds); i++ {
		for j := i; j > 0 && cds[j].Port < cds[j-1].Port; j-- {
			cds[j], cds[j-1] = cds[j-1], cds[j]
		}
	}
	return cds
}

// openHighway opens the real board's highway (or takes o.Highway) and
// starts it: it returns once the first frame came, with the pump keeping
// the clocks running.
func openHighway(def board.Definition, o Opts) (pcm.Highway, error) {
	h := o.Highway
	if h == nil {
		card, dev, err := ALSADevice(def.Highway)
		if err != nil {
			return nil, err
		}
		a, err := alsa.Open(alsa.Opts{Card: card, Device: dev, Slots: def.Slots})
		if err != nil {
			return nil, err
		}
		h = a
	}
	if h.Slots() < def.Slots {
		return nil, errors.Join(fmt.Errorf("%d slots, the board needs %d", h.Slots(), def.Slots), h.Close())
	}
	timeout := o.PCMTimeout
	if timeout <= 0 {
		timeout = DefaultPCMTimeout
	}
	return startPump(h, timeout)
}

// Missing returns the device files def needs that do not exist under root
// ("/" when empty), as paths under root: /dev/spidev<bus>.<cs> for each
// chip select, /dev/gpiochip0 when a reset or IRQ GPIO is named and there
// is no /dev/gpiochip* at all, and the ALSA capture and playback PCMs of an
// "alsa:hw:C,D" highway. Model boards need none.
func Missing(def board.Definition, root string) ([]string, error) {
	if def.Models {
		return nil, nil
	}
	if root == "" {
		root = "/"
	}
	var missing []string
	need := func(rel string) {
		p := filepath.Join(root, rel)
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	seen := map[[2]int]bool{}
	gpio := false
	for _, cd := range def.Chips {
		if k := [2]int{cd.SPIBus, cd.CS}; !seen[k] {
			seen[k] = true
			need(fmt.Sprintf("/dev/spidev%d.%d", cd.SPIBus, cd.CS))
		}
		gpio = gpio || cd.Reset != "" || cd.IRQ != ""
	}
	if gpio {
		chips, err := filepath.Glob(filepath.Join(root, "/dev/gpiochip*"))
		if err != nil {
			return nil, fmt.Errorf("board %s: %w", def.Name, err)
		}
		if len(chips) == 0 {
			missing = append(missing, filepath.Join(root, "/dev/gpiochip0"))
		}
	}
	if strings.HasPrefix(def.Highway, "alsa:") {
		card, dev, err := ALSADevice(def.Highway)
		if err != nil {
			return nil, fmt.Errorf("board %s: %w", def.Name, err)
		}
		need(fmt.Sprintf("/dev/snd/pcmC%dD%dp", card, dev))
		need(fmt.Sprintf("/dev/snd/pcmC%dD%dc", card, dev))
	}
	return missing, nil
}

// ALSADevice parses a definition's highway "alsa:hw:CARD,DEVICE" (or
// "alsa:hw:CARD", device 0) into card and device numbers.
func ALSADevice(highway string) (card, device uint, err error) {
	rest, ok := strings.CutPrefix(highway, "alsa:hw:")
	if !ok {
		return 0, 0, fmt.Errorf("highway %q: want alsa:hw:CARD,DEVICE", highway)
	}
	c, d, hasDev := strings.Cut(rest, ",")
	num := func(s string) (uint, error) {
		n, err := strconv.ParseUint(s, 10, 8)
		if err != nil || (len(s) > 1 && s[0] == '0') {
			return 0, fmt.Errorf("highway %q: want alsa:hw:CARD,DEVICE with decimal numbers 0-255", highway)
		}
		return uint(n), nil
	}
	if card, err = num(c); err != nil {
		return 0, 0, err
	}
	if hasDev {
		if device, err = num(d); err != nil {
			return 0, 0, err
		}
	}
	return card, device, nil
}
