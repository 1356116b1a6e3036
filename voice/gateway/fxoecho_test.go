package gateway_test

import (
	"fmt"
	"testing"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/gateway"
)

// TestFXOEcho: on a PSTN call through the FXO port, phone 1 talks while
// the office's far party is silent. The DAA model's hybrid returns the
// phone's voice in the line's capture; the trunk's canceller takes it out
// (the status's ERLE) so phone 1 does not hear itself, and, with the
// phone still talking over its echo, the office's busy tone (quieter than
// the echo) still ends the call.
func TestFXOEcho(t *testing.T) {
	for _, tc := range []struct {
		name    string
		levelDB float64 // phone 1's voice
		hz      []float64
	}{
		{"700 Hz at -12 dBFS", -12, []float64{700}},
		{"two tones at -9 dBFS", -9, []float64{550, 1300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, co := trunkRig(t, gateway.FXOConfig{PSTNTo: "101"})
			if err := co.PSTN("ring", &simapi.CallerID{Number: "5550100"}); err != nil {
				t.Fatal(err)
			}
			r.waitState(1, "ringing")
			if err := r.phone(1).SetHook("off"); err != nil {
				t.Fatal(err)
			}
			r.lineState(co, "connected")
			if err := r.phone(1).Say(tc.hz, tc.levelDB); err != nil {
				t.Fatal(err)
			}
			r.eventually("the far party hears phone 1", func() error {
				if h := co.State().Hearing; !hears(h.TonesHz, tc.hz[0]) {
					return fmt.Errorf("hearing %v", h.TonesHz)
				}
				return nil
			})
			r.eventually("the trunk cancels the line's echo", func() error {
				ps, err := r.fxoStatus()
				if err != nil {
					return err
				}
				if ps.Call == nil || ps.Call.Echo == nil {
					return fmt.Errorf("no echo figures: %+v", ps.Call)
				}
				if e := ps.Call.Echo; !e.Active || e.ERLEDB < 20 {
					return fmt.Errorf("echo %+v", *e)
				}
				if h := r.phone(1).State().Hearing; h.LevelDBFS > -40 {
					return fmt.Errorf("phone 1 hears itself at %.1f dBFS (%v)", h.LevelDBFS, h.TonesHz)
				}
				return nil
			})
			ps, _ := r.fxoStatus()
			t.Logf("FXO leg ERLE %.1f dB, phone 1 hears %.1f dBFS", ps.Call.Echo.ERLEDB, r.phone(1).State().Hearing.LevelDBFS)
			if err := co.PSTNSignal("hangup", "busy", nil); err != nil {
				t.Fatal(err)
			}
			r.lineState(co, "idle")
			if ps, _ := r.fxoStatus(); ps.Line == nil || ps.Line.Disconnect != "busy tone" {
				t.Errorf("disconnect %+v", ps.Line)
			}
		})
	}
}
