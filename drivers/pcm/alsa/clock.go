package alsa

import (
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// frameClock numbers the captured frames and measures how late each one
// was read against the time the first one was read.
//
// After a capture overrun the kernel has dropped the frames the reader
// did not take in time and the stream restarts: the numbering skips the
// frames lost (so the media loop counts them missed, and the first frame
// after the gap as late as the first one lost) and the lateness is
// measured from the restart on. Without that every later frame read as
// late as the stall that caused the overrun, for good.
//
// A frame cannot be captured before its boundary, so one read earlier
// than the clock expects shows the clock's origin was taken late (the
// first read came late, or the card's clock runs faster than the
// system's): the origin moves back to it. A card clock slower than the
// system's makes every frame a little later than the last: the origin
// follows a late frame by at most originCreep per frame (1 % of a frame:
// a card 1 % slow, far beyond any crystal and beyond snd-aloop's timer
// under emulation, which measured 0.3 %), so skew does not add up to
// lateness while a stall still shows whole.
// originCreep is how far a late frame moves the clock's origin on.
const originCreep = pcm.FrameDuration / 100

type frameClock struct {
	start time.Time // when frame 1 was due, on the restarted stream's scale
	seq   uint64    // the last frame's number, 0 before the first
}

// tick numbers the frame read at now; restarted tells that the capture
// stream was prepared again before this read.
func (c *frameClock) tick(now time.Time, restarted bool) (seq uint64, late time.Duration) {
	switch {
	case c.seq == 0:
		c.start = now
		c.seq = 1
		return c.seq, 0
	case restarted:
		due := c.start.Add(time.Duration(c.seq) * pcm.FrameDuration) // when frame seq+1 was due
		if behind := now.Sub(due); behind > 0 {
			c.seq += uint64(behind / pcm.FrameDuration)
		}
		c.seq++
		c.start = now.Add(-time.Duration(c.seq-1) * pcm.FrameDuration)
		return c.seq, 0
	}
	c.seq++
	late = now.Sub(c.start) - time.Duration(c.seq-1)*pcm.FrameDuration
	switch {
	case late < 0:
		c.start = c.start.Add(late)
		late = 0
	case late > 0:
		c.start = c.start.Add(min(late, originCreep))
	}
	return c.seq, late
}
