package media

import (
	"errors"
	"sync"
)

// maxFIFOThreads bounds the threads fifoHolds counts holds on: the loop
// and its helpers, and an RTP reader per stream in reader mode.
const maxFIFOThreads = 256

// fifoHolds counts, per OS thread, the goroutines that put the thread in
// SCHED_FIFO and have not let it go. The loop keeps its thread's priority
// through its passes through the scheduler and, when another thread picks
// its goroutine up, returns the one it left to the normal class from
// there (loopThread.lock); by then a helper or reader goroutine that
// started on the thread left may have locked it and raised it for itself.
// The count keeps the thread in SCHED_FIFO until its last holder lets go.
// A fixed table: a hold taken on the loop's frame path allocates nothing.
var fifoHolds struct {
	sync.Mutex
	tid [maxFIFOThreads]int // 0: a free entry
	n   [maxFIFOThreads]int
}

// setThreadPolicy puts the calling OS thread into SCHED_FIFO at prio, or
// back into the normal class (SCHED_OTHER) when fifo is false and no other
// hold on the thread is left.
func setThreadPolicy(fifo bool, prio int) error {
	if fifo {
		return holdFIFO(threadID(), prio)
	}
	return dropFIFO(threadID())
}

// errFIFOThreads is holdFIFO's error when the table is full.
var errFIFOThreads = errors.New("too many real-time threads")

// fifoEntry returns thread tid's entry in fifoHolds, or -1; called with
// fifoHolds held.
func fifoEntry(tid int) int {
	for i, t := range fifoHolds.tid {
		if t == tid {
			return i
		}
	}
	return -1
}

// holdFIFO puts thread tid of this process in SCHED_FIFO at prio and
// counts the hold; nothing is counted when that fails.
func holdFIFO(tid, prio int) error {
	fifoHolds.Lock()
	defer fifoHolds.Unlock()
	i := fifoEntry(tid)
	if i < 0 {
		if i = fifoEntry(0); i < 0 {
			return errFIFOThreads
		}
	}
	if err := setPolicyOf(tid, true, prio); err != nil {
		return err
	}
	fifoHolds.tid[i] = tid
	fifoHolds.n[i]++
	return nil
}

// dropFIFO lets go of a hold on thread tid and returns the thread to the
// normal class when it was the last (or none was counted).
func dropFIFO(tid int) error {
	fifoHolds.Lock()
	defer fifoHolds.Unlock()
	if i := fifoEntry(tid); i >= 0 {
		if fifoHolds.n[i] > 1 {
			fifoHolds.n[i]--
			return nil
		}
		fifoHolds.tid[i], fifoHolds.n[i] = 0, 0
	}
	return setPolicyOf(tid, false, 0)
}

// forgetFIFO lets go of a hold on thread tid without changing its class:
// for a goroutine that ends locked to its thread, which ends with it.
func forgetFIFO(tid int) {
	fifoHolds.Lock()
	defer fifoHolds.Unlock()
	if i := fifoEntry(tid); i >= 0 {
		if fifoHolds.n[i]--; fifoHolds.n[i] <= 0 {
			fifoHolds.tid[i], fifoHolds.n[i] = 0, 0
		}
	}
}
