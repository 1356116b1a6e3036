package media

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// policyChan records the scheduling policy of the thread each frame runs
// on; it is busy for frames [busyFrom, busyTo).
type policyChan struct {
	busyFrom, busyTo int
	n                int
	policies         []uint32
}

func (c *policyChan) Tick(time.Duration, []int16, []int16) {
	a, err := unix.SchedGetAttr(0, 0)
	p := uint32(1 << 31)
	if err == nil {
		p = a.Policy
	}
	c.policies = append(c.policies, p)
	c.n++
}

func (c *policyChan) Idle() bool { return c.n <= c.busyFrom || c.n > c.busyTo }

// TestLoopIdleLeavesRealTime: frames waited for one at a time run on a
// SCHED_FIFO thread; idle batches hand the thread back in the normal class,
// and the next busy frame is real-time again.
func TestLoopIdleLeavesRealTime(t *testing.T) {
	if err := realTimeErr(); err != nil {
		t.Skipf("no real-time scheduling here: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &stepClock{limit: 20, cancel: cancel}
	hw := simpcm.New(simpcm.Opts{Slots: 1, Clock: clk})
	l := NewLoop(hw, LoopOpts{Priority: 5})
	ch := &policyChan{busyFrom: 6, busyTo: 12}
	if err := l.Add(0, ch); err != nil {
		t.Fatal(err)
	}
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// Frame 0 waits alone (real-time), frames 1-4 and 5-8 are batches
	// (frames 7 and 8 drain the batch under way though busy), 9-12 wait
	// one at a time, 13-16 and 17-19 are batches again.
	const fifo, other = unix.SCHED_FIFO, 0
	want := []uint32{fifo, other, other, other, other, other, other, other, other,
		fifo, fifo, fifo, fifo, other, other, other, other, other, other, other}
	if len(ch.policies) != len(want) {
		t.Fatalf("policies %v, want %v", ch.policies, want)
	}
	for i := range want {
		if ch.policies[i] != want[i] {
			t.Fatalf("frame %d on policy %d: all %v, want %v (waits %v)", i, ch.policies[i], ch.policies, want, clk.waits)
		}
	}
	if s := l.Stats(); s.PriorityError != "" {
		t.Errorf("priority error %q", s.PriorityError)
	}
}
