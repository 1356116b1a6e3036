package hil

import (
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
// state — hook, ringing, battery — changes on frames), with silent PCM:
// the rig has no audio path to the gateway's ALSA highway.
type Clock struct {
	chips    []transferer
	slots    int
	from, to [][]int16
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// Tick advances every model by one frame numbered seq.
// It is not safe for concurrent use (Start's goroutine, or a test).
func (c *Clock) Tick(seq uint64) {
	if c.from == nil {
		c.from, c.to = make([][]int16, c.slots), make([][]int16, c.slots)
		for i := range c.from {
			c.from[i], c.to[i] = make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
		}
	}
	for i := range c.from {
		clear(c.from[i])
	}
	for _, ch := range c.chips {
		ch.Transfer(seq, c.from, c.to)
	}
}

// Start ticks every frame duration until Stop.
func (c *Clock) Start() {
	go func() {
		defer close(c.done)
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
				c.Tick(uint64(now.Sub(t0) / pcm.FrameDuration))
			}
		}
	}()
}

// Stop ends the ticks.
func (c *Clock) Stop() {
	c.once.Do(func() { close(c.stop); <-c.done })
}

// NewClock returns the rig's frame clock (not started).
func (r *Rig) NewClock() *Clock {
	c := &Clock{slots: r.Def.Slots, stop: make(chan struct{}), done: make(chan struct{})}
	for _, ch := range r.slics {
		c.chips = append(c.chips, ch)
	}
	c.chips = append(c.chips, r.daas...)
	return c
}
