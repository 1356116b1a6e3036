package gateway_test

import (
	"fmt"
	"testing"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/gateway"
)

// TestFXORFC4733: the number phone 1 keys after the office's dial tone
// (two-stage over SIP) travels as RFC 4733 events, which the FXO port
// regenerates as DTMF on the line: the office receives it, and the FXO
// call's statistics count the events.
func TestFXORFC4733(t *testing.T) {
	r, co := trunkRig(t, gateway.FXOConfig{SilenceTimeout: 30e9})
	p1 := r.phone(1)
	must(t, p1.SetHook("off"))
	r.waitHears(1, 350)
	must(t, p1.Dial("103", "dtmf"))
	r.lineState(co, "offhook")
	r.waitHears(1, 440)
	// RFC 4733 events travel in real time: so must the frames, for the
	// digits' timing to hold.
	r.realtime.Store(true)
	must(t, p1.Dial("2580#", "dtmf"))
	r.eventually("office receives the digits", func() error {
		if d := co.State().Line.Digits; d != "2580#" {
			return fmt.Errorf("digits %q", d)
		}
		return nil
	})
	r.eventually("the FXO call counts the events", func() error {
		ps, err := r.fxoStatus()
		if err != nil {
			return err
		}
		if ps.Call == nil || ps.Call.DTMFReceived < 5 {
			return fmt.Errorf("call %+v", ps.Call)
		}
		return nil
	})
}

// TestFXOParallelPickup: a parallel phone on the line shows in the FXO
// port's status (line in_use), on an idle line and during a trunk call,
// and the call goes on while it is off hook.
func TestFXOParallelPickup(t *testing.T) {
	r, co := trunkRig(t, gateway.FXOConfig{PSTNTo: "101"})
	inUse := func(what string, want bool, call string) {
		t.Helper()
		r.eventually(what, func() error {
			ps, err := r.fxoStatus()
			if err != nil {
				return err
			}
			if ps.Line == nil || ps.Line.InUse != want || (call != "" && ps.Line.Call != call) {
				return fmt.Errorf("line %+v", ps.Line)
			}
			return nil
		})
	}
	must(t, co.PSTN("extension-off", nil))
	inUse("idle line in use", true, "idle")
	must(t, co.PSTN("extension-on", nil))
	inUse("idle line free", false, "idle")
	must(t, co.PSTN("ring", &simapi.CallerID{Number: "5550100"}))
	r.waitState(1, "ringing")
	must(t, r.phone(1).SetHook("off"))
	r.lineState(co, "connected")
	must(t, co.PSTN("extension-off", nil))
	inUse("talking line in use", true, "talking")
	must(t, co.Say([]float64{1000}, -12))
	r.waitHears(1, 1000)
	must(t, co.PSTN("extension-on", nil))
	inUse("talking line free", false, "talking")
	must(t, r.phone(1).SetHook("on"))
	r.lineState(co, "idle")
}
