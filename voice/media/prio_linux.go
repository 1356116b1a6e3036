package media

import "golang.org/x/sys/unix"

// setThreadPolicy puts the calling OS thread into SCHED_FIFO at prio, or
// back into the normal class (SCHED_OTHER) when fifo is false and no other
// hold on the thread is left (fifoHolds).
func setThreadPolicy(fifo bool, prio int) error {
	if fifo {
		return holdFIFO(threadID(), prio)
	}
	return dropFIFO(threadID())
}

// setPolicyOf sets thread tid's class as setThreadPolicy does, uncounted.
func setPolicyOf(tid int, fifo bool, prio int) error {
	a := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: 0} // SCHED_OTHER
	if fifo {
		a.Policy, a.Priority = unix.SCHED_FIFO, uint32(prio)
	}
	return unix.SchedSetAttr(tid, &a, 0)
}

// threadID returns the calling OS thread's ID.
func threadID() int { return unix.Gettid() }
