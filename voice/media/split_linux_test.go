package media

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// fifoChan works d per Tick and counts the Ticks that ran outside
// SCHED_FIFO.
type fifoChan struct {
	d     time.Duration
	other *atomic.Int32
}

func (c fifoChan) Tick(time.Duration, []int16, []int16) {
	if a, err := unix.SchedGetAttr(0, 0); err != nil || a.Policy != unix.SCHED_FIFO {
		c.other.Add(1)
	}
	for start := time.Now(); time.Since(start) < c.d; {
	}
}

// TestLoopWorkersRealTime: with a Priority, the helpers' threads run at it
// too, so every Tick of a split frame runs in SCHED_FIFO whoever does it.
func TestLoopWorkersRealTime(t *testing.T) {
	if err := realTimeErr(); err != nil {
		t.Skipf("no real-time scheduling here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &stepClock{limit: 60, cancel: cancel}
	hw := simpcm.New(simpcm.Opts{Slots: 8, Clock: clk})
	l := NewLoop(hw, LoopOpts{Priority: 5, Workers: 2, SplitActive: 1, IdleBatch: 1})
	var other atomic.Int32
	for s := range 8 {
		if err := l.Add(s, fifoChan{d: 100 * time.Microsecond, other: &other}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if n := other.Load(); n != 0 || s.PriorityError != "" {
		t.Errorf("%d ticks outside SCHED_FIFO (%d by helpers, %d split frames); priority error %q", n, s.HelperTicks, s.Split, s.PriorityError)
	}
	t.Logf("%d of %d ticks of split frames by the helper", s.HelperTicks, 8*s.Split)
}
