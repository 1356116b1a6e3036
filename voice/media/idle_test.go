package media

import (
	"context"
	"runtime"
	"testing"
	"time"

	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// stepClock is a simpcm.Clock that records the frames the highway waits for
// and ends the run after a number of waits; it never sleeps.
type stepClock struct {
	waits  []uint64
	limit  int
	cancel context.CancelFunc
}

func (c *stepClock) WaitFrame(ctx context.Context, seq uint64) (time.Duration, error) {
	if len(c.waits) == c.limit {
		c.cancel()
		return 0, context.Canceled
	}
	c.waits = append(c.waits, seq)
	return 0, ctx.Err()
}

// idleChan is a channel that is idle outside the frames [busyFrom, busyTo).
type idleChan struct {
	busyFrom, busyTo int
	ticks            int
	frames           []time.Duration
}

func (c *idleChan) Tick(now time.Duration, capture, playout []int16) {
	c.frames = append(c.frames, now)
	c.ticks++
}

func (c *idleChan) Idle() bool { return c.ticks <= c.busyFrom || c.ticks > c.busyTo }

// plainChan has no Idle method.
type plainChan struct{}

func (plainChan) Tick(time.Duration, []int16, []int16) {}

// TestLoopIdleBatches: while every channel is idle the loop asks the
// highway for batches (each batch waits once, for its last frame); a busy
// channel, a channel that cannot tell, a queued command or IdleBatch 1 keep
// one wait per frame; every frame still reaches every channel in order.
func TestLoopIdleBatches(t *testing.T) {
	tests := []struct {
		name      string
		batch     int
		busy      [2]int // frames (1-based, after Tick) the first channel is busy
		plain     bool   // add a channel without Idle
		command   bool   // queue a command before the run
		frames    int
		wantWaits []uint64
		batched   uint64
	}{
		{
			name: "idle throughout", frames: 12, busy: [2]int{-1, -1},
			wantWaits: []uint64{0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12},
			batched:   11,
		},
		{
			name: "busy from frame 3 to 6", frames: 12, busy: [2]int{2, 6},
			wantWaits: []uint64{0, 4, 4, 4, 4, 5, 6, 10, 10, 10, 10, 14},
			batched:   9,
		},
		{
			name: "batches off", frames: 6, batch: 1, busy: [2]int{-1, -1},
			wantWaits: []uint64{0, 1, 2, 3, 4, 5},
		},
		{
			name: "a channel that cannot tell", frames: 6, plain: true, busy: [2]int{-1, -1},
			wantWaits: []uint64{0, 1, 2, 3, 4, 5},
		},
		{
			name: "a queued command runs in the first frame", frames: 6, command: true, busy: [2]int{-1, -1},
			wantWaits: []uint64{0, 4, 4, 4, 4, 8},
			batched:   5,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := &stepClock{limit: tc.frames, cancel: cancel}
			hw := simpcm.New(simpcm.Opts{Slots: 4, Clock: clk})
			l := NewLoop(hw, LoopOpts{IdleBatch: tc.batch})
			a := &idleChan{busyFrom: tc.busy[0], busyTo: tc.busy[1]}
			b := &idleChan{busyFrom: -1, busyTo: -1}
			if err := l.Add(0, a); err != nil {
				t.Fatal(err)
			}
			if err := l.Add(2, b); err != nil {
				t.Fatal(err)
			}
			if tc.plain {
				if err := l.Add(3, plainChan{}); err != nil {
					t.Fatal(err)
				}
			}
			ran := false
			if tc.command {
				if err := l.Do(func() { ran = true }); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if len(clk.waits) != len(tc.wantWaits) {
				t.Fatalf("waits %v, want %v", clk.waits, tc.wantWaits)
			}
			for i := range clk.waits {
				if clk.waits[i] != tc.wantWaits[i] {
					t.Fatalf("waits %v, want %v", clk.waits, tc.wantWaits)
				}
			}
			if tc.command && !ran {
				t.Error("the queued command did not run")
			}
			for _, c := range []*idleChan{a, b} {
				if len(c.frames) != tc.frames {
					t.Fatalf("a channel ticked %d times in %d frames", len(c.frames), tc.frames)
				}
				for i, f := range c.frames {
					if f != time.Duration(i)*10*time.Millisecond {
						t.Fatalf("tick %d got frame time %v", i, f)
					}
				}
			}
			if s := l.Stats(); s.Batched != tc.batched || s.Ticks != uint64(tc.frames) || s.Late != 0 {
				t.Errorf("stats: %d batched of %d ticks, %d late; want %d batched", s.Batched, s.Ticks, s.Late, tc.batched)
			}
		})
	}
}

// TestLoopIdleBatchesAllocateNothing: frames in and out of idle batches,
// with the switch between them, allocate nothing (the run's setup aside).
func TestLoopIdleBatchesAllocateNothing(t *testing.T) {
	const frames = 4000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &stepClock{limit: frames, cancel: cancel, waits: make([]uint64, 0, frames)}
	hw := simpcm.New(simpcm.Opts{Slots: 2, Clock: clk})
	l := NewLoop(hw, LoopOpts{})
	ch := &toggleChan{}
	if err := l.Add(1, ch); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 20 {
		t.Errorf("%d allocations in %d frames", n, frames)
	}
	if s := l.Stats(); s.Batched < frames/4 || s.Batched > frames*3/4 {
		t.Errorf("%d of %d frames batched, want about half", s.Batched, frames)
	}
}

// toggleChan is idle for 50 frames, busy for 50, and so on.
type toggleChan struct{ n int }

func (c *toggleChan) Tick(time.Duration, []int16, []int16) { c.n++ }
func (c *toggleChan) Idle() bool                           { return c.n/50%2 == 0 }
