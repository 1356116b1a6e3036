package hw

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hw/hwtest"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

type hookTerm struct {
	mu  sync.Mutex
	off bool
}

func (h *hookTerm) LoopClosed() bool               { h.mu.Lock(); defer h.mu.Unlock(); return h.off }
func (h *hookTerm) Ring(bool)                      {}
func (h *hookTerm) Audio(uint64, []int16, []int16) {}

// TestPollOffLoop: with PollHz the hook is sampled by board/hw's own
// goroutine; PollHook answers from the last sample without touching the
// chip, and Close stops the sampling before it halts the chips.
func TestPollOffLoop(t *testing.T) {
	def := board.RPiTDM400()
	def.PollHz = 200
	h := hwtest.New(def, hwtest.Opts{})
	term := &hookTerm{}
	h.FXS[1].Attach(term)
	hwy := simpcm.New(simpcm.Opts{Slots: def.Slots, Clock: &simpcm.VirtualClock{}})
	b, err := Open(def, Opts{Highway: hwy, Host: h, Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	fxs := b.Ports[0].FXS
	if _, ok := fxs.(*polledFXS); !ok {
		t.Fatalf("FXS is %T, want the polled one", fxs)
	}
	term.mu.Lock()
	term.off = true
	term.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := h.FXS[1].Accesses()
		off, err := fxs.PollHook(0)
		if err != nil {
			t.Fatal(err)
		}
		if off {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("off hook not seen in 10 s (%d accesses)", before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := b.Ports[1].FXO.Poll(0); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	n := h.FXS[1].Accesses()
	time.Sleep(50 * time.Millisecond)
	if h.FXS[1].Accesses() != n {
		t.Error("the chip is still polled after Close")
	}
}

// seqFXO returns its statuses in turn.
type seqFXO struct {
	st  []board.FXOStatus
	err error
}

func (s *seqFXO) SetHook(bool) error { return nil }
func (s *seqFXO) Poll(time.Duration) (board.FXOStatus, error) {
	st := s.st[0]
	if len(s.st) > 1 {
		s.st = s.st[1:]
	}
	return st, s.err
}

// TestPolledFXOEvents: events of every sample between two reads reach
// the loop once; the state is the last sample's.
func TestPolledFXOEvents(t *testing.T) {
	f := &polledFXO{FXO: &seqFXO{st: []board.FXOStatus{
		{Ringing: true, Events: board.FXORingStart},
		{Ringing: false, Events: board.FXORingStop},
		{Battery: true},
	}}}
	f.poll(0)
	f.poll(10 * time.Millisecond)
	st, err := f.Poll(0)
	if err != nil || st.Ringing || st.Events != board.FXORingStart|board.FXORingStop {
		t.Fatalf("first read %+v %v", st, err)
	}
	if st, _ := f.Poll(0); st.Events != 0 {
		t.Errorf("events read twice: %+v", st)
	}
	f.poll(20 * time.Millisecond)
	f.FXO.(*seqFXO).err = errors.New("spi down")
	f.poll(30 * time.Millisecond)
	if st, err := f.Poll(0); err == nil || !st.Battery {
		t.Errorf("after a failed sample: %+v %v", st, err)
	}
}
