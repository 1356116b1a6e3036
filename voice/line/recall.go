package line

import "github.com/loopstart/loopstart/dsp"

// Commands for flash call control: the gateway holds a call and gives the
// phone a second dial tone, or returns to a call from any off-hook state.

// Recall gives the phone a second dial tone during a call (the far end is
// on hold): from StateTalking with the phone off hook, the line collects a
// new number (EventDialed) as from a first dial tone. It reports whether
// it did.
func (l *FXS) Recall() bool {
	if l.st != StateTalking || !l.offHook {
		return false
	}
	l.cidAbort()
	l.setState(StateDialTone)
	return true
}

// Resume returns the phone to a call from any off-hook state of a call in
// progress (second dial tone, dialing, calling, ringback, busy, reorder,
// silence): StateTalking with peer. It reports whether it did.
func (l *FXS) Resume(peer string) bool {
	switch l.st {
	case StateDialTone, StateDialing, StateCalling, StateRingback, StateBusy, StateReorder, StateDisconnected, StateTalking:
	default:
		return false
	}
	if !l.offHook {
		return false
	}
	l.peer = peer
	l.setState(StateTalking)
	return true
}

// Profile returns the country profile the line plays its tones from.
func (l *FXS) Profile() *dsp.Profile { return l.prof }
