package media

import "sync"

// fifoHolds counts, per OS thread, the goroutines that put the thread in
// SCHED_FIFO and have not let it go. The loop keeps its thread's priority
// through its passes through the scheduler and, when another thread picks
// its goroutine up, returns the one it left to the normal class from
// there (loopThread.lock); by then a helper or reader goroutine that
// started on the thread left may have locked it and raised it for itself.
// The count keeps the thread in SCHED_FIFO until its last holder lets go.
var fifoHolds struct {
	sync.Mutex
	n map[int]int // by thread ID; absent: no hold
}

// holdFIFO puts thread tid of this process in SCHED_FIFO at prio and
// counts the hold; nothing is counted when that fails.
func holdFIFO(tid, prio int) error {
	fifoHolds.Lock()
	defer fifoHolds.Unlock()
	if err := setPolicyOf(tid, true, prio); err != nil {
		return err
	}
	if fifoHolds.n == nil {
		fifoHolds.n = make(map[int]int)
	}
	fifoHolds.n[tid]++
	return nil
}

// dropFIFO lets go of a hold on thread tid and returns the thread to the
// normal class when it was the last (or none was counted).
func dropFIFO(tid int) error {
	fifoHolds.Lock()
	defer fifoHolds.Unlock()
	if n := fifoHolds.n[tid]; n > 1 {
		fifoHolds.n[tid] = n - 1
		return nil
	}
	delete(fifoHolds.n, tid)
	return setPolicyOf(tid, false, 0)
}

// forgetFIFO lets go of a hold on thread tid without changing its class:
// for a goroutine that ends locked to its thread, which ends with it.
func forgetFIFO(tid int) {
	fifoHolds.Lock()
	defer fifoHolds.Unlock()
	if n := fifoHolds.n[tid]; n > 1 {
		fifoHolds.n[tid] = n - 1
	} else {
		delete(fifoHolds.n, tid)
	}
}
