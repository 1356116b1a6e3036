package media

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"

	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// TestLoopDeepIdleBatches: after DeepIdleAfter idle frames in a row the
// loop asks for batches of DeepIdleBatch frames; any busy frame goes back
// to one wait per frame after the batch under way, and the next idle spell
// starts again from IdleBatch. Every frame is still ticked in order.
func TestLoopDeepIdleBatches(t *testing.T) {
	tests := []struct {
		name        string
		batch, deep int
		after       int
		busy        [2]int // ticks (1-based) after which the channel is busy
		frames      int
		wantDue     []uint64 // the distinct frames waited for, in order
	}{
		{
			name: "deep after 8 idle frames", batch: 4, deep: 10, after: 8, frames: 40, busy: [2]int{-1, -1},
			wantDue: []uint64{0, 4, 8, 18, 28, 38, 48},
		},
		{
			name: "activity starts the count again", batch: 4, deep: 10, after: 8, frames: 40, busy: [2]int{20, 22},
			wantDue: []uint64{0, 4, 8, 18, 28, 32, 42},
		},
		{
			name: "a deep batch no larger than the idle batch", batch: 4, deep: 3, after: 2, frames: 13, busy: [2]int{-1, -1},
			wantDue: []uint64{0, 4, 8, 12},
		},
		{
			name: "batches off", batch: 1, deep: 10, after: 1, frames: 5, busy: [2]int{-1, -1},
			wantDue: []uint64{0, 1, 2, 3, 4},
		},
		{
			name: "defaults: a second of idle frames first", frames: 130, busy: [2]int{-1, -1},
			wantDue: []uint64{0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84, 88, 92, 96, 100, 110, 120, 130},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := &stepClock{limit: tc.frames, cancel: cancel}
			hw := simpcm.New(simpcm.Opts{Slots: 2, Clock: clk})
			l := NewLoop(hw, LoopOpts{IdleBatch: tc.batch, DeepIdleBatch: tc.deep, DeepIdleAfter: tc.after})
			a := &idleChan{busyFrom: tc.busy[0], busyTo: tc.busy[1]}
			if err := l.Add(0, a); err != nil {
				t.Fatal(err)
			}
			if err := l.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if due := slices.Compact(slices.Clone(clk.waits)); !slices.Equal(due, tc.wantDue) {
				t.Fatalf("frames waited for %v, want %v (every wait: %v)", due, tc.wantDue, clk.waits)
			}
			if len(a.frames) != tc.frames {
				t.Fatalf("ticked %d times in %d frames", len(a.frames), tc.frames)
			}
			for i, f := range a.frames {
				if f != time.Duration(i)*pcm.FrameDuration {
					t.Fatalf("tick %d got frame time %v", i, f)
				}
			}
		})
	}
}
