package media

import (
	"context"
	"testing"
	"time"

	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// spinChan works at least spin on each tick whose frame number is in slow.
type spinChan struct {
	slow  map[int]time.Duration
	ticks int
}

func (c *spinChan) Tick(now time.Duration, capture, playout []int16) {
	if d := c.slow[c.ticks]; d > 0 {
		for start := time.Now(); time.Since(start) < d; {
		}
	}
	c.ticks++
}

// TestLoopWorkHistogram: every frame is counted once in the work
// histogram, and frames whose channels took at least 1.2 ms and 6 ms are
// counted above the 1 ms and 5 ms bounds.
func TestLoopWorkHistogram(t *testing.T) {
	clock := &simpcm.VirtualClock{}
	hw := simpcm.New(simpcm.Opts{Slots: 2, Clock: clock})
	l := NewLoop(hw, LoopOpts{})
	ch := &spinChan{slow: map[int]time.Duration{3: 1200 * time.Microsecond, 7: 6 * time.Millisecond}}
	if err := l.Add(0, ch); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	clock.Allow(0)
	go func() { done <- l.Run(ctx) }()
	if err := clock.Step(ctx, 20); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	s := l.Stats()
	var total, over1ms, over5ms uint64
	for i, n := range s.WorkHistogram {
		total += n
		if i > 0 && WorkBuckets[i-1] >= time.Millisecond {
			over1ms += n
		}
		if i > 0 && WorkBuckets[i-1] >= 5*time.Millisecond {
			over5ms += n
		}
	}
	if total != s.Ticks || s.Ticks < 20 {
		t.Errorf("work histogram holds %d frames, the loop ticked %d: %v", total, s.Ticks, s.WorkHistogram)
	}
	if over1ms < 2 || over5ms < 1 {
		t.Errorf("%d frames above 1 ms and %d above 5 ms, want ≥ 2 and ≥ 1: %v", over1ms, over5ms, s.WorkHistogram)
	}
	if s.MaxWork < 6*time.Millisecond {
		t.Errorf("max work %v, want ≥ 6 ms", s.MaxWork)
	}
}
