package hil

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	si3050model "github.com/loopstart/loopstart/drivers/si3050/model"
)

// OfficeVolts and OfficeLoopMA are the idle office line the FXO ports
// hang on: battery on hook, loop current once seized.
const (
	OfficeVolts  = 48
	OfficeLoopMA = 30
)

// office is a central-office line with battery and nothing else: the
// DAA sees an idle line, and a loop once it seizes it.
type office struct{}

func (office) Condition(seq uint64, offHook bool) si3050model.Condition {
	if offHook {
		return si3050model.Condition{Volts: 8, LoopMA: OfficeLoopMA}
	}
	return si3050model.Condition{Volts: OfficeVolts}
}

func (office) Audio(seq uint64, offHook bool, toLine, fromLine []int16) {}

// transferer is a chip model's PCM side.
type transferer interface {
	Transfer(seq uint64, fromHost, toHost [][]int16)
}

// Clock advances the models' line time one PCM frame per tick (their line
// state — hook, ringing, battery — changes on frames). Started with Start
// it ticks on a timer with silent PCM; with StartPCM it is paced by a PCM
// highway, the far side of the gateway's (the other device of snd-aloop):
// what the gateway plays reaches the chips' receive slots, what the chips
// send reaches the gateway's capture, as a real TDM bus does.
type Clock struct {
	r        *Rig
	chips    []transferer
	slots    int
	from, to [][]int16
	levels   slotLevels
	xruns    func() (capture, playback int) // the ALSA highway's, when it counts them
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	started  bool
}

// Tick advances every model by one frame numbered seq, with silence from
// the host. It is not safe for concurrent use (Start's goroutine, or a
// test).
func (c *Clock) Tick(seq uint64) {
	c.alloc()
	for i := range c.from {
		clear(c.from[i])
	}
	c.transfer(seq)
}

// alloc makes the frame buffers once.
func (c *Clock) alloc() {
	if c.from == nil {
		c.from, c.to = make([][]int16, c.slots), make([][]int16, c.slots)
		for i := range c.from {
			c.from[i], c.to[i] = make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
		}
	}
}

// transfer runs the models on c.from, filling c.to.
func (c *Clock) transfer(seq uint64) {
	for i := range c.to {
		clear(c.to[i])
	}
	for _, ch := range c.chips {
		ch.Transfer(seq, c.from, c.to)
	}
	if to, from, ok := c.levels.add(c.to, c.from); ok {
		c.r.pcm.mu.Lock()
		c.r.pcm.toGW, c.r.pcm.fromGW = append(c.r.pcm.toGW[:0], to...), append(c.r.pcm.fromGW[:0], from...)
		c.r.pcm.digits = c.levels.sentDigits()
		c.r.pcm.mu.Unlock()
	}
}

// count records frame seq in the rig's PCM status.
func (c *Clock) count(seq uint64) {
	s := &c.r.pcm
	s.mu.Lock()
	if s.frames > 0 && seq > s.last+1 {
		s.missed += seq - s.last - 1
	}
	s.frames++
	s.last = seq
	if c.xruns != nil {
		s.capXrun, s.playXrun = c.xruns()
	}
	s.mu.Unlock()
}

func (c *Clock) setSource(src string) {
	c.r.pcm.mu.Lock()
	c.r.pcm.source = src
	c.r.pcm.mu.Unlock()
}

// Start ticks every frame duration until Stop, with silent PCM.
func (c *Clock) Start() {
	c.started = true
	c.setSource("timer")
	go func() {
		defer close(c.done)
		c.runTimer(0)
	}()
}

// runTimer ticks on a timer from frame base until Stop.
func (c *Clock) runTimer(base uint64) {
	t := time.NewTicker(pcm.FrameDuration)
	defer t.Stop()
	t0 := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			// The frame number follows real time, so a late tick skips
			// frames as a real line would have gone on without us.
			seq := base + uint64(now.Sub(t0)/pcm.FrameDuration)
			c.Tick(seq)
			c.count(seq)
		}
	}
}

// StartPCM runs the models on h's frames until Stop: each Exchange sends
// the chips' transmit slots (the gateway captures them) and receives what
// the gateway played for the chips' receive slots. name is h's device
// for the status ("alsa:hw:0,1"). onThread, when not nil, runs first on
// the goroutine's locked OS thread (to set its scheduling class). A
// failed Exchange is counted and tried again a frame later; pcmRetries
// in a row end the PCM: the clock goes on on a timer with silent PCM, and
// the status's source names the error.
func (c *Clock) StartPCM(h pcm.Highway, name string, onThread func()) {
	c.started = true
	c.setSource(name)
	if x, ok := h.(interface{ Xruns() (int, int) }); ok {
		c.xruns = x.Xruns // read on the exchanging goroutine only (count)
	}
	go func() {
		defer close(c.done)
		runtime.LockOSThread()
		if onThread != nil {
			onThread()
		}
		c.alloc()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-c.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		var seq uint64
		failed := 0
		for {
			n, _, err := h.Exchange(ctx, c.to, c.from)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				// An xrun the highway could not recover at once (the
				// emulated CPU was away): try again a few frames on.
				c.r.pcm.mu.Lock()
				c.r.pcm.errors++
				c.r.pcm.lastErr = err.Error()
				c.r.pcm.mu.Unlock()
				if failed++; failed < pcmRetries {
					time.Sleep(pcm.FrameDuration)
					continue
				}
				c.setSource(fmt.Sprintf("timer (%s failed: %v)", name, err))
				runtime.UnlockOSThread()
				c.runTimer(seq + 1)
				return
			}
			failed = 0
			seq = n
			c.transfer(seq)
			c.count(seq)
		}
	}()
}

// pcmRetries is how many Exchange failures in a row StartPCM takes
// before it gives the PCM up.
const pcmRetries = 100

// Stop ends the ticks.
func (c *Clock) Stop() {
	c.once.Do(func() {
		close(c.stop)
		if c.started {
			<-c.done
		}
	})
}

// NewClock returns the rig's frame clock (not started).
func (r *Rig) NewClock() *Clock {
	c := &Clock{r: r, slots: r.Def.Slots, stop: make(chan struct{}), done: make(chan struct{})}
	for _, ch := range r.slics {
		c.chips = append(c.chips, ch)
	}
	c.chips = append(c.chips, r.daas...)
	return c
}
