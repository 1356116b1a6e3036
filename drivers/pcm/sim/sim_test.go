package sim

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// lateClock is a Clock that returns scripted lateness, one entry per frame.
type lateClock struct {
	late []time.Duration
	seqs []uint64
}

func (c *lateClock) WaitFrame(_ context.Context, seq uint64) (time.Duration, error) {
	c.seqs = append(c.seqs, seq)
	if len(c.late) == 0 {
		return 0, nil
	}
	l := c.late[0]
	c.late = c.late[1:]
	return l, nil
}

// loopback is a Device that plays slot in back on slot out, scaled by gain,
// and records which frames it saw.
type loopback struct {
	in, out int
	gain    int16
	seqs    []uint64
	saw     [][]int16 // a copy of fromHost at the last frame
}

func (d *loopback) Transfer(seq uint64, fromHost, toHost [][]int16) {
	d.seqs = append(d.seqs, seq)
	d.saw = d.saw[:0]
	for _, s := range fromHost {
		d.saw = append(d.saw, append([]int16(nil), s...))
	}
	for i, v := range fromHost[d.in] {
		toHost[d.out][i] = v * d.gain
	}
}

func frames(slots int) [][]int16 {
	f := make([][]int16, slots)
	for i := range f {
		f[i] = make([]int16, pcm.FrameSamples)
	}
	return f
}

func TestVirtualPacing(t *testing.T) {
	var clk VirtualClock
	h := New(Opts{Slots: 2, Clock: &clk})
	tx, rx := frames(2), frames(2)
	for want := range uint64(100) {
		seq, late, err := h.Exchange(context.Background(), tx, rx)
		if err != nil {
			t.Fatal(err)
		}
		if seq != want || late != 0 {
			t.Fatalf("frame %d: got seq %d late %v", want, seq, late)
		}
		if got := clk.Now(); got != time.Duration(want)*pcm.FrameDuration {
			t.Fatalf("frame %d: virtual time %v", want, got)
		}
	}
}

func TestSeqJumps(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		backlog  int
		late     []time.Duration
		wantSeq  []uint64
		wantLate []time.Duration
		wantWait []uint64 // the seqs the highway asked its clock for
	}{
		{
			name:     "on time",
			late:     []time.Duration{0, 0, 0},
			wantSeq:  []uint64{0, 1, 2},
			wantLate: []time.Duration{0, 0, 0},
			wantWait: []uint64{0, 1, 2},
		},
		{
			name:     "late within backlog",
			late:     []time.Duration{0, 15 * ms, 5 * ms, 0},
			wantSeq:  []uint64{0, 1, 2, 3},
			wantLate: []time.Duration{0, 15 * ms, 5 * ms, 0},
			wantWait: []uint64{0, 1, 2, 3},
		},
		{
			name:     "overrun drops frames",
			late:     []time.Duration{0, 35 * ms, 0},
			wantSeq:  []uint64{0, 4, 5},
			wantLate: []time.Duration{0, 5 * ms, 0},
			wantWait: []uint64{0, 1, 5},
		},
		{
			name:     "backlog 1 drops at one frame",
			backlog:  1,
			late:     []time.Duration{10 * ms, 9 * ms, 0},
			wantSeq:  []uint64{1, 2, 3},
			wantLate: []time.Duration{0, 9 * ms, 0},
			wantWait: []uint64{0, 2, 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &lateClock{late: tc.late}
			h := New(Opts{Slots: 1, Clock: clk, Backlog: tc.backlog})
			for i := range tc.wantSeq {
				seq, late, err := h.Exchange(context.Background(), nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if seq != tc.wantSeq[i] || late != tc.wantLate[i] {
					t.Errorf("exchange %d: got seq %d late %v, want %d %v", i, seq, late, tc.wantSeq[i], tc.wantLate[i])
				}
			}
			if len(clk.seqs) != len(tc.wantWait) {
				t.Fatalf("clock asked for %v, want %v", clk.seqs, tc.wantWait)
			}
			for i := range clk.seqs {
				if clk.seqs[i] != tc.wantWait[i] {
					t.Fatalf("clock asked for %v, want %v", clk.seqs, tc.wantWait)
				}
			}
		})
	}
}

