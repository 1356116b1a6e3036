package sim

import (
	"context"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// TestBatches: with a batch set, the first frame of a batch waits for the
// boundary of the batch's last frame and the others ask for it again (it
// has passed); lateness is counted from that boundary; turning batches off
// finishes the batch under way first; an overrun ends the batch; every frame
// keeps its own sequence number.
func TestBatches(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		batch    []int // SetBatch before each exchange (0: leave it)
		late     []time.Duration
		wantSeq  []uint64
		wantLate []time.Duration
		wantWait []uint64
		batching []bool // Batching() after each exchange
	}{
		{
			name:     "batches of four",
			batch:    []int{4, 0, 0, 0, 0, 0, 0, 0},
			wantSeq:  []uint64{0, 1, 2, 3, 4, 5, 6, 7},
			wantWait: []uint64{3, 3, 3, 3, 7, 7, 7, 7},
			batching: []bool{true, true, true, true, true, true, true, true},
		},
		{
			name:     "off mid-batch finishes it",
			batch:    []int{4, 1, 0, 0, 0, 0},
			wantSeq:  []uint64{0, 1, 2, 3, 4, 5},
			wantWait: []uint64{3, 3, 3, 3, 4, 5},
			batching: []bool{true, true, true, false, false, false},
		},
		{
			name:     "on from a later frame",
			batch:    []int{1, 0, 3, 0, 0, 0},
			wantSeq:  []uint64{0, 1, 2, 3, 4, 5},
			wantWait: []uint64{0, 1, 4, 4, 4, 7},
			batching: []bool{false, false, true, true, true, true},
		},
		{
			name:     "lateness from the due frame",
			batch:    []int{4, 0, 0, 0},
			late:     []time.Duration{3 * ms, 4 * ms, 5 * ms, 6 * ms},
			wantSeq:  []uint64{0, 1, 2, 3},
			wantLate: []time.Duration{3 * ms, 4 * ms, 5 * ms, 6 * ms},
			wantWait: []uint64{3, 3, 3, 3},
			batching: []bool{true, true, true, true},
		},
		{
			name:     "overrun ends the batch",
			batch:    []int{4, 1, 0, 0},
			late:     []time.Duration{25 * ms, 0, 0, 0},
			wantSeq:  []uint64{5, 6, 7, 8},
			wantLate: []time.Duration{5 * ms, 0, 0, 0},
			wantWait: []uint64{3, 6, 7, 8},
			batching: []bool{true, false, false, false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &lateClock{late: tc.late}
			h := New(Opts{Slots: 1, Clock: clk})
			for i := range tc.wantSeq {
				if n := tc.batch[i]; n != 0 {
					h.SetBatch(n)
				}
				seq, late, err := h.Exchange(context.Background(), nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				var wantLate time.Duration
				if tc.wantLate != nil {
					wantLate = tc.wantLate[i]
				}
				if seq != tc.wantSeq[i] || late != wantLate {
					t.Errorf("exchange %d: seq %d late %v, want %d %v", i, seq, late, tc.wantSeq[i], wantLate)
				}
				if got := h.Batching(); got != tc.batching[i] {
					t.Errorf("exchange %d: Batching() %v, want %v", i, got, tc.batching[i])
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

// TestBatchesNotOnVirtualClock: a virtual clock is stepped frame by frame,
// so batches are refused and every frame waits for its own boundary.
func TestBatchesNotOnVirtualClock(t *testing.T) {
	var clk VirtualClock
	h := New(Opts{Slots: 1, Clock: &clk})
	h.SetBatch(4)
	if h.Batching() {
		t.Fatal("batching on a virtual clock")
	}
	for want := range uint64(5) {
		if _, _, err := h.Exchange(context.Background(), nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := clk.Now(); got != time.Duration(want)*pcm.FrameDuration {
			t.Fatalf("frame %d: virtual time %v", want, got)
		}
	}
}

// TestRealClockBatchWait: a wait longer than a frame (a batch's due frame)
// goes through a Go timer and still ends at the boundary, reporting its
// lateness, and a cancelled context ends it.
func TestRealClockBatchWait(t *testing.T) {
	c := RealClock()
	ctx := context.Background()
	if _, err := c.WaitFrame(ctx, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	late, err := c.WaitFrame(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 4*pcm.FrameDuration-time.Millisecond {
		t.Errorf("waited %v for frame 4's boundary, want ≥ %v", got, 4*pcm.FrameDuration)
	}
	if late < 0 {
		t.Errorf("lateness %v", late)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(5 * time.Millisecond); cancel() }()
	if _, err := c.WaitFrame(cctx, 1000); err == nil {
		t.Fatal("a cancelled wait returned no error")
	}
}
