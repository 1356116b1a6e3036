//go:build !linux

package sim

import "time"

// threadSleep is only done on Linux; elsewhere the clock uses a Go timer.
func threadSleep(time.Duration) bool { return false }

// threadCPU has no per-thread CPU clock to read here: the wall clock
// stands in (the devices' time in Transfer is then their wall time).
func threadCPU() time.Duration { return time.Duration(time.Now().UnixNano()) }
