// Package board describes a gateway board to the voice layer: its PCM highway
// and its ports, each behind a small interface per port kind. Board
// definitions (sub-packages such as sim) assemble drivers into a Board; the
// voice layer never sees a driver or a chip model, only these interfaces.
package board

import (
	"fmt"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// Kind is the kind of an analog port.
type Kind string

// Port kinds.
const (
	// KindFXS is a station port: a phone or fax hangs on it.
	KindFXS Kind = "fxs"
	// KindFXO is an office port: it hangs on a PSTN line.
	KindFXO Kind = "fxo"
)

// Linefeed is the DC feed state of an FXS port.
type Linefeed int

// Linefeed states, as a SLIC offers them.
const (
	// FeedOpen removes battery: the phone sees a dead line.
	FeedOpen Linefeed = iota
	// FeedForwardActive is normal talk battery.
	FeedForwardActive
	// FeedForwardOHT is on-hook transmission (audio with the phone on hook, for caller ID).
	FeedForwardOHT
	// FeedReverseActive is talk battery with tip and ring swapped.
	FeedReverseActive
	// FeedReverseOHT is on-hook transmission with reversed polarity.
	FeedReverseOHT
)

// String returns the name of the state.
func (f Linefeed) String() string {
	switch f {
	case FeedOpen:
		return "open"
	case FeedForwardActive:
		return "forward-active"
	case FeedForwardOHT:
		return "forward-oht"
	case FeedReverseActive:
		return "reverse-active"
	case FeedReverseOHT:
		return "reverse-oht"
	}
	return fmt.Sprintf("linefeed(%d)", int(f))
}

// FXS is the voice layer's view of one station port. Its methods are called
// from the media loop goroutine only, once per frame at most.
type FXS interface {
	// PollHook samples the hook and returns the debounced state (true: off hook).
	// now is the frame clock (time since the loop started); the driver debounces
	// on it. Ring trip (the phone answering during a ring burst) reads as off hook.
	PollHook(now time.Duration) (offHook bool, err error)
	// SetLinefeed sets the DC feed state. It also ends ringing.
	SetLinefeed(Linefeed) error
	// SetRinging starts (true) or stops (false) ringing voltage. The voice layer
	// makes the cadence by calling it at the cadence's edges.
	SetRinging(on bool) error
}

// Port is one analog port of a board.
type Port struct {
	// N is the port number users see, from 1.
	N int
	// Kind tells which interface field is set.
	Kind Kind
	// Slot is the PCM highway timeslot carrying this port's audio.
	Slot int
	// FXS is set when Kind is KindFXS.
	FXS FXS
	// Fault is non-nil when the port's chip failed to come up; the port is
	// then unusable and the other ports keep working.
	Fault error
}

// Board is an assembled board: its highway and its ports.
type Board struct {
	// Name identifies the board definition ("sim", ...).
	Name string
	// Highway carries every port's audio.
	Highway pcm.Highway
	// Ports lists the ports in order of N.
	Ports []Port
}
