package media

import "golang.org/x/sys/unix"

// setPolicyOf puts thread tid of this process into SCHED_FIFO at prio, or
// back into the normal class when fifo is false; uncounted (fifoHolds).
func setPolicyOf(tid int, fifo bool, prio int) error {
	a := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: 0} // SCHED_OTHER
	if fifo {
		a.Policy, a.Priority = unix.SCHED_FIFO, uint32(prio)
	}
	return unix.SchedSetAttr(tid, &a, 0)
}

// threadID returns the calling OS thread's ID.
func threadID() int { return unix.Gettid() }
