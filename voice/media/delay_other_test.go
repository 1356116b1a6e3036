//go:build !linux

package media

import "time"

var monoBase = time.Now()

// monoNow is the monotonic clock in nanoseconds.
func monoNow() int64 { return int64(time.Since(monoBase)) }

// sleepUntil sleeps until monoNow reaches ns.
func sleepUntil(ns int64) { time.Sleep(time.Duration(ns - monoNow())) }
