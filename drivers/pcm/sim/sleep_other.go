//go:build !linux

package sim

import "time"

// threadSleep is only done on Linux; elsewhere the clock uses a Go timer.
func threadSleep(time.Duration) bool { return false }
