package media

import _ "unsafe" // go:linkname

// goyield is the runtime's yield: the goroutine goes to the tail of its
// P's local run queue and the thread runs the scheduler, as Gosched does,
// but without waking an idle P's thread to look for work (Gosched puts
// the goroutine on the global queue and calls wakep, which on a mostly
// idle process starts a thread that spins, finds nothing and sleeps
// again: a futex wake-up and a cross-CPU interrupt a frame). The
// runtime keeps goyield's name and signature for linkname (go.dev/issue/67401).
//
//go:linkname goyield runtime.goyield
func goyield()
