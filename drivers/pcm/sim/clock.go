package sim

import (
	"context"
	"sync"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// Clock paces a simulated highway. Frame seq's boundary lies seq*pcm.FrameDuration
// after the clock's start.
type Clock interface {
	// WaitFrame blocks until frame seq's boundary and returns how late after
	// that boundary it returned. It returns ctx's error if ctx ends first.
	WaitFrame(ctx context.Context, seq uint64) (late time.Duration, err error)
}

// realClock paces frames by the wall clock's monotonic reading.
type realClock struct {
	now     func() time.Time
	start   time.Time
	started bool
	timer   *time.Timer
}

// RealClock returns a Clock paced by real time. Its start instant is the first
// call to WaitFrame (frame 0 passes at once); frame seq's boundary is
// seq*pcm.FrameDuration later on the monotonic clock. A caller already past a
// boundary gets an immediate return with the lateness. The clock belongs to
// one goroutine, like the highway that uses it.
func RealClock() Clock {
	return &realClock{now: time.Now}
}

// WaitFrame implements Clock.
func (c *realClock) WaitFrame(ctx context.Context, seq uint64) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := c.now()
	if !c.started {
		c.started = true
		c.start = now
	}
	boundary := c.start.Add(time.Duration(seq) * pcm.FrameDuration)
	for {
		wait := boundary.Sub(now)
		if wait <= 0 {
			return -wait, nil
		}
		if wait <= pcm.FrameDuration && threadSleep(wait) {
			// Slept on this thread in the kernel: the wake-up needs no
			// other thread (see sleep_linux.go). A frame at most, so a
			// cancelled ctx is seen within a frame. A longer wait is a
			// batch of idle frames (pcm.Batcher): a thread asleep in a
			// system call for more than 10 ms has its P taken by the
			// runtime's sysmon, and when it wakes it wakes sysmon,
			// which then polls every 20 µs and preempts the loop —
			// several times the cost of the sleep. A Go timer parks the
			// goroutine instead, its P goes idle and sysmon sleeps; the
			// timer's wake-up comes through an ordinary thread, which
			// an idle line (40 ms of hook latency) can afford.
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			now = c.now()
			continue
		}
		if c.timer == nil {
			c.timer = time.NewTimer(wait)
		} else {
			c.timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			c.timer.Stop()
			return 0, ctx.Err()
		case <-c.timer.C:
		}
		now = c.now()
	}
}

// VirtualClock is a Clock for tests and for running the simulated board faster
// than real time: WaitFrame returns at once with no lateness and advances the
// virtual time Now to the frame's boundary.
//
// A VirtualClock can also be gated: after the first call to Allow (or Step) it
// lets only the frames allowed so far pass and blocks WaitFrame until more are
// allowed, so a test can step the media loop frame by frame from another
// goroutine. The zero value is ready to use and ungated. Its methods are safe
// for concurrent use.
type VirtualClock struct {
	mu      sync.Mutex
	now     time.Duration
	gated   bool
	credits uint64
	waiting bool          // a WaitFrame is blocked for want of credits
	wake    chan struct{} // signals a blocked WaitFrame that credits arrived
	idle    chan struct{} // signals Step that WaitFrame blocked
}

var _ Clock = (*VirtualClock)(nil)

// init makes the channels; called with mu held.
func (c *VirtualClock) init() {
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
		c.idle = make(chan struct{}, 1)
	}
}

// WaitFrame implements Clock. Ungated it returns at once; gated it waits for
// an allowed frame or the end of ctx.
func (c *VirtualClock) WaitFrame(ctx context.Context, seq uint64) (time.Duration, error) {
	c.mu.Lock()
	c.init()
	for c.gated && c.credits == 0 {
		c.waiting = true
		c.mu.Unlock()
		select {
		case c.idle <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			c.mu.Lock()
			c.waiting = false
			c.mu.Unlock()
			return 0, ctx.Err()
		case <-c.wake:
		}
		c.mu.Lock()
	}
	c.waiting = false
	if c.gated {
		c.credits--
	}
	if t := time.Duration(seq) * pcm.FrameDuration; t > c.now {
		c.now = t
	}
	c.mu.Unlock()
	return 0, nil
}

// Now reports the virtual time: the boundary of the latest frame that passed.
func (c *VirtualClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Allow gates the clock (if it was not yet) and lets n more frames pass.
func (c *VirtualClock) Allow(n int) {
	c.mu.Lock()
	c.init()
	c.gated = true
	if n > 0 {
		c.credits += uint64(n)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Release ends gating: from now on every frame passes at once.
func (c *VirtualClock) Release() {
	c.mu.Lock()
	c.init()
	c.gated = false
	c.credits = 0
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Step allows n frames and waits until the loop has used them all and is
// blocked waiting for the next one, which means it has finished processing the
// last allowed frame. It returns ctx's error if ctx ends first.
func (c *VirtualClock) Step(ctx context.Context, n int) error {
	c.mu.Lock()
	c.init()
	// Drop a stale idle signal from before these frames were allowed.
	select {
	case <-c.idle:
	default:
	}
	c.mu.Unlock()
	c.Allow(n)
	for {
		c.mu.Lock()
		done := c.waiting && c.credits == 0
		c.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.idle:
		}
	}
}
