package media

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// Channel is what the loop drives for one timeslot every frame. Tick must
// neither block nor allocate.
//
// Tick runs on one of the loop's workers (LoopOpts.Workers): with more
// than one, the Ticks of a frame run on several goroutines at once. A
// channel's own Ticks never overlap each other, a command queued with Do
// or the highway's exchange — everything a frame does before the Ticks
// happens before each of them, and every Tick of a frame before the
// frame's exchange and the next frame's commands — but two channels' Ticks
// may run in parallel. So channels must not share mutable state: what two
// channels both touch during Tick (a chip bus, a capture, counters, a
// logger) must be safe for concurrent use and never make a Tick wait
// long; state that only works one channel after the other belongs in one
// Channel (a port's calls and their conference are one port's channel).
// Which worker ticks a channel can change from frame to frame (split
// frames share the channels out as the workers come free; other frames
// run every Tick on the loop goroutine), so a Tick must not rely on its
// thread either.
type Channel interface {
	// Tick gets the frame the highway captured on the channel's slot and
	// fills playout with what the slot sends next. now is the frame clock:
	// time since the loop started, in whole frames.
	Tick(now time.Duration, capture, playout []int16)
}

// Idler is implemented by a Channel that can tell the loop it is idle: no
// call, no tone, no timer or detector that needs its frames on time. While
// every channel is idle and the highway can hold frames (pcm.Batcher), the
// loop wakes once per LoopOpts.IdleBatch frames and processes them in a row.
// Idle runs right after the channel's Tick, on the same goroutine, and
// must neither block nor allocate. The loop also counts the active
// channels this way to decide whether to split the next frame across its
// workers (LoopOpts.SplitActive).
type Idler interface {
	Idle() bool
}

// DefaultIdleBatch is how many frames an idle loop processes per wake-up
// when LoopOpts.IdleBatch is 0: 40 ms, the hook-detection latency of drivers
// that poll the hook every 16–20 ms and debounce it over two polls; a line
// that goes off hook is then heard within 40 ms and from then on every frame
// is on time again.
const DefaultIdleBatch = 4

// DefaultDeepIdleBatch is how many frames a loop processes per wake-up
// once every channel has been idle for DefaultDeepIdleAfter (when
// LoopOpts.DeepIdleBatch is 0): 100 ms, so an off-hook after a quiet spell
// is heard within 100 ms plus the drivers' 32–40 ms debounce — dial tone
// within 140 ms, far inside what a caller notices (dial tone delay is
// specified in seconds) — and an idle gateway wakes 10 times a second
// instead of 25 (docs/PERFORMANCE.md: 0.70 → 0.37 % of a core). The first
// second after any activity keeps the shorter IdleBatch.
const DefaultDeepIdleBatch = 10

// DefaultDeepIdleAfter is how many idle frames in a row (1 s) come before
// the loop takes DeepIdleBatch frames per wake-up.
const DefaultDeepIdleAfter = 100

// ErrQueueFull is returned by Do when the command queue has no room.
var ErrQueueFull = errors.New("media: loop command queue full")

// ErrStopped is returned by Do and Call once the loop has stopped.
var ErrStopped = errors.New("media: loop stopped")

// LatenessBuckets are the upper bounds of the tick-lateness histogram; the
// last bucket counts everything above the last bound.
var LatenessBuckets = [...]time.Duration{
	500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
	5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
}

// WorkBuckets are the upper bounds of the per-frame work histogram (the
// time one frame's commands and channel ticks take); the last bucket
// counts everything above the last bound.
var WorkBuckets = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 1500 * time.Microsecond, 2 * time.Millisecond,
	2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
}

