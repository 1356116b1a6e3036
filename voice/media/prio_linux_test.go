package media

import (
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// schedOther is SCHED_OTHER, the normal class (x/sys/unix names no constant for it).
const schedOther = 0

// policyOf returns thread tid's scheduling policy.
func policyOf(t *testing.T, tid int) uint32 {
	t.Helper()
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		t.Fatalf("sched_getattr(%d): %v", tid, err)
	}
	return a.Policy
}

// TestLoopThreadYield: the loop's thread keeps SCHED_FIFO through its
// passes through the scheduler; when another thread picks the goroutine
// up, lock raises that one and returns the one left to the normal class,
// so one thread at most is in SCHED_FIFO for the loop; release returns the
// last to the normal class.
func TestLoopThreadYield(t *testing.T) {
	if err := realTimeErr(); err != nil {
		t.Skipf("no real-time scheduling here: %v", err)
	}
	// Goroutines passing through the scheduler on the other Ps, so
	// that the loop's goroutine changes threads now and then.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		})
	}
	defer wg.Wait()
	defer close(stop)

	th := loopThread{prio: 3}
	seen := map[int]bool{}
	last, moved := 0, 0
	for i := range 3000 {
		if err := th.lock(); err != nil {
			t.Fatal(err)
		}
		tid := threadID()
		if p := policyOf(t, tid); p != unix.SCHED_FIFO {
			t.Fatalf("pass %d: thread %d in policy %d after lock", i, tid, p)
		}
		if last != 0 && tid != last {
			moved++
			if p := policyOf(t, last); p != schedOther {
				t.Fatalf("pass %d: thread %d, left for %d, still in policy %d", i, last, tid, p)
			}
		}
		seen[tid], last = true, tid
		th.yield()
		if i%2 == 1 {
			// yield keeps the goroutine on its P's run queue, so that
			// the same thread nearly always runs it on; a pass through
			// the global queue (Gosched, unlocked) lets the other Ps'
			// threads take it, as a busy runtime may.
			runtime.Gosched()
		}
	}
	if err := th.lock(); err != nil {
		t.Fatal(err)
	}
	th.release()
	for tid := range seen {
		if p := policyOf(t, tid); p != schedOther {
			t.Errorf("thread %d in policy %d after release", tid, p)
		}
	}
	// Whether the runtime moves the goroutine at all depends on the
	// machine's load (CI once saw no move in 3000 passes);
	// TestLoopThreadMoves moves it on every pass.
	t.Logf("the goroutine changed threads %d times in 3000 passes (%d threads)", moved, len(seen))
}

// TestLoopThreadMoves: the loop's state passed between two goroutines,
// each locked to its own thread, takes turns as a goroutine that another
// thread picked up on every pass would: each lock raises the thread it
// runs on and returns the one left to the normal class, and release
// leaves neither in SCHED_FIFO.
func TestLoopThreadMoves(t *testing.T) {
	if err := realTimeErr(); err != nil {
		t.Skipf("no real-time scheduling here: %v", err)
	}
	type result struct {
		tid int
		err error
	}
	var work [2]chan func() result
	back := make(chan result)
	var wg sync.WaitGroup
	for w := range work {
		work[w] = make(chan func() result)
		wg.Go(func() {
			// Held through every turn: the goroutine stays on its
			// thread, and lock and yield nest inside this lock.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for f := range work[w] {
				back <- f()
			}
		})
	}
	defer wg.Wait()
	defer func() {
		for _, c := range work {
			close(c)
		}
	}()

	th := loopThread{prio: 3}
	pass := func() result {
		err := th.lock()
		tid := threadID()
		th.yield()
		return result{tid, err}
	}
	seen := map[int]bool{}
	last := 0
	const passes = 200
	for i := range passes {
		work[i%2] <- pass
		r := <-back
		if r.err != nil {
			t.Fatalf("pass %d: %v", i, r.err)
		}
		if p := policyOf(t, r.tid); p != unix.SCHED_FIFO {
			t.Fatalf("pass %d: thread %d in policy %d after lock", i, r.tid, p)
		}
		if r.tid == last {
			t.Fatalf("pass %d: on thread %d again, want the other worker's", i, r.tid)
		}
		if last != 0 {
			if p := policyOf(t, last); p != schedOther {
				t.Fatalf("pass %d: thread %d, left for %d, still in policy %d", i, last, r.tid, p)
			}
		}
		seen[r.tid], last = true, r.tid
	}
	work[passes%2] <- func() result {
		err := th.lock()
		th.release()
		return result{threadID(), err}
	}
	if r := <-back; r.err != nil {
		t.Fatal(r.err)
	}
	if len(seen) != 2 {
		t.Errorf("passes ran on %d threads, want 2", len(seen))
	}
	for tid := range seen {
		if p := policyOf(t, tid); p != schedOther {
			t.Errorf("thread %d in policy %d after release", tid, p)
		}
	}
}

// TestFIFOHolds: a thread two goroutines raised (the loop's, left in a
// pass through the scheduler, and a helper's that locked it since) stays
// in SCHED_FIFO until both have let go.
func TestFIFOHolds(t *testing.T) {
	if err := realTimeErr(); err != nil {
		t.Skipf("no real-time scheduling here: %v", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := threadID()
	steps := []struct {
		hold bool
		want uint32
	}{
		{true, unix.SCHED_FIFO},
		{true, unix.SCHED_FIFO},
		{false, unix.SCHED_FIFO},
		{false, schedOther},
		{false, schedOther}, // one too many: stays in the normal class
		{true, unix.SCHED_FIFO},
		{false, schedOther},
	}
	for i, s := range steps {
		var err error
		if s.hold {
			err = holdFIFO(tid, 2)
		} else {
			err = dropFIFO(tid)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if p := policyOf(t, tid); p != s.want {
			t.Fatalf("step %d (hold %v): policy %d, want %d", i, s.hold, p, s.want)
		}
	}
	// The loop takes a hold on its frame path when its goroutine
	// changes threads: nothing may be allocated.
	if a := testing.AllocsPerRun(100, func() {
		_ = holdFIFO(tid, 2)
		_ = dropFIFO(tid)
	}); a != 0 {
		t.Errorf("a hold and its release allocate %v times", a)
	}
}
