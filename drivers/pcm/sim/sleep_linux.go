package sim

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// threadSleep sleeps d on the calling OS thread with nanosleep(2) and
// reports true. A Go timer would be woken by whichever runtime thread
// polls timers — an ordinary thread that a busy machine can hold off for
// many milliseconds, whatever priority the media loop's own (locked)
// thread has; the kernel wakes a sleeping thread itself, at that
// thread's priority. Interrupted sleeps just return early: the caller
// re-reads the clock.
func threadSleep(d time.Duration) bool {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
	return true
}

// threadCPU returns the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
