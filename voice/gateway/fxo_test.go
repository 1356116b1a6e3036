package gateway_test

import (
	"fmt"
	"testing"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/status"
)

// fxoStatus returns the status of the sim board's FXO port.
func (r *rig) fxoStatus() (status.PortStatus, error) {
	for _, p := range r.gw.Status().Ports {
		if p.Port == simboard.FXOPort {
			return p, nil
		}
	}
	return status.PortStatus{}, fmt.Errorf("no port %d in the status", simboard.FXOPort)
}

// TestFXOStatus: the FXO port, not in the config, shows in the status with
// its line: idle with battery, ringing while the office rings, reversed
// polarity, disconnected without battery.
func TestFXOStatus(t *testing.T) {
	r := newRig(t)
	co, err := r.board.Line(simboard.FXOPort)
	if err != nil {
		t.Fatal(err)
	}
	want := func(what string, ok func(status.PortStatus) bool) {
		t.Helper()
		r.eventually(what, func() error {
			ps, err := r.fxoStatus()
			if err != nil {
				return err
			}
			if ps.Line == nil || !ok(ps) {
				return fmt.Errorf("status %+v line %+v", ps, ps.Line)
			}
			return nil
		})
	}
	want("idle line", func(ps status.PortStatus) bool {
		return ps.Kind == "fxo" && ps.State == "idle" && ps.Hook == "on" && ps.Line.Volts == 48 && ps.Line.Battery
	})
	if err := co.PSTN("ring", &simapi.CallerID{Number: "5551234"}); err != nil {
		t.Fatal(err)
	}
	want("ringing", func(ps status.PortStatus) bool { return ps.State == "ringing" && ps.Line.Rings >= 1 })
	if err := co.PSTN("hangup", nil); err != nil {
		t.Fatal(err)
	}
	if err := co.PSTN("reverse", nil); err != nil {
		t.Fatal(err)
	}
	want("reversed", func(ps status.PortStatus) bool {
		return ps.State == "idle" && ps.Line.Polarity == "reversed" && ps.Line.Volts == -48
	})
	if err := co.PSTN("disconnect", nil); err != nil {
		t.Fatal(err)
	}
	want("disconnected", func(ps status.PortStatus) bool { return ps.State == "disconnected" && !ps.Line.Battery })
	// The FXS ports are untouched.
	if s := r.state(1); s != "idle" {
		t.Errorf("port 1 %s", s)
	}
}
