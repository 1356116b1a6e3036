package factory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// pumped is a highway kept running by a goroutine until the media loop
// calls Exchange for the first time: real PCM clocks run only while frames
// are read, and the chips need them from bring-up on.
type pumped struct {
	pcm.Highway
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{} // closed when the pump goroutine returns
	handed   atomic.Bool   // the media loop owns the highway
}

// startPump starts the pump on h and waits up to timeout for its first
// frame. When none comes (a silent bus) or the first exchange fails, it
// stops the pump, leaves h to be closed when the pump returns, and
// reports why.
func startPump(h pcm.Highway, timeout time.Duration) (pcm.Highway, error) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pumped{Highway: h, cancel: cancel, done: make(chan struct{})}
	first := make(chan error, 1)
	go p.run(ctx, first)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-first:
		if err == nil {
			return p, nil
		}
		p.stop()
		<-p.done
		return nil, errors.Join(err, h.Close())
	case <-t.C:
		p.stop()
		go func() { <-p.done; _ = h.Close() }()
		return nil, fmt.Errorf("silent: no frame in %v (no PCM clock?)", timeout)
	}
}

// run exchanges silent frames until stopped or an exchange fails; the
// first exchange's result goes to first.
func (p *pumped) run(ctx context.Context, first chan<- error) {
	defer close(p.done)
	n := p.Slots()
	tx, rx := make([][]int16, n), make([][]int16, n)
	for i := range n {
		tx[i], rx[i] = make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	}
	reported := false
	for ctx.Err() == nil {
		_, _, err := p.Highway.Exchange(ctx, tx, rx)
		if !reported {
			first <- err
			reported = true
		}
		if err != nil {
			return
		}
	}
}

func (p *pumped) stop() { p.stopOnce.Do(p.cancel) }

// Exchange implements pcm.Highway; the first call stops the pump and
// takes the highway over.
func (p *pumped) Exchange(ctx context.Context, tx, rx [][]int16) (uint64, time.Duration, error) {
	if !p.handed.Load() {
		p.stop()
		<-p.done
		p.handed.Store(true)
	}
	return p.Highway.Exchange(ctx, tx, rx)
}

// Close stops the pump and closes the highway.
func (p *pumped) Close() error {
	p.stop()
	<-p.done
	return p.Highway.Close()
}