// Stats are the loop's health counters.
type Stats struct {
	// Running is true between the start and the end of Run.
	Running bool
	// Ticks counts frames processed.
	Ticks uint64
	// Late counts frames processed more than one frame after their boundary.
	Late uint64
	// Missed counts frames the loop skipped because it ran behind.
	Missed uint64
	// MaxLateness is the worst lateness seen.
	MaxLateness time.Duration
	// MaxWork is the longest a frame's processing took (commands and
	// every channel's Tick): a frame that takes long makes the next late.
	MaxWork time.Duration
	// Histogram counts ticks by lateness: Histogram[i] counts ticks with
	// lateness up to LatenessBuckets[i]; the last entry counts the rest.
	Histogram [len(LatenessBuckets) + 1]uint64
	// WorkHistogram counts frames by their processing time: entry i counts
	// frames that took up to WorkBuckets[i]; the last entry the rest.
	WorkHistogram [len(WorkBuckets) + 1]uint64
	// Batched counts frames processed in idle batches (LoopOpts.IdleBatch).
	Batched uint64
	// LastTick is the wall-clock time of the last processed frame.
	LastTick time.Time
	// Priority is the SCHED_FIFO priority the loop's OS thread runs at, 0
	// for the normal time-sharing class; PriorityError says why the
	// requested priority could not be set (e.g. no CAP_SYS_NICE).
	Priority      int
	PriorityError string
	// Workers is how many goroutines share the channels' Ticks
	// (LoopOpts.Workers, resolved when Run starts): 1 is the loop alone.
	Workers int
	// Split counts frames whose Ticks ran across the workers.
	Split uint64
	// HelperTicks counts the channel Ticks of split frames that helpers
	// did (the loop's own goroutine did the rest): how much the other
	// cores took on.
	HelperTicks uint64
}

// Loop is the real-time media loop.
type Loop struct {
	hw       pcm.Highway
	batcher  pcm.Batcher // hw, if it can hold frames
	batch    int         // frames per wake-up while every channel is idle
	deep     int         // frames per wake-up after deepAfter idle frames
	deepAt   uint64      // idle frames in a row before deep batches
	idleRun  uint64      // idle frames in a row so far (loop goroutine)
	tx, rx   [][]int16
	channels []loopChannel
	cmds     chan func()
	sends    SendBatch // the streams' packets, sent together (sendbatch.go)

	workers     int // LoopOpts.Workers as given (0: automatic)
	splitAt     int // active channels from which frames are split
	active      int // active channels after the last frame (loop goroutine)
	split       *splitter
	splitView   atomic.Pointer[splitter] // split, for Stats
	nworkers    atomic.Int64
	splitFrames atomic.Uint64

	running  atomic.Bool
	stopped  atomic.Bool
	ticks    atomic.Uint64
	batched  atomic.Uint64
	late     atomic.Uint64
	missed   atomic.Uint64
	maxLate  atomic.Int64
	maxWork  atomic.Int64
	lastTick atomic.Int64
	hist     [len(LatenessBuckets) + 1]atomic.Uint64
	workHist [len(WorkBuckets) + 1]atomic.Uint64
	priority int
	prio     atomic.Int64
	prioErr  atomic.Pointer[string]
}

type loopChannel struct {
	slot int
	ch   Channel
	idle Idler // ch, if it implements Idler
}

// LoopOpts configures a Loop.
type LoopOpts struct {
	// QueueLen bounds the command queue; 0 means 256.
	QueueLen int
	// Priority, when above 0, puts the loop's OS thread (and only it) in
	// the SCHED_FIFO real-time class at that priority (1..99), so that a
	// busy machine — a SIP flood, other processes — cannot delay a frame,
	// and makes the loop pass through the Go scheduler once per frame
	// (see Run).
	// Failure (no CAP_SYS_NICE, not Linux) leaves the thread as it was
	// and is reported in Stats.PriorityError. 0 leaves it alone; use it
	// with virtual clocks, where the loop runs flat out.
	Priority int
	// IdleBatch is how many frames the loop processes per wake-up while
	// every channel is idle (Idler) and no command is queued, on a highway
	// that can hold frames (pcm.Batcher); 0 means DefaultIdleBatch, 1 or
	// less turns batches off. Frames that take part in a batch count as
	// late only when late after the batch's due time (Stats.Batched).
	IdleBatch int
	// DeepIdleBatch is how many frames the loop processes per wake-up
	// once every channel has been idle for DeepIdleAfter frames in a
	// row; 0 means DefaultDeepIdleBatch, and a value not above the idle
	// batch keeps the idle batch throughout. DeepIdleAfter 0 means
	// DefaultDeepIdleAfter.
	DeepIdleBatch, DeepIdleAfter int
	// Workers is how many goroutines share the channels' Ticks of a busy
	// frame: the loop's own and Workers−1 helpers, each locked to its OS
	// thread (at Priority when set), taking the channels one at a time in
	// slot order until none is left (a helper that wakes late leaves its
	// part to the others). 0 picks one worker per SplitActive channels,
	// at most runtime.NumCPU(); 1 (or a negative value) keeps every Tick
	// on the loop goroutine; at most MaxLoopWorkers and the number of
	// channels. Read the Channel doc comment before using more
	// than one.
	Workers int
	// SplitActive is how many channels must be active (Idler not idle, or
	// not an Idler) after a frame for the next frame to be split across
	// the workers; below it, in idle batches and in idle frames the loop
	// ticks every channel itself and the helpers sleep. 0 means
	// DefaultSplitActive.
	SplitActive int
}

