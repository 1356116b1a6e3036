package gateway

import (
	"os"
	"runtime"
)

// ReserveLoopProcs sizes the Go scheduler for the media loop and returns
// the GOMAXPROCS it set (0 when the GOMAXPROCS environment variable is set
// and wins). Call it once from main, before starting the gateway; it is a
// process-wide setting, so a library never calls it.
//
// Why: the loop's thread sleeps in the kernel between frames. When it
// wakes it needs a Go P to run on; if every P is busy (a SIP flood, a
// garbage collection's dedicated mark worker), it waits in the run queue
// for one — many milliseconds. Two Ps more than CPUs keep one idle nearly
// always, so the loop takes it at once; the operating system, where the
// loop's thread has real-time priority (Config.LoopPriority), then decides
// who runs, not the Go scheduler.
func ReserveLoopProcs() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return 0
	}
	n := runtime.NumCPU() + 2
	runtime.GOMAXPROCS(n)
	return n
}
