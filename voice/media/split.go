package media

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultSplitActive is how many active channels (not Idle, or not
// Idlers) a frame needs for the next frame's Ticks to be split across the
// loop's workers when LoopOpts.SplitActive is 0, and how many channels
// each worker is there for when LoopOpts.Workers is 0: below it one core
// does the frame in far less than its 10 ms and waking a second costs
// more than it saves (docs/PERFORMANCE.md, "Round 7").
const DefaultSplitActive = 8

// MaxLoopWorkers bounds LoopOpts.Workers.
const MaxLoopWorkers = 64

// splitSpin bounds how many times the loop looks at the count of finished
// Ticks before it sleeps until a helper's last one: what is left by then
// is Ticks already under way on helpers, about one channel's work each.
const splitSpin = 1 << 14

// splitter runs one frame's Ticks on several goroutines: the loop's own
// and helpers. The channels (in slot order) are taken one at a time from
// a shared counter, so a helper that wakes late — its thread waiting for
// a CPU — costs the frame nothing: the loop has taken its channels by
// then, and waits only for Ticks already under way. Fork: the loop
// publishes the frame, resets the counters and moves gen on, which wakes
// every helper (wakeWord: one futex system call on Linux, straight to the
// helpers' threads); join: the loop takes channels until none is left,
// then waits until every Tick is done (a short spin, then a sleep on
// wake, a channel: the loop is woken at most once a frame and only when
// a helper's Tick outlasts the spin). Nothing here allocates per frame.
type splitter struct {
	chans   []loopChannel // by slot
	now     time.Duration // the frame being split (written before next is reset)
	next    atomic.Int64  // the next channel to take; ≥ len(chans): none left
	done    atomic.Int64  // Ticks finished this frame
	active  atomic.Int64  // of them, channels active after their Tick
	helped  atomic.Uint64 // Ticks the helpers did, since the start
	waiting atomic.Bool   // the loop sleeps on wake until done
	wake    chan struct{} // cap 1: the loop's wake-up from the last Tick
	gen     wakeWord      // one step per split frame: the helpers' wake-up
	stop    atomic.Bool   // set before gen's last step: the helpers end
	wg      sync.WaitGroup
}

// workerCount resolves LoopOpts.Workers for the channels added.
func (l *Loop) workerCount() int {
	n := len(l.channels)
	w := l.workers
	if w == 0 {
		w = min((n+l.splitAt-1)/l.splitAt, runtime.NumCPU())
	}
	return max(1, min(w, n, MaxLoopWorkers))
}

// startSplit starts the helpers when the loop has more than one worker.
// prio is the SCHED_FIFO priority they take (0 for none); a failure to
// take it is reported like the loop's own.
func (l *Loop) startSplit(prio int) {
	w := l.workerCount()
	l.nworkers.Store(int64(w))
	if w < 2 {
		return
	}
	s := &splitter{chans: slices.Clone(l.channels), wake: make(chan struct{}, 1)}
	slices.SortFunc(s.chans, func(a, b loopChannel) int { return a.slot - b.slot })
	s.next.Store(int64(len(s.chans))) // nothing to take until the first split frame
	for range w - 1 {
		s.wg.Add(1)
		go l.help(s, prio)
	}
	l.split = s
	l.splitView.Store(s)
}

// stopSplit ends the helpers and waits for them; Run calls it between
// frames, so none is ticking.
func (l *Loop) stopSplit() {
	s := l.split
	if s == nil {
		return
	}
	s.stop.Store(true)
	s.gen.add()
	s.wg.Wait()
	l.split = nil
}

// help is a helper goroutine: locked to its OS thread (at the loop's
// real-time priority when one is asked for), it sleeps until the loop
// moves gen on and takes channels until none is left.
func (l *Loop) help(s *splitter, prio int) {
	defer s.wg.Done()
	th := loopThread{prio: prio}
	if err := th.lock(); err != nil {
		msg := fmt.Sprintf("real-time priority %d (loop helper): %v", prio, err)
		l.prioErr.Store(&msg)
	}
	defer th.release()
	var seen uint32 // gen's value when the splitter was made: no frame yet
	for {
		g := s.gen.load()
		if g == seen {
			s.gen.wait(g)
			continue
		}
		seen = g
		if s.stop.Load() {
			return
		}
		if n := s.take(l); n > 0 {
			s.helped.Add(uint64(n))
		}
	}
}

// take ticks channels taken from the counter until none is left and
// returns how many it ticked. Whoever takes a channel ticks it for the
// frame under way: the counter is reset only once every Tick of the last
// frame is done, and only after now is set.
func (s *splitter) take(l *Loop) int {
	n := 0
	total := int64(len(s.chans))
	for {
		i := s.next.Add(1) - 1
		if i >= total {
			return n
		}
		c := &s.chans[i]
		c.ch.Tick(s.now, l.rx[c.slot], l.tx[c.slot])
		if c.idle == nil || !c.idle.Idle() {
			s.active.Add(1)
		}
		n++
		if s.done.Add(1) == total && s.waiting.Load() {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// frame ticks every channel once at now across the workers and returns
// how many channels are active after it.
func (s *splitter) frame(l *Loop, now time.Duration) int {
	total := int64(len(s.chans))
	s.now = now
	s.done.Store(0)
	s.active.Store(0)
	s.next.Store(0)
	s.gen.add()
	s.take(l)
	for i := 0; i < splitSpin && s.done.Load() != total; i++ {
	}
	if s.done.Load() != total {
		// A helper's Tick is still under way: sleep until the last
		// one says so (a word left over from an earlier frame only
		// makes the loop look again).
		s.waiting.Store(true)
		for s.done.Load() != total {
			<-s.wake
		}
		s.waiting.Store(false)
	}
	return int(s.active.Load())
}

// tickShare ticks chans at now and returns how many of them are active
// (not idle, or unable to tell).
func tickShare(chans []loopChannel, now time.Duration, rx, tx [][]int16) int {
	n := 0
	for i := range chans {
		c := &chans[i]
		c.ch.Tick(now, rx[c.slot], tx[c.slot])
		if c.idle == nil || !c.idle.Idle() {
			n++
		}
	}
	return n
}

// tickFrame ticks every channel once at now: across the workers when the
// loop has several, the frame is not part of an idle batch and the last
// frame had at least splitAt active channels; on the loop goroutine alone
// otherwise. It returns how many channels are active after it.
func (l *Loop) tickFrame(now time.Duration, batched bool) int {
	var n int
	if s := l.split; s != nil && !batched && l.active >= l.splitAt {
		l.sends.Flush() // what the commands made
		l.sends.direct.Store(true)
		n = s.frame(l, now)
		l.sends.direct.Store(false)
		l.splitFrames.Add(1)
	} else {
		n = tickShare(l.channels, now, l.rx, l.tx)
		l.sends.Flush()
	}
	l.active = n
	return n
}

// helperTicks returns how many channel Ticks the helpers did.
func (l *Loop) helperTicks() uint64 {
	if s := l.splitView.Load(); s != nil {
		return s.helped.Load()
	}
	return 0
}