// NewLoop makes a loop over hw. Add the channels, then Run it.
func NewLoop(hw pcm.Highway, opts LoopOpts) *Loop {
	if opts.QueueLen <= 0 {
		opts.QueueLen = 256
	}
	n := hw.Slots()
	l := &Loop{
		hw:       hw,
		tx:       make([][]int16, n),
		rx:       make([][]int16, n),
		cmds:     make(chan func(), opts.QueueLen),
		priority: min(opts.Priority, 99),
		batch:    opts.IdleBatch,
	}
	if l.batch == 0 {
		l.batch = DefaultIdleBatch
	}
	l.workers = min(opts.Workers, MaxLoopWorkers)
	if l.workers < 0 {
		l.workers = 1
	}
	l.splitAt = max(cmp.Or(opts.SplitActive, DefaultSplitActive), 1)
	l.deep = cmp.Or(opts.DeepIdleBatch, DefaultDeepIdleBatch)
	l.deepAt = uint64(cmp.Or(opts.DeepIdleAfter, DefaultDeepIdleAfter))
	if b, ok := hw.(pcm.Batcher); ok && l.batch > 1 {
		l.batcher = b
	}
	return l
}

// SendBatch returns the loop's SendBatch, for StreamOpts.Batch of the
// streams its channels send on.
func (l *Loop) SendBatch() *SendBatch { return &l.sends }

// Add attaches ch to highway slot. It must be called before Run.
func (l *Loop) Add(slot int, ch Channel) error {
	if l.running.Load() {
		return errors.New("media: channels must be added before the loop runs")
	}
	if slot < 0 || slot >= len(l.tx) {
		return fmt.Errorf("media: slot %d outside the highway's %d slots", slot, len(l.tx))
	}
	if l.tx[slot] != nil {
		return fmt.Errorf("media: slot %d already has a channel", slot)
	}
	l.tx[slot] = make([]int16, pcm.FrameSamples)
	l.rx[slot] = make([]int16, pcm.FrameSamples)
	idle, _ := ch.(Idler)
	l.channels = append(l.channels, loopChannel{slot: slot, ch: ch, idle: idle})
	return nil
}

// Do queues f to run on the loop goroutine before the next frame's
// processing. It never blocks: a full queue returns ErrQueueFull.
func (l *Loop) Do(f func()) error {
	if l.stopped.Load() {
		return ErrStopped
	}
	select {
	case l.cmds <- f:
		return nil
	default:
		return ErrQueueFull
	}
}

// Call runs f on the loop goroutine and waits until it has run, ctx ends or
// the loop stops.
func (l *Loop) Call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	if err := l.Do(func() { f(); close(done) }); err != nil {
		return err
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if l.stopped.Load() {
				return ErrStopped
			}
			t.Reset(time.Second)
		}
	}
}