func TestDevicesSeeAndWriteSlots(t *testing.T) {
	var clk VirtualClock
	h := New(Opts{Slots: 4, Clock: &clk})
	a := &loopback{in: 0, out: 1, gain: 2}
	b := &loopback{in: 2, out: 3, gain: -1}
	h.Attach(a)
	h.Attach(b)
	tx, rx := frames(4), frames(4)
	for i := range tx[0] {
		tx[0][i] = int16(i)
		tx[2][i] = int16(100 + i)
	}
	tx[1] = nil // a nil slot plays silence
	tx[3][0] = 7
	rx[2] = nil // a nil rx slot is skipped
	for i := range rx[0] {
		rx[0][i] = 999 // a slot nobody writes reads as silence
	}
	seq, _, err := h.Exchange(context.Background(), tx, rx)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.seqs) != 1 || a.seqs[0] != seq || len(b.seqs) != 1 {
		t.Fatalf("devices saw frames %v %v, want [%d]", a.seqs, b.seqs, seq)
	}
	for i := range pcm.FrameSamples {
		if a.saw[0][i] != int16(i) || a.saw[2][i] != int16(100+i) || a.saw[1][i] != 0 {
			t.Fatalf("device saw wrong playout at %d: %d %d %d", i, a.saw[0][i], a.saw[1][i], a.saw[2][i])
		}
		if rx[0][i] != 0 {
			t.Fatalf("unwritten slot 0 reads %d at %d", rx[0][i], i)
		}
		if rx[1][i] != int16(2*i) {
			t.Fatalf("slot 1 sample %d = %d, want %d", i, rx[1][i], 2*i)
		}
		if rx[3][i] != -int16(100+i) {
			t.Fatalf("slot 3 sample %d = %d, want %d", i, rx[3][i], -(100 + i))
		}
	}
	if a.saw[3][0] != 7 {
		t.Fatalf("slot 3 playout not on the bus")
	}

	// Short tx/rx lists: missing slots are silence/skipped.
	tx2 := [][]int16{make([]int16, pcm.FrameSamples)}
	tx2[0][5] = 3
	rx2 := [][]int16{nil, make([]int16, pcm.FrameSamples)}
	if _, _, err := h.Exchange(context.Background(), tx2, rx2); err != nil {
		t.Fatal(err)
	}
	if rx2[1][5] != 6 || a.saw[2][0] != 0 {
		t.Fatalf("short lists: rx %d, slot 2 playout %d", rx2[1][5], a.saw[2][0])
	}
	if _, _, err := h.Exchange(context.Background(), frames(5), nil); err == nil {
		t.Fatal("5 tx slots on a 4-slot highway: no error")
	}
}

func TestExchangeNoAllocs(t *testing.T) {
	var clk VirtualClock
	h := New(Opts{Slots: 4, Clock: &clk})
	h.Attach(&copyDev{})
	tx, rx := frames(4), frames(4)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := h.Exchange(ctx, tx, rx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Exchange allocates %v times per frame", allocs)
	}
}

func TestRealClockNoAllocs(t *testing.T) {
	base := time.Now()
	now := base
	c := &realClock{now: func() time.Time { return now }}
	ctx := context.Background()
	var seq uint64
	allocs := testing.AllocsPerRun(100, func() {
		now = base.Add(time.Duration(seq)*pcm.FrameDuration + time.Millisecond)
		if _, err := c.WaitFrame(ctx, seq); err != nil {
			t.Fatal(err)
		}
		seq++
	})
	if allocs != 0 {
		t.Fatalf("WaitFrame allocates %v times per frame", allocs)
	}
}

// copyDev echoes every slot.
type copyDev struct{}

func (copyDev) Transfer(_ uint64, fromHost, toHost [][]int16) {
	for i := range fromHost {
		copy(toHost[i], fromHost[i])
	}
}

func TestRealClockLateness(t *testing.T) {
	base := time.Now()
	now := base
	c := &realClock{now: func() time.Time { return now }}
	ctx := context.Background()
	if late, err := c.WaitFrame(ctx, 0); err != nil || late != 0 {
		t.Fatalf("frame 0: late %v err %v", late, err)
	}
	now = base.Add(35 * time.Millisecond)
	if late, err := c.WaitFrame(ctx, 1); err != nil || late != 25*time.Millisecond {
		t.Fatalf("frame 1: late %v err %v, want 25ms", late, err)
	}
	// Through a highway the same lateness becomes a jump to frame 3.
	now = base
	c2 := &realClock{now: func() time.Time { return now }}
	h := New(Opts{Slots: 1, Clock: c2})
	if seq, _, err := h.Exchange(ctx, nil, nil); err != nil || seq != 0 {
		t.Fatalf("first exchange: seq %d err %v", seq, err)
	}
	now = base.Add(35 * time.Millisecond)
	seq, late, err := h.Exchange(ctx, nil, nil)
	if err != nil || seq != 3 || late != 5*time.Millisecond {
		t.Fatalf("late exchange: seq %d late %v err %v, want 3 5ms", seq, late, err)
	}
}

