package gateway

import (
	"sync"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/voice/status"
)

// fxoPort is the line side of an FXO port. For now the gateway only watches
// the line (ring detection, hook, voltage, polarity) and reports it in the
// status; calls over FXO ports come later.
type fxoPort struct {
	dev board.FXO

	mu       sync.Mutex // guards the fields below: written by the loop, read by status
	st       board.FXOStatus
	err      error
	ok       bool          // polled at least once
	now      time.Duration // frame clock of the last poll
	lastRing time.Duration // frame clock of the last poll that saw ringing
}

// ringHold is how long after a ring burst the port still reads "ringing",
// so the silent part of a cadence (4 s in the US) does not read as idle.
const ringHold = 6 * time.Second

// newFXOPort finishes p as an FXO port: polled by the media loop on its slot.
func (g *Gateway) newFXOPort(p *port, bp board.Port) (*port, error) {
	p.fxo = &fxoPort{dev: bp.FXO}
	if p.cfg.Account != "" {
		g.log.Warn("fxo port: calls over FXO ports are not supported yet; showing the line only", "port", p.cfg.N)
	}
	if err := g.loop.Add(bp.Slot, p); err != nil {
		return nil, err
	}
	return p, nil
}

// addFXOPorts adds every FXO port of the board the config does not list,
// so that its line shows in the status.
func (g *Gateway) addFXOPorts() error {
	listed := map[int]bool{}
	for _, p := range g.ports {
		listed[p.cfg.N] = true
	}
	for _, bp := range g.cfg.Board.Ports {
		if bp.Kind != board.KindFXO || listed[bp.N] {
			continue
		}
		p, err := g.newPort(bp, PortConfig{N: bp.N})
		if err != nil {
			return err
		}
		g.ports = append(g.ports, p)
	}
	return nil
}

// tick polls the line once per frame on the loop goroutine; it does not
// allocate.
func (f *fxoPort) tick(now time.Duration) {
	st, err := f.dev.Poll(now)
	f.mu.Lock()
	if err == nil {
		f.st = st
		if st.Ringing {
			f.lastRing = now
		}
	}
	f.err, f.ok, f.now = err, true, now
	f.mu.Unlock()
}

// fill describes the line in ps.
func (f *fxoPort) fill(ps *status.PortStatus) {
	f.mu.Lock()
	st, err, ok := f.st, f.err, f.ok
	recentRing := st.Rings > 0 && f.now-f.lastRing < ringHold
	f.mu.Unlock()
	ls := &status.LineStatus{Volts: st.LineVolts, LoopMA: st.LoopMA, Polarity: "normal",
		Battery: st.Battery, InUse: st.InUse, Rings: st.Rings}
	if st.Reversed {
		ls.Polarity = "reversed"
	}
	if err != nil {
		ls.Error = err.Error()
	}
	ps.Line = ls
	switch {
	case !ok:
		ps.State = "idle"
	case st.OffHook:
		ps.State, ps.Hook = "offhook", "off"
	case st.Ringing || recentRing:
		ps.State = "ringing"
	case !st.Battery:
		ps.State = "disconnected"
	default:
		ps.State = "idle"
	}
}