// Run processes frames until ctx ends or the highway fails. It locks its
// goroutine to an OS thread.
func (l *Loop) Run(ctx context.Context) error {
	th := loopThread{prio: l.priority}
	if err := th.lock(); err != nil {
		msg := fmt.Sprintf("real-time priority %d: %v", l.priority, err)
		l.prioErr.Store(&msg)
	} else if th.rt {
		l.prio.Store(int64(l.priority))
		defer l.prio.Store(0)
	}
	defer th.release()
	// Helpers take the loop's priority only when the loop could: the
	// reason it could not is the loop's, and stays reported as such.
	if th.rt {
		l.startSplit(l.priority)
	} else {
		l.startSplit(0)
	}
	l.running.Store(true)
	defer func() {
		l.stopSplit()
		l.running.Store(false)
		l.stopped.Store(true)
	}()
	var prev uint64
	first := true
	for ctx.Err() == nil {
		batched := l.batcher != nil && l.batcher.Batching()
		if batched {
			// Idle batch: the goroutine waits on a Go timer (see the
			// sim clock) and is run by whichever thread fires it; a
			// locked thread would be woken by that thread in turn.
			th.release()
		} else if err := th.lock(); err != nil {
			msg := fmt.Sprintf("real-time priority %d: %v", l.priority, err)
			l.prioErr.Store(&msg)
		}
		seq, late, err := l.hw.Exchange(ctx, l.tx, l.rx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("media: pcm highway: %w", err)
		}
		if !first && seq > prev+1 {
			// The highway dropped frames: this one is as late as
			// the first frame it dropped.
			l.missed.Add(seq - prev - 1)
			late += time.Duration(seq-prev-1) * pcm.FrameDuration
		}
		first = false
		prev = seq
		start := l.account(late)
		l.runCommands()
		if batched {
			l.batched.Add(1)
		}
		now := time.Duration(seq) * pcm.FrameDuration
		idle := l.tickFrame(now, batched) == 0 && l.batcher != nil
		if l.batcher != nil {
			if idle && len(l.cmds) == 0 {
				l.idleRun++
				if l.batch > 1 && l.deep > l.batch && l.idleRun >= l.deepAt {
					l.batcher.SetBatch(l.deep)
				} else {
					l.batcher.SetBatch(l.batch)
				}
			} else {
				l.idleRun = 0
				l.batcher.SetBatch(1)
			}
		}
		w := time.Since(start)
		if int64(w) > l.maxWork.Load() {
			l.maxWork.Store(int64(w))
		}
		b := 0
		for b < len(WorkBuckets) && w > WorkBuckets[b] {
			b++
		}
		l.workHist[b].Add(1)
		if l.priority > 0 && (l.batcher == nil || !l.batcher.Batching()) {
			// Real-time configuration: pass through the scheduler
			// once per frame, while the next boundary is still ~10 ms
			// away. A locked goroutine that only ever leaves its P
			// for the highway's system call (a real clock sleeps in
			// the kernel) looks to the runtime's sysmon like one
			// running 10 ms without yielding: it would take the P
			// away at each frame and, as a bet that work is
			// starting, poll every 20 µs — far more CPU than the
			// calls (docs/PERFORMANCE.md, bench-peers). Not in idle
			// batches: a thread that sleeps 40 ms at a time gives its
			// P up to sysmon and takes an idle one back on waking,
			// and a pass through the scheduler there costs more than
			// the sleep (the hand-off wakes sysmon, which then polls
			// every 20 µs for a while: docs/PERFORMANCE.md).
			th.yield()
		}
	}
	return nil
}

// loopThread is the loop goroutine's hold on its OS thread: locked to it,
// and at the real-time priority when one is asked for, while frames are
// waited for one at a time; handed back to the runtime, in the normal
// class, for idle batches.
type loopThread struct {
	prio   int  // SCHED_FIFO priority wanted, 0 for none
	failed bool // setting the priority failed once: not tried again
	locked bool
	rt     bool // thread tid is in SCHED_FIFO
	tid    int  // the thread raised to SCHED_FIFO (when rt)
}

