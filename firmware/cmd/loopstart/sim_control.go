package main

import (
	"errors"
	"fmt"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/webui"
)

// simControl adapts the sim board's virtual phones (FXS ports) and its
// virtual central office line (the FXO port) to the web UI's sim control
// API.
type simControl struct{ b *simboard.Board }

var (
	_ webui.SimControl = simControl{}
	_ webui.SimPSTN    = simControl{}
)

func (s simControl) phone(n int) (*simboard.Phone, error) {
	p, err := s.b.Phone(n)
	if err != nil {
		return nil, fmt.Errorf("%w: %d", webui.ErrNoPort, n)
	}
	return p, nil
}

// line returns the central office of FXO port n, or nil when n is not one.
func (s simControl) line(n int) *simboard.CentralOffice {
	co, err := s.b.Line(n)
	if err != nil {
		return nil
	}
	return co
}

func (s simControl) Ports() []webui.SimPort {
	var out []webui.SimPort
	for _, p := range s.b.Phones() {
		out = append(out, simPort(p.State()))
	}
	if co := s.line(simboard.FXOPort); co != nil {
		out = append(out, linePort(co.State()))
	}
	return out
}

func (s simControl) Port(n int) (webui.SimPort, error) {
	if co := s.line(n); co != nil {
		return linePort(co.State()), nil
	}
	p, err := s.phone(n)
	if err != nil {
		return webui.SimPort{}, err
	}
	return simPort(p.State()), nil
}

// Hook on the FXO port moves the hook of a parallel phone on the PSTN line
// (off: the line is in use).
func (s simControl) Hook(n int, state string) error {
	if co := s.line(n); co != nil {
		switch state {
		case "off":
			return badRequest(co.PSTN("extension-off", nil))
		case "on":
			return badRequest(co.PSTN("extension-on", nil))
		}
		return fmt.Errorf("%w: the FXO line's extension phone takes off or on, not %q", webui.ErrBadRequest, state)
	}
	p, err := s.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.SetHook(state))
}

// Dial on the FXO port makes the far party send DTMF towards the gateway.
func (s simControl) Dial(n int, digits, mode string) error {
	if co := s.line(n); co != nil {
		if mode == "pulse" {
			return fmt.Errorf("%w: the far party of a PSTN line dials DTMF only", webui.ErrBadRequest)
		}
		return badRequest(co.Dial(digits))
	}
	p, err := s.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.Dial(digits, mode))
}

func (s simControl) Say(n int, tonesHz []float64, levelDBFS float64) error {
	if co := s.line(n); co != nil {
		return badRequest(co.Say(tonesHz, levelDBFS))
	}
	p, err := s.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.Say(tonesHz, levelDBFS))
}

func (s simControl) Heard(n int, d time.Duration) ([]int16, error) {
	if co := s.line(n); co != nil {
		return co.Heard(d), nil
	}
	p, err := s.phone(n)
	if err != nil {
		return nil, err
	}
	return p.Heard(d), nil
}

// PSTN performs a far-side action on an FXO port's line.
func (s simControl) PSTN(n int, action string, cid *webui.CallerID) error {
	co := s.line(n)
	if co == nil {
		if _, err := s.phone(n); err != nil {
			return err
		}
		return fmt.Errorf("%w: port %d is an FXS port; pstn actions need the FXO port %d", webui.ErrBadRequest, n, simboard.FXOPort)
	}
	var c *simboard.CallerID
	if cid != nil {
		c = &simboard.CallerID{Number: cid.Number, Name: cid.Name, Time: cid.Time}
	}
	return badRequest(co.PSTN(action, c))
}

// badRequest marks a phone's refusal as the caller's mistake.
func badRequest(err error) error {
	if err == nil || errors.Is(err, webui.ErrBadRequest) {
		return err
	}
	return fmt.Errorf("%w: %w", webui.ErrBadRequest, err)
}

func simPort(ps simboard.PhoneState) webui.SimPort {
	sp := webui.SimPort{
		Port: ps.Port, Kind: ps.Kind, Hook: ps.Hook, Ringing: ps.Ringing, Rings: ps.Rings,
		MWI: ps.MWI, LastRingMS: ps.LastRingMS, LastPauseMS: ps.LastPauseMS, DTMFHeard: ps.DTMFHeard,
		Hearing: webui.Hearing{TonesHz: ps.Hearing.TonesHz, LevelDBFS: ps.Hearing.LevelDBFS, DTMF: ps.Hearing.DTMF},
	}
	if ps.CallerID != nil {
		sp.CallerID = &webui.CallerID{Number: ps.CallerID.Number, Name: ps.CallerID.Name, Time: ps.CallerID.Time}
	}
	return sp
}

// linePort describes the FXO port: the central office line's state, the
// DAA's hook, and what the far party heard.
func linePort(ls simboard.LinePortState) webui.SimPort {
	l := ls.Line
	sp := webui.SimPort{
		Port: ls.Port, Kind: ls.Kind, Hook: ls.Hook, Ringing: ls.Ringing, Rings: ls.Rings,
		Hearing: webui.Hearing{TonesHz: ls.Hearing.TonesHz, LevelDBFS: ls.Hearing.LevelDBFS, DTMF: ls.Hearing.DTMF},
		Line: &webui.SimLine{State: l.State, Digits: l.Digits, Volts: l.Volts, LoopMA: l.LoopMA,
			Polarity: l.Polarity, Battery: l.Battery, Extension: l.Extension},
	}
	if ls.CallerID != nil {
		sp.CallerID = &webui.CallerID{Number: ls.CallerID.Number, Name: ls.CallerID.Name, Time: ls.CallerID.Time}
	}
	return sp
}
