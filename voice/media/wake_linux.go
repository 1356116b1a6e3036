package media

import (
	"math"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wakeWord is a counter that goroutines can sleep on until it changes: a
// futex, so that waking a helper is one system call straight to its
// thread (a real-time thread runs at once), not a pass through the Go
// scheduler, which first wakes some other thread (in the normal class)
// to hand the helper's locked thread its turn. Sleeping and waking
// allocate nothing.
type wakeWord struct{ v uint32 }

const (
	futexWaitPrivate = 0 | 128 // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	futexWakePrivate = 1 | 128 // FUTEX_WAKE | FUTEX_PRIVATE_FLAG
)

func (w *wakeWord) load() uint32 { return atomic.LoadUint32(&w.v) }

// wait sleeps while the word holds old; it may return early.
func (w *wakeWord) wait(old uint32) {
	// A system call the runtime knows about (its P can serve others
	// meanwhile); EAGAIN (changed already) and EINTR just return.
	_, _, _ = syscall.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&w.v)), futexWaitPrivate, uintptr(old), 0, 0, 0)
}

// add moves the word on and wakes every goroutine sleeping on it.
func (w *wakeWord) add() {
	atomic.AddUint32(&w.v, 1)
	_, _, _ = syscall.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&w.v)), futexWakePrivate, math.MaxInt32, 0, 0, 0)
}