// lock locks the goroutine to its thread and has that thread in
// SCHED_FIFO; the error is the first failure to do so (the thread stays
// locked, in the normal class). After a pass through the scheduler
// (yield) the goroutine is normally back on the thread it left, still in
// SCHED_FIFO, and lock costs a gettid(2); should another thread have
// picked it up, the priority moves: this one is raised and the thread
// left goes back to the normal class, unless a goroutine that locked it
// since holds it there for itself (fifoHolds).
func (t *loopThread) lock() error {
	if !t.locked {
		runtime.LockOSThread()
		t.locked = true
	}
	if t.prio <= 0 || t.failed {
		return nil
	}
	tid := threadID()
	if t.rt && tid == t.tid {
		return nil
	}
	if t.rt {
		if err := dropFIFO(t.tid); err != nil {
			// The thread left would run other goroutines at real-time
			// priority: give the priority up altogether.
			t.failed = true
			return fmt.Errorf("returning thread %d to the normal class: %w", t.tid, err)
		}
		t.rt = false
	}
	if err := holdFIFO(tid, t.prio); err != nil {
		t.failed = true
		return err
	}
	t.rt, t.tid = true, tid
	return nil
}

// yield passes the goroutine through the scheduler once. A locked
// goroutine's pass stops its thread and hands the P to another, which
// finds the goroutine, gives the P back and wakes the locked thread
// again: three thread wake-ups a frame. So the goroutine is unlocked for
// the pass — the same thread normally runs it straight on — and the
// loop's next frame locks it again (lock). The pass is the runtime's
// goyield, not Gosched: Gosched queues the goroutine globally and wakes
// an idle P's thread to look for work, which on a mostly idle gateway
// spins, finds nothing and sleeps again, a futex wake-up and a cross-CPU
// interrupt every frame (docs/PERFORMANCE.md, round 16); goyield queues
// it on its own P and wakes nobody.
// The thread stays in SCHED_FIFO through the pass: leaving the real-time
// class and coming back cost two sched_setattr(2) a frame, and the
// demotion often had the thread preempted on its way out of the system
// call (docs/PERFORMANCE.md, round 15). What the thread may run in the
// pass at real-time priority is what the runtime puts before the loop: a
// goroutine the frame's work readied, until it blocks or is preempted,
// while the loop's goroutine waits for that thread or is picked up by
// another (then lock moves the priority there).
func (t *loopThread) yield() {
	if t.locked {
		runtime.UnlockOSThread()
		t.locked = false
	}
	goyield()
}

// release hands the thread back to the runtime in the normal class; a
// thread that cannot leave SCHED_FIFO stays locked (it would otherwise run
// other goroutines at real-time priority) and ends with the goroutine.
func (t *loopThread) release() {
	if t.rt {
		if dropFIFO(t.tid) != nil {
			return
		}
		t.rt = false
	}
	if t.locked {
		runtime.UnlockOSThread()
		t.locked = false
	}
}

func (l *Loop) runCommands() {
	for {
		select {
		case f := <-l.cmds:
			f()
		default:
			return
		}
	}
}

// account counts a frame processed late after its boundary and returns
// the time its processing starts.
func (l *Loop) account(late time.Duration) time.Time {
	t := time.Now()
	l.ticks.Add(1)
	l.lastTick.Store(t.UnixNano())
	if late > pcm.FrameDuration {
		l.late.Add(1)
	}
	if int64(late) > l.maxLate.Load() {
		l.maxLate.Store(int64(late))
	}
	i := 0
	for i < len(LatenessBuckets) && late > LatenessBuckets[i] {
		i++
	}
	l.hist[i].Add(1)
	return t
}

// Stats returns the loop's counters; safe from any goroutine.
func (l *Loop) Stats() Stats {
	s := Stats{
		Running:     l.running.Load(),
		Ticks:       l.ticks.Load(),
		Batched:     l.batched.Load(),
		Late:        l.late.Load(),
		Missed:      l.missed.Load(),
		MaxLateness: time.Duration(l.maxLate.Load()),
		MaxWork:     time.Duration(l.maxWork.Load()),
		Priority:    int(l.prio.Load()),
		Workers:     int(l.nworkers.Load()),
		Split:       l.splitFrames.Load(),
	}
	s.HelperTicks = l.helperTicks()
	if e := l.prioErr.Load(); e != nil {
		s.PriorityError = *e
	}
	if t := l.lastTick.Load(); t != 0 {
		s.LastTick = time.Unix(0, t)
	}
	for i := range l.hist {
		s.Histogram[i] = l.hist[i].Load()
	}
	for i := range l.workHist {
		s.WorkHistogram[i] = l.workHist[i].Load()
	}
	return s
}
