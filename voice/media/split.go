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
// each worker gets when LoopOpts.Workers is 0: below it one core does the
// frame in far less than its 10 ms and waking a second costs more than it
// saves (docs/PERFORMANCE.md, "Round 7").
const DefaultSplitActive = 8

// MaxLoopWorkers bounds LoopOpts.Workers.
const MaxLoopWorkers = 64

// splitSpin bounds how many times the loop looks at the helpers' count
// before it parks to wait for them: about 20–60 µs, less than two
// scheduler hand-offs, and short next to a frame's work when a helper is
// late.
const splitSpin = 1 << 14

// splitter runs one frame's Ticks on several goroutines: the loop's own
// and helpers, each with a fixed share of the channels (by slot, dealt
// round-robin). Fork: the loop publishes the frame and wakes every
// helper through its channel (cap 1, struct{}: no allocation); join: the
// last helper to finish sends on done, which the loop takes after a short
// spin on pending. Nothing here allocates per frame.
type splitter struct {
	parts   [][]loopChannel // parts[0] is the loop goroutine's share
	helpers []*helper
	now     time.Duration // the frame being split (written before the wake)
	pending atomic.Int32  // helpers still ticking this frame
	done    chan struct{} // cap 1: the last helper's word
	wg      sync.WaitGroup
}

// helper is a worker goroutine other than the loop's.
type helper struct {
	chans  []loopChannel
	wake   chan struct{} // cap 1; closed to end the helper
	active int           // active channels in the last frame (helper writes, loop reads after the join)
	work   atomic.Int64  // longest time a frame's share took, ns
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
	order := make([]int, len(l.channels))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return l.channels[a].slot - l.channels[b].slot })
	s := &splitter{parts: make([][]loopChannel, w), done: make(chan struct{}, 1)}
	for rank, i := range order {
		s.parts[rank%w] = append(s.parts[rank%w], l.channels[i])
	}
	for _, part := range s.parts[1:] {
		h := &helper{chans: part, wake: make(chan struct{}, 1)}
		s.helpers = append(s.helpers, h)
		s.wg.Add(1)
		go l.help(s, h, prio)
	}
	l.split = s
}

// stopSplit ends the helpers and waits for them; Run calls it between
// frames, so none is ticking.
func (l *Loop) stopSplit() {
	s := l.split
	if s == nil {
		return
	}
	for _, h := range s.helpers {
		close(h.wake)
	}
	s.wg.Wait()
	l.split = nil
}

// help is a helper goroutine: locked to its OS thread (at the loop's
// real-time priority when one is asked for), it parks until the loop
// wakes it, ticks its share of the frame and reports back.
func (l *Loop) help(s *splitter, h *helper, prio int) {
	defer s.wg.Done()
	th := loopThread{prio: prio}
	if err := th.lock(); err != nil {
		msg := fmt.Sprintf("real-time priority %d (loop helper): %v", prio, err)
		l.prioErr.Store(&msg)
	}
	defer th.release()
	for range h.wake {
		start := time.Now()
		h.active = tickShare(h.chans, s.now, l.rx, l.tx)
		if w := int64(time.Since(start)); w > h.work.Load() {
			h.work.Store(w)
		}
		if s.pending.Add(-1) == 0 {
			s.done <- struct{}{}
		}
	}
}

// frame ticks every channel once at now across the workers and returns
// how many channels are active after it.
func (s *splitter) frame(l *Loop, now time.Duration) int {
	s.now = now
	s.pending.Store(int32(len(s.helpers)))
	for _, h := range s.helpers {
		h.wake <- struct{}{}
	}
	n := tickShare(s.parts[0], now, l.rx, l.tx)
	for i := 0; i < splitSpin && s.pending.Load() != 0; i++ {
	}
	<-s.done
	for _, h := range s.helpers {
		n += h.active
	}
	return n
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
		n = s.frame(l, now)
		l.splitFrames.Add(1)
	} else {
		n = tickShare(l.channels, now, l.rx, l.tx)
	}
	l.active = n
	return n
}

// helperWork returns the longest share of a split frame each helper took.
func (l *Loop) helperWork() time.Duration {
	var m int64
	if s := l.splitView.Load(); s != nil {
		for _, h := range s.helpers {
			m = max(m, h.work.Load())
		}
	}
	return time.Duration(m)
}
