// Package sim is a virtual PCM highway for the simulated board. It implements
// pcm.Highway: each Exchange waits for the next frame on a Clock (real time,
// or a VirtualClock that runs as fast as the loop asks), puts the host's
// playout on the bus, lets every attached Device (a chip model) read and write
// the timeslots it is programmed for, and hands back what the chips captured.
//
// The highway keeps one buffer per slot and direction, made in New, so a frame
// costs no allocation.
package sim

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// DefaultSlots is the number of timeslots a highway has when Opts.Slots is 0.
const DefaultSlots = 4

// DefaultBacklog is the number of frames the bus buffers for a late host when
// Opts.Backlog is 0.
const DefaultBacklog = 2

// ErrClosed is returned by Exchange after Close.
var ErrClosed = errors.New("pcm/sim: highway closed")

// Device is a chip on the bus. Transfer is called once per frame, on the media
// loop's goroutine: fromHost holds what the host plays out on every slot,
// toHost is where the chip writes what it captured, on the slots it is
// programmed for (slots nobody writes carry silence). Each slot holds
// pcm.FrameSamples samples. A Device must not keep the slices.
type Device interface {
	Transfer(seq uint64, fromHost, toHost [][]int16)
}

// Opts configures a highway.
type Opts struct {
	// Slots is the number of timeslots; 0 means DefaultSlots.
	Slots int
	// Clock paces frames; nil means RealClock().
	Clock Clock
	// Backlog is how many frames of lateness the bus absorbs before it drops
	// frames, like a hardware buffer of that many periods: a host that comes
	// back Backlog or more frames late finds the frames in between lost and the
	// sequence number jumps to the current frame. 0 means DefaultBacklog.
	Backlog int
}

// Highway is a virtual PCM bus. Attach devices before the media loop starts;
// Exchange is then called from one goroutine. Close may be called from any
// goroutine.
type Highway struct {
	slots    int
	clock    Clock
	backlog  time.Duration
	devs     []Device
	fromHost [][]int16
	toHost   [][]int16
	next     uint64
	closed   atomic.Bool
	// batch is the frames per wake-up (SetBatch); batchEnd the last frame
	// of the batch under way, whose boundary its frames wait for.
	batch    int
	batchEnd uint64
	inBatch  bool
	// modelNS is the devices' CPU time in Transfer, in nanoseconds.
	modelNS atomic.Int64
}

var (
	_ pcm.Highway  = (*Highway)(nil)
	_ pcm.Batcher  = (*Highway)(nil)
	_ pcm.Modelled = (*Highway)(nil)
)

// New makes a highway.
func New(opts Opts) *Highway {
	h := &Highway{slots: opts.Slots, clock: opts.Clock}
	if h.slots <= 0 {
		h.slots = DefaultSlots
	}
	if h.clock == nil {
		h.clock = RealClock()
	}
	backlog := opts.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	h.backlog = time.Duration(backlog) * pcm.FrameDuration
	h.fromHost = make([][]int16, h.slots)
	h.toHost = make([][]int16, h.slots)
	for i := range h.slots {
		h.fromHost[i] = make([]int16, pcm.FrameSamples)
		h.toHost[i] = make([]int16, pcm.FrameSamples)
	}
	return h
}

// Attach puts a device on the bus. Call it before the loop starts.
func (h *Highway) Attach(d Device) {
	h.devs = append(h.devs, d)
}

// Slots implements pcm.Highway.
func (h *Highway) Slots() int { return h.slots }

// Exchange implements pcm.Highway. tx and rx may be shorter than Slots();
// missing and nil entries are skipped (a skipped tx slot plays silence). An
// entry shorter than pcm.FrameSamples is used as far as it goes.
func (h *Highway) Exchange(ctx context.Context, tx, rx [][]int16) (uint64, time.Duration, error) {
	if h.closed.Load() {
		return 0, 0, ErrClosed
	}
	if len(tx) > h.slots || len(rx) > h.slots {
		return 0, 0, fmt.Errorf("pcm/sim: %d tx and %d rx slots on a %d-slot highway", len(tx), len(rx), h.slots)
	}
	seq := h.next
	due := seq
	if h.inBatch && seq > h.batchEnd {
		h.inBatch = false
	}
	if !h.inBatch && h.batch > 1 {
		h.inBatch, h.batchEnd = true, seq+uint64(h.batch)-1
	}
	if h.inBatch {
		due = h.batchEnd
	}
	late, err := h.clock.WaitFrame(ctx, due)
	if err != nil {
		return 0, 0, err
	}
	if h.closed.Load() {
		return 0, 0, ErrClosed
	}
	if late >= h.backlog {
		// Overrun: the frames since the due one were lost; resume at the
		// current one.
		skip := uint64(late / pcm.FrameDuration)
		seq = due + skip
		late -= time.Duration(skip) * pcm.FrameDuration
		h.inBatch = false
	}
	h.next = seq + 1

	for i, buf := range h.fromHost {
		var src []int16
		if i < len(tx) {
			src = tx[i]
		}
		n := copy(buf, src)
		clear(buf[n:])
		clear(h.toHost[i])
	}
	// One frame in modelSample is timed, the phase moving on by one
	// every modelSample frames, so that work repeating every few frames
	// (a 20 ms packet spans two) is timed at each of its phases; what a
	// timed frame took counts modelSample times. Reading a thread's CPU
	// clock is a system call: twice every frame it was a tenth of what
	// it measured.
	timed := (seq/modelSample+seq)%modelSample == 0
	var cpu0 time.Duration
	var wall0 time.Time
	if timed {
		cpu0, wall0 = threadCPU(), time.Now()
	}
	for _, d := range h.devs {
		d.Transfer(seq, h.fromHost, h.toHost)
	}
	if timed {
		// The thread's CPU clock, bounded by the wall clock's: should
		// the goroutine have moved to another thread in between, the
		// difference of two threads' clocks means nothing.
		h.modelNS.Add(modelSample * int64(min(max(threadCPU()-cpu0, 0), time.Since(wall0))))
	}
	for i, dst := range rx {
		if dst != nil {
			copy(dst, h.toHost[i])
		}
	}
	return seq, late, nil
}

// modelSample is one in how many frames' Transfers ModelCPU times.
const modelSample = 4

// ModelCPU implements pcm.Modelled: the CPU time the attached devices
// (the chip models, and the phones and lines behind them) took in their
// Transfers, measured on the calling thread's CPU clock over one frame in
// modelSample (every phase of a short period in turn) and scaled.
func (h *Highway) ModelCPU() time.Duration { return time.Duration(h.modelNS.Load()) }

// SetBatch implements pcm.Batcher. On a VirtualClock, which runs as fast
// as the loop asks and may be stepped frame by frame, n is ignored.
func (h *Highway) SetBatch(n int) {
	if _, virtual := h.clock.(*VirtualClock); virtual {
		n = 1
	}
	h.batch = n
}

// Batching implements pcm.Batcher.
func (h *Highway) Batching() bool {
	return h.batch > 1 || (h.inBatch && h.next <= h.batchEnd)
}

// Close stops the bus: later Exchanges return ErrClosed. It does not interrupt
// an Exchange blocked on its clock; cancel that call's context for that.
func (h *Highway) Close() error {
	h.closed.Store(true)
	return nil
}
