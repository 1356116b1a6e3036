package sim

import (
	"errors"
	"fmt"
	"github.com/loopstart/loopstart/board"
	"strconv"
	"strings"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
)

// The board is the sim control API's Control: its virtual phones are the FXS
// ports, its central office line the FXO port.
var _ simapi.Control = (*Board)(nil)

var _ simapi.PSTNSignaler = (*Board)(nil)

// phone returns the phone on FXS port n, or an error wrapping
// simapi.ErrNoPort.
func (b *Board) phone(n int) (*Phone, error) {
	p, err := b.Phone(n)
	if err != nil {
		return nil, fmt.Errorf("%w: %d", simapi.ErrNoPort, n)
	}
	return p, nil
}

// line returns the central office of FXO port n, or nil when n is not one.
func (b *Board) line(n int) *CentralOffice {
	co, err := b.Line(n)
	if err != nil {
		return nil
	}
	return co
}

// PortStates implements simapi.Control: every port, in port order.
func (b *Board) PortStates() []simapi.Port {
	var out []simapi.Port
	for _, port := range b.Ports {
		if st, err := b.PortState(port.N); err == nil {
			out = append(out, st)
		}
	}
	return out
}

// PortState implements simapi.Control.
func (b *Board) PortState(n int) (simapi.Port, error) {
	if co := b.line(n); co != nil {
		return co.State(), nil
	}
	p, err := b.phone(n)
	if err != nil {
		return simapi.Port{}, err
	}
	return p.State(), nil
}

// Hook implements simapi.Control. On the FXO port it moves the hook of a
// parallel phone on the PSTN line (off: the line is in use); a flash there
// is a bad request.
func (b *Board) Hook(n int, state string) error {
	if co := b.line(n); co != nil {
		switch state {
		case "off":
			return badRequest(co.PSTN("extension-off", nil))
		case "on":
			return badRequest(co.PSTN("extension-on", nil))
		}
		return fmt.Errorf("%w: the FXO line's extension phone takes off or on, not %q", simapi.ErrBadRequest, state)
	}
	p, err := b.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.SetHook(state))
}

// Dial implements simapi.Control. On the FXO port the far party sends DTMF
// towards the gateway; it cannot pulse dial.
func (b *Board) Dial(n int, digits, mode string) error {
	if co := b.line(n); co != nil {
		if mode == "pulse" {
			return fmt.Errorf("%w: the far party of a PSTN line dials DTMF only", simapi.ErrBadRequest)
		}
		return badRequest(co.Dial(digits))
	}
	p, err := b.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.Dial(digits, mode))
}

// Say implements simapi.Control.
func (b *Board) Say(n int, tonesHz []float64, levelDBFS float64) error {
	if co := b.line(n); co != nil {
		return badRequest(co.Say(tonesHz, levelDBFS))
	}
	p, err := b.phone(n)
	if err != nil {
		return err
	}
	return badRequest(p.Say(tonesHz, levelDBFS))
}

// Heard implements simapi.Control.
func (b *Board) Heard(n int, d time.Duration) ([]int16, error) {
	if co := b.line(n); co != nil {
		return co.Heard(d), nil
	}
	p, err := b.phone(n)
	if err != nil {
		return nil, err
	}
	return p.Heard(d), nil
}

// PSTN implements simapi.Control: a far-side action on the FXO port's line.
// On an FXS port it is a bad request.
func (b *Board) PSTN(n int, action string, cid *simapi.CallerID) error {
	co := b.line(n)
	if co == nil {
		if _, err := b.phone(n); err != nil {
			return err
		}
		return fmt.Errorf("%w: port %d is an FXS port; pstn actions need an FXO port %s", simapi.ErrBadRequest, n, b.fxoPorts())
	}
	return badRequest(co.PSTN(action, cid))
}

// PSTNSignal implements simapi.PSTNSignaler: PSTN with a hangup signal.
func (b *Board) PSTNSignal(n int, action, signal string, cid *simapi.CallerID) error {
	co := b.line(n)
	if co == nil {
		return b.PSTN(n, action, cid)
	}
	return badRequest(co.PSTNSignal(action, signal, cid))
}

// badRequest marks a phone's or line's refusal as the caller's mistake.
func badRequest(err error) error {
	if err == nil || errors.Is(err, simapi.ErrBadRequest) {
		return err
	}
	return fmt.Errorf("%w: %w", simapi.ErrBadRequest, err)
}

// fxoPorts lists the FXO port numbers for messages ("3", "3, 4").
func (b *Board) fxoPorts() string {
	var ns []string
	for _, port := range b.Ports {
		if port.Kind == board.KindFXO {
			ns = append(ns, strconv.Itoa(port.N))
		}
	}
	return strings.Join(ns, ", ")
}
