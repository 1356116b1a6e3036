package main

import (
	"errors"
	"fmt"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/webui"
)

// simControl adapts the sim board's virtual phones to the web UI's sim
// control API.
type simControl struct{ b *simboard.Board }

var _ webui.SimControl = simControl{}

func (s simControl) phone(n int) (*simboard.Phone, error) {
	p, err := s.b.Phone(n)
	if err != nil {
		return nil, fmt.Errorf("%w: %d", webui.ErrNoPort, n)
	}
	return p, nil
}

func (s simControl) Ports() []webui.SimPort {
	var out []webui.SimPort
	for _, p := range s.b.Phones() {
		out = append(out, simPort(p.State()))
	}
	return out
}

func (s simControl) Port(n int) (webui.SimPort, error) {
	p, err := s.phone(n)
	if err != nil {
		return webui.SimPort{}, err
	}
	return simPort(p.State()), nil
}

func (s simControl) Hook(n int, state string) error {
	p, err := s.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.SetHook(state))
}

func (s simControl) Dial(n int, digits, mode string) error {
	p, err := s.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.Dial(digits, mode))
}

func (s simControl) Say(n int, tonesHz []float64, levelDBFS float64) error {
	p, err := s.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.Say(tonesHz, levelDBFS))
}

func (s simControl) Heard(n int, d time.Duration) ([]int16, error) {
	p, err := s.phone(n)
	if err != nil {
		return nil, err
	}
	return p.Heard(d), nil
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
