package media

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// hookDev is a device on the sim highway: each runs for every frame the
// highway exchanges (on the loop goroutine) with the frame's number and
// what the channels played.
type hookDev struct {
	each func(seq uint64, fromHost [][]int16)
}

func (d *hookDev) Transfer(seq uint64, fromHost, toHost [][]int16) { d.each(seq, fromHost) }

// splitProbe is shared by a test's channels and commands: how many Ticks
// are under way, whether a command is running, and what went wrong.
type splitProbe struct {
	inTick  atomic.Int32
	inCmd   atomic.Bool
	overlap atomic.Int32 // Ticks that saw a command running
}

// splitChan records the frames it is ticked for and checks the loop's
// promises; it reports idle when idle is set.
type splitChan struct {
	p      *splitProbe
	idle   bool
	frames []time.Duration
	slot   int
}

func (c *splitChan) Tick(now time.Duration, capture, playout []int16) {
	c.p.inTick.Add(1)
	if c.p.inCmd.Load() {
		c.p.overlap.Add(1)
	}
	c.frames = append(c.frames, now)
	for i := range playout {
		playout[i] = int16(c.slot)
	}
	c.p.inTick.Add(-1)
}

func (c *splitChan) Idle() bool { return c.idle }

// TestLoopWorkers: with one, two or four workers every channel is ticked
// once per frame, in frame order; the commands queued between frames run
// while no Tick is under way and see every channel ticked for every frame
// before them; idle frames, idle batches and frames with fewer active
// channels than SplitActive are not split; Run ends its helpers.
func TestLoopWorkers(t *testing.T) {
	tests := []struct {
		name        string
		workers     int
		splitActive int
		slots       []int
		idle        bool
		wantWorkers int
		wantSplit   bool
	}{
		{"one worker", 1, 1, []int{0, 1, 2, 3, 4, 5, 6, 7}, false, 1, false},
		{"two workers", 2, 1, []int{0, 1, 2, 3, 4, 5, 6, 7}, false, 2, true},
		{"four workers, scattered slots", 4, 1, []int{30, 2, 17, 5, 11, 23, 8}, false, 4, true},
		{"four workers, three channels", 4, 1, []int{3, 1, 2}, false, 3, true},
		{"automatic, 32 channels", 0, 0, seq(32), false, min(4, runtime.NumCPU()), runtime.NumCPU() > 1},
		{"automatic, 7 channels", 0, 0, seq(7), false, 1, false},
		{"four workers, idle channels", 4, 1, seq(8), true, 4, false},
		{"two workers, fewer active than SplitActive", 2, 9, seq(8), false, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const frames = 200
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := &stepClock{limit: frames, cancel: cancel}
			hw := simpcm.New(simpcm.Opts{Slots: 32, Clock: clk})
			l := NewLoop(hw, LoopOpts{Workers: tc.workers, SplitActive: tc.splitActive})
			p := &splitProbe{}
			var chans []*splitChan
			for _, s := range tc.slots {
				c := &splitChan{p: p, idle: tc.idle, slot: s, frames: make([]time.Duration, 0, frames)}
				chans = append(chans, c)
				if err := l.Add(s, c); err != nil {
					t.Fatal(err)
				}
			}
			var cmdErrs []string
			var ran int
			hw.Attach(&hookDev{each: func(seq uint64, fromHost [][]int16) {
				frame := int(seq) // frames ticked so far: seq sends frame seq−1's playout
				for _, c := range chans {
					if frame > 0 && fromHost[c.slot][0] != int16(c.slot) {
						cmdErrs = append(cmdErrs, fmt.Sprintf("frame %d: slot %d played %d", seq, c.slot, fromHost[c.slot][0]))
					}
				}
				// Queued while frame seq is exchanged: runs before
				// the next frame's Ticks, after all of this one's.
				_ = l.Do(func() {
					p.inCmd.Store(true)
					defer p.inCmd.Store(false)
					ran++
					if n := p.inTick.Load(); n != 0 {
						cmdErrs = append(cmdErrs, fmt.Sprintf("frame %d: command ran during %d ticks", frame, n))
					}
					for _, c := range chans {
						if len(c.frames) != frame {
							cmdErrs = append(cmdErrs, fmt.Sprintf("frame %d: slot %d ticked %d times", frame, c.slot, len(c.frames)))
							return
						}
					}
				})
			}})
			goroutines := runtime.NumGoroutine()
			if err := l.Run(ctx); err != nil {
				t.Fatal(err)
			}
			// A helper ends right after Run has waited for its word.
			for i := 0; runtime.NumGoroutine() > goroutines; i++ {
				if i == 500 {
					t.Errorf("%d goroutines 5 s after Run, %d before: helpers left running", runtime.NumGoroutine(), goroutines)
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			for _, e := range cmdErrs[:min(len(cmdErrs), 5)] {
				t.Error(e)
			}
			s := l.Stats()
			if ran < int(s.Ticks)-1 {
				t.Errorf("%d commands ran in %d frames", ran, s.Ticks)
			}
			if n := p.overlap.Load(); n != 0 {
				t.Errorf("%d ticks ran while a command did", n)
			}
			for _, c := range chans {
				if len(c.frames) != int(s.Ticks) {
					t.Fatalf("slot %d ticked %d times in %d frames", c.slot, len(c.frames), s.Ticks)
				}
				for i, f := range c.frames {
					if f != time.Duration(i)*pcm.FrameDuration {
						t.Fatalf("slot %d: tick %d for frame time %v, want %v", c.slot, i, f, time.Duration(i)*pcm.FrameDuration)
					}
				}
			}
			if s.Workers != tc.wantWorkers {
				t.Errorf("%d workers, want %d", s.Workers, tc.wantWorkers)
			}
			// The first frame follows no active one: never split.
			if want := uint64(0); tc.wantSplit {
				if s.Split != s.Ticks-1 {
					t.Errorf("%d of %d frames split, want all but the first", s.Split, s.Ticks)
				}
			} else if s.Split != want {
				t.Errorf("%d of %d frames split, want none", s.Split, s.Ticks)
			}
			if s.Ticks < frames {
				t.Errorf("%d frames, want ≥ %d", s.Ticks, frames)
			}
			if tc.idle && s.Batched == 0 {
				t.Error("idle channels were not batched")
			}
		})
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestLoopWorkersPlayout: every worker's channels fill their own slots'
// playout, and the highway sends them.
func TestLoopWorkersPlayout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &stepClock{limit: 20, cancel: cancel}
	hw := simpcm.New(simpcm.Opts{Slots: 8, Clock: clk})
	var last [8]int16
	hw.Attach(&hookDev{each: func(_ uint64, fromHost [][]int16) {
		for s := range last {
			last[s] = fromHost[s][pcm.FrameSamples-1]
		}
	}})
	l := NewLoop(hw, LoopOpts{Workers: 3, SplitActive: 1})
	p := &splitProbe{}
	for s := range 8 {
		if err := l.Add(s, &splitChan{p: p, slot: s * 100}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for s := range last {
		if last[s] != int16(s*100) {
			t.Errorf("slot %d sent %d, want %d", s, last[s], s*100)
		}
	}
	if st := l.Stats(); st.Split == 0 || st.Workers != 3 {
		t.Errorf("stats %+v: want split frames on 3 workers", st)
	}
}

// TestLoopWorkersAllocateNothing: a split frame — waking the helpers,
// their Ticks and the join — allocates nothing, for one to four workers.
func TestLoopWorkersAllocateNothing(t *testing.T) {
	for _, w := range []int{1, 2, 4} {
		t.Run(fmt.Sprint(w, " workers"), func(t *testing.T) {
			l := newSplitLoop(t, w, 16, 0)
			defer l.stopSplit()
			now := time.Duration(0)
			allocs := testing.AllocsPerRun(500, func() {
				if l.tickFrame(now, false) != 16 {
					t.Fatal("not every channel active")
				}
				now += pcm.FrameDuration
			})
			if allocs != 0 {
				t.Errorf("%v allocations per frame", allocs)
			}
			if want := uint64(0); w > 1 {
				if l.splitFrames.Load() < 500 {
					t.Errorf("%d frames split", l.splitFrames.Load())
				}
			} else if l.splitFrames.Load() != want {
				t.Errorf("%d frames split with one worker", l.splitFrames.Load())
			}
		})
	}
}

// spinWork is a channel that works for d on every Tick, as a channel with
// a call and its echo canceller does.
type spinWork struct{ d time.Duration }

func (c spinWork) Tick(time.Duration, []int16, []int16) {
	for start := time.Now(); time.Since(start) < c.d; {
	}
}

// newSplitLoop makes a loop of n channels working d each per frame, with w
// workers started and the last frame counted as fully active.
func newSplitLoop(tb testing.TB, w, n int, d time.Duration) *Loop {
	hw := simpcm.New(simpcm.Opts{Slots: n, Clock: &simpcm.VirtualClock{}})
	l := NewLoop(hw, LoopOpts{Workers: w, SplitActive: 1})
	for s := range n {
		if err := l.Add(s, spinWork{d}); err != nil {
			tb.Fatal(err)
		}
	}
	l.startSplit(0)
	l.active = n
	return l
}

// BenchmarkLoopSplitFrame is one frame's Ticks for 32 channels on 1, 2
// and 4 workers: with channels that do nothing it is the fork-join's cost
// (waking the helpers and waiting for them), with channels of 30 µs each
// (about a call with its echo canceller) the frame's wall time.
func BenchmarkLoopSplitFrame(b *testing.B) {
	for _, d := range []time.Duration{0, 30 * time.Microsecond} {
		for _, w := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("work=%v/workers=%d", d, w), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				l := newSplitLoop(b, w, 32, d)
				defer l.stopSplit()
				b.ReportAllocs()
				now := time.Duration(0)
				for b.Loop() {
					l.tickFrame(now, false)
					now += pcm.FrameDuration
				}
			})
		}
	}
}

// BenchmarkLoopSplitWake is a frame's Ticks as the loop meets them:
// frames 10 ms apart, so the helpers' threads are asleep when woken, on 1,
// 2 and 4 workers, with and without real-time priority. With channels
// that do nothing it is the fork-join's cost; with 40 µs each (about a
// call with its echo canceller, SRTP and line) the frame's wall time at 32
// calls. The median and 99th percentile (µs) are reported besides the
// mean.
func BenchmarkLoopSplitWake(b *testing.B) {
	for _, d := range []time.Duration{0, 40 * time.Microsecond} {
		for _, prio := range []int{0, 10} {
			for _, w := range []int{1, 2, 4} {
				b.Run(fmt.Sprintf("work=%v/prio=%d/workers=%d", d, prio, w), func(b *testing.B) {
					benchSplitWake(b, d, prio, w)
				})
			}
		}
	}
}

func benchSplitWake(b *testing.B, d time.Duration, prio, w int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if prio > 0 {
		if err := setThreadPolicy(true, prio); err != nil {
			b.Skipf("no real-time scheduling here: %v", err)
		}
		defer func() { _ = setThreadPolicy(false, 0) }()
	}
	l := newSplitLoop(b, w, 32, d)
	l.stopSplit()
	l.startSplit(prio)
	defer l.stopSplit()
	var took []time.Duration
	now := time.Duration(0)
	for b.Loop() {
		b.StopTimer()
		time.Sleep(pcm.FrameDuration)
		b.StartTimer()
		start := time.Now()
		l.tickFrame(now, false)
		took = append(took, time.Since(start))
		now += pcm.FrameDuration
	}
	slices.Sort(took)
	if w > 1 {
		b.ReportMetric(float64(l.helperTicks())/float64(32*len(took)), "helper-share")
	}
	b.ReportMetric(float64(took[len(took)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// TestLoopWorkersShare: in split frames of channels that work 200 µs
// each, the helpers take some of the Ticks (a helper's thread gets a CPU
// within the frame at least now and then, even on a loaded machine).
func TestLoopWorkersShare(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &stepClock{limit: 100, cancel: cancel}
	hw := simpcm.New(simpcm.Opts{Slots: 8, Clock: clk})
	l := NewLoop(hw, LoopOpts{Workers: 2, SplitActive: 1})
	for s := range 8 {
		if err := l.Add(s, spinWork{200 * time.Microsecond}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Run(ctx); err != nil {
		t.Fatal(err)
	}
	s := l.Stats()
	if s.Split != s.Ticks-1 || s.HelperTicks == 0 || s.HelperTicks > 8*s.Split {
		t.Errorf("%d frames, %d split, %d of their %d ticks by the helper: want all but the first split and some ticks by the helper",
			s.Ticks, s.Split, s.HelperTicks, 8*s.Split)
	}
	t.Logf("%d of %d ticks of split frames by the helper; max work %v", s.HelperTicks, 8*s.Split, s.MaxWork)
}
