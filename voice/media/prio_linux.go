package media

import "golang.org/x/sys/unix"

// setThreadPolicy puts the calling OS thread into SCHED_FIFO at prio, or
// back into the normal class (SCHED_OTHER) when fifo is false.
func setThreadPolicy(fifo bool, prio int) error {
	a := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: 0} // SCHED_OTHER
	if fifo {
		a.Policy, a.Priority = unix.SCHED_FIFO, uint32(prio)
	}
	return unix.SchedSetAttr(0, &a, 0)
}
