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

// FXOEvent is a set of line events an FXO port reports from one poll.
type FXOEvent uint16

// FXO line events.
const (
	// FXORingStart: a validated ring burst began.
	FXORingStart FXOEvent = 1 << iota
	// FXORingStop: the ring burst ended.
	FXORingStop
	// FXOPolarity: the line's polarity reversed (answer or disconnect
	// supervision, caller ID alerting).
	FXOPolarity
	// FXOBatteryLost: the line lost battery (disconnect, cut line).
	FXOBatteryLost
	// FXOBatteryRestored: battery came back.
	FXOBatteryRestored
	// FXOInUse: another phone on the line went off hook.
	FXOInUse
	// FXOInUseEnd: the other phone hung up.
	FXOInUseEnd
)

// FXOStatus is an FXO port's line state after a poll.
type FXOStatus struct {
	// OffHook is true while the port holds (seizes) the line.
	OffHook bool
	// Ringing is true during a validated ring burst; Rings counts the
	// bursts of the current ringing episode.
	Ringing bool
	Rings   int
	// LineVolts is the tip-ring voltage, negative when reversed.
	LineVolts int
	// LoopMA is the loop current while off hook.
	LoopMA int
	// Reversed is the debounced polarity relative to the one at start-up.
	Reversed bool
	// Battery is false while the line has no battery.
	Battery bool
	// InUse is true while another phone on the line is off hook.
	InUse bool
	// Events are the changes found by this poll.
	Events FXOEvent
}

// FXO is the voice layer's view of one office port (a DAA on a PSTN line).
// Its methods are called from the media loop goroutine only, once per frame
// at most.
type FXO interface {
	// SetHook seizes (true) or releases the line.
	SetHook(offHook bool) error
	// Poll samples the line and returns its debounced state with the events
	// since the last poll. now is the frame clock; the driver debounces on
	// it. It must not allocate.
	Poll(now time.Duration) (FXOStatus, error)
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
	// FXO is set when Kind is KindFXO.
	FXO FXO
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
