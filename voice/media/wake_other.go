//go:build !linux

package media

import (
	"sync"
	"sync/atomic"
)

// wakeWord is a counter that goroutines can sleep on until it changes
// (a futex on Linux, a condition variable here).
type wakeWord struct {
	v    uint32
	mu   sync.Mutex
	cond *sync.Cond
	once sync.Once
}

func (w *wakeWord) init() { w.once.Do(func() { w.cond = sync.NewCond(&w.mu) }) }

func (w *wakeWord) load() uint32 { return atomic.LoadUint32(&w.v) }

// wait sleeps while the word holds old; it may return early.
func (w *wakeWord) wait(old uint32) {
	w.init()
	w.mu.Lock()
	for atomic.LoadUint32(&w.v) == old {
		w.cond.Wait()
	}
	w.mu.Unlock()
}

// add moves the word on and wakes every goroutine sleeping on it.
func (w *wakeWord) add() {
	w.init()
	w.mu.Lock()
	atomic.AddUint32(&w.v, 1)
	w.cond.Broadcast()
	w.mu.Unlock()
}
