package line

import (
	"fmt"
	"time"
)

// maxRingSteps is the longest ring cadence SetNextRingCadence takes (the
// GR-506 distinctive patterns have at most six steps).
const maxRingSteps = 16

// SetNextRingCadence sets the cadence (on, off, on, off ... durations,
// repeating) of the next ringing, in place of the country's: a distinctive
// ring chosen from the call's Alert-Info (dsp.DistinctiveRing). It applies
// once, to the ringing Ring starts next; nil or empty restores the
// country's cadence. A cadence of odd length, with a non-positive step or
// more than 16 steps is refused with an error and changes nothing. Called
// on the media loop goroutine like the other commands; it does not
// allocate.
func (l *FXS) SetNextRingCadence(c []time.Duration) error {
	if len(c)%2 != 0 || len(c) > maxRingSteps {
		return fmt.Errorf("fxs line %d: ring cadence of %d steps: want an even number up to %d", l.n, len(c), maxRingSteps)
	}
	for _, d := range c {
		if d <= 0 {
			return fmt.Errorf("fxs line %d: ring cadence step %v is not positive", l.n, d)
		}
	}
	l.nNext = copy(l.next[:], c)
	return nil
}

// pendingCadence returns the cadence the next ringing will use, without
// forgetting the override.
func (l *FXS) pendingCadence() []time.Duration {
	if l.nNext == 0 {
		return l.ring
	}
	return l.next[:l.nNext]
}

// ringCadence returns the cadence the ringing starting now uses and
// forgets the one-shot override.
func (l *FXS) ringCadence() []time.Duration {
	if l.nNext == 0 {
		return l.ring
	}
	n := copy(l.run[:], l.next[:l.nNext])
	l.nNext = 0
	return l.run[:n]
}
