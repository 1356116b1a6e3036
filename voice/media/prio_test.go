package media

import "runtime"

// realTimeErr reports why this process cannot put a thread in SCHED_FIFO
// (nil: it can), leaving no thread raised: the probe holds its thread.
func realTimeErr() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := setThreadPolicy(true, 1); err != nil {
		return err
	}
	return setThreadPolicy(false, 0)
}