func TestRealClockWaits(t *testing.T) {
	c := RealClock()
	ctx := context.Background()
	start := time.Now()
	for seq := range uint64(4) {
		if _, err := c.WaitFrame(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	// Frames 0..3 span three frame periods; only the lower bound is certain.
	if el := time.Since(start); el < 3*pcm.FrameDuration {
		t.Fatalf("4 frames took %v, want at least %v", el, 3*pcm.FrameDuration)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.WaitFrame(cctx, 1000); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestGatedVirtualClock(t *testing.T) {
	clk := &VirtualClock{}
	clk.Allow(0)
	h := New(Opts{Slots: 1, Clock: clk})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	count := make(chan uint64, 100)
	done := make(chan error, 1)
	go func() {
		for {
			seq, _, err := h.Exchange(ctx, nil, nil)
			if err != nil {
				done <- err
				return
			}
			count <- seq
		}
	}()
	for step, n := range []int{3, 1, 5} {
		if err := clk.Step(ctx, n); err != nil {
			t.Fatal(err)
		}
		if got := len(count); got != n {
			t.Fatalf("step %d: %d frames passed, want %d", step, got, n)
		}
		for range n {
			<-count
		}
	}
	if got := clk.Now(); got != 8*pcm.FrameDuration {
		t.Fatalf("virtual time %v after 9 frames, want %v", got, 8*pcm.FrameDuration)
	}
	clk.Release()
	for range 10 {
		<-count
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case <-count:
			continue
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("loop ended with %v, want ErrClosed", err)
			}
		}
		break
	}
}

func TestGatedCancel(t *testing.T) {
	clk := &VirtualClock{}
	clk.Allow(0)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := clk.WaitFrame(ctx, 0)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestClosed(t *testing.T) {
	h := New(Opts{Clock: &VirtualClock{}})
	if h.Slots() != DefaultSlots {
		t.Fatalf("default slots %d", h.Slots())
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Exchange(context.Background(), nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("exchange after close: %v", err)
	}
}

func BenchmarkExchange(b *testing.B) {
	var clk VirtualClock
	h := New(Opts{Slots: 4, Clock: &clk})
	h.Attach(copyDev{})
	tx, rx := frames(4), frames(4)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := h.Exchange(ctx, tx, rx); err != nil {
			b.Fatal(err)
		}
	}
}

// burner is a device that works for cpu of its thread's CPU time in every
// Transfer, or only in every period-th when period > 1.
type burner struct {
	cpu    time.Duration
	period uint64
}

func (b burner) Transfer(seq uint64, _ [][]int16, _ [][]int16) {
	if b.period > 1 && seq%b.period != 0 {
		return
	}
	for start := threadCPU(); threadCPU()-start < b.cpu; {
	}
}

// TestModelCPU: the highway counts the CPU time its devices take, timing
// one frame in modelSample at a phase that moves on, so that work every
// frame and work every other frame (a 20 ms packet's) come out right —
// a fixed phase would count the latter twice or not at all — and no more
// than the wall time they took.
func TestModelCPU(t *testing.T) {
	const frames, each = 40, time.Millisecond
	for _, period := range []uint64{1, 2} {
		var clk VirtualClock
		h := New(Opts{Slots: 1, Clock: &clk})
		h.Attach(burner{each, period})
		runtime.LockOSThread() // the Transfers' CPU clock is the thread's
		start := time.Now()
		for range frames {
			if _, _, err := h.Exchange(context.Background(), nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		wall := time.Since(start)
		runtime.UnlockOSThread()
		worked := time.Duration(frames/period) * each
		// A timed frame's work counts modelSample times: allow one
		// frame's reading of the clocks over, in each.
		slack := time.Duration(frames/modelSample) * modelSample * 20 * time.Microsecond
		if got := h.ModelCPU(); got < worked || got > min(worked+slack, wall+slack) {
			t.Errorf("work every %d frames: ModelCPU %v after %d frames, %v of device work in all in %v", period, got, frames, worked, wall)
		}
	}
}
