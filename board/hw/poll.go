package hw

import (
	"sync"
	"time"

	"github.com/loopstart/loopstart/board"
)

// poller samples the chips from a goroutine of its own, off the media
// loop (board.Definition.PollHz): the loop reads the last sample and never
// waits for an SPI transfer. When the transfers take longer than the
// interval the ticker drops ticks: polling slows down instead of the loop.
type poller struct {
	fxs  []*polledFXS
	fxo  []*polledFXO
	stop chan struct{}
	done chan struct{}
}

func newPoller() *poller {
	return &poller{stop: make(chan struct{}), done: make(chan struct{})}
}

// start polls every interval until halt.
func (p *poller) start(interval time.Duration) {
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		t0 := time.Now()
		p.pollAll(0)
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.pollAll(time.Since(t0))
			}
		}
	}()
}

func (p *poller) pollAll(now time.Duration) {
	for _, f := range p.fxs {
		f.poll(now)
	}
	for _, f := range p.fxo {
		f.poll(now)
	}
}

// halt stops polling and waits for the goroutine.
func (p *poller) halt() error {
	close(p.stop)
	<-p.done
	return nil
}

// polledFXS is an FXS whose hook is sampled by the poller; line feed and
// ringing go to the chip at once.
type polledFXS struct {
	board.FXS
	mu  sync.Mutex
	off bool
	err error
}

func (f *polledFXS) poll(now time.Duration) {
	off, err := f.FXS.PollHook(now)
	f.mu.Lock()
	f.off, f.err = off, err
	f.mu.Unlock()
}

// PollHook returns the last sample's debounced hook state and error.
func (f *polledFXS) PollHook(time.Duration) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.off, f.err
}

// polledFXO is an FXO whose line is sampled by the poller: Poll returns
// the last sample with the events of every sample since the previous
// Poll.
type polledFXO struct {
	board.FXO
	mu      sync.Mutex
	st      board.FXOStatus
	pending board.FXOEvent
	err     error
}

func (f *polledFXO) poll(now time.Duration) {
	st, err := f.FXO.Poll(now)
	f.mu.Lock()
	f.st, f.err = st, err
	f.pending |= st.Events
	f.mu.Unlock()
}

// Poll returns the last sample and the events gathered since the last call.
func (f *polledFXO) Poll(time.Duration) (board.FXOStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.Events, f.pending = f.pending, 0
	return st, f.err
}
