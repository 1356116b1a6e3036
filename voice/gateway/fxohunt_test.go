package gateway_test

import (
	"fmt"
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestFXOHunt: a PSTN call to the hunt list "101,102" rings phone 1
// first; when it does not answer within the hunt timeout, or is busy,
// phone 2 rings, answers, and talks with the office's far party.
func TestFXOHunt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		busy1 bool // phone 1 is off hook: its port refuses the call
		to    string
	}{
		{"no answer", false, "101,102"},
		{"busy", true, "101, 102"},
		{"an unknown target skipped", false, "sip:nobody@127.0.0.1:1,101,102"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}, {ID: "3", User: "103"}},
				[]gateway.PortConfig{
					{N: 1, Account: "1", DigitMap: "(1xx)", Extension: "101", NoCallWaiting: true},
					{N: 2, Account: "2", DigitMap: "(1xx)", Extension: "102"},
					{N: simboard.FXOPort, Account: "3", Extension: "103",
						FXO: gateway.FXOConfig{PSTNTo: tc.to, HuntTimeout: 3 * time.Second}}})
			co, err := r.board.Line(simboard.FXOPort)
			if err != nil {
				t.Fatal(err)
			}
			p1, p2 := r.phone(1), r.phone(2)
			if tc.busy1 {
				must(t, p1.SetHook("off"))
				r.waitState(1, "dialtone")
			}
			start := time.Now()
			must(t, co.PSTN("ring", &simapi.CallerID{Number: "5550100", Name: "PSTN TEST"}))
			rang1 := false
			r.eventually("phone 2 rings", func() error {
				if p1.State().Ringing {
					rang1 = true
				}
				if !p2.State().Ringing {
					return fmt.Errorf("port 1 %s, port 2 %s", r.state(1), r.state(2))
				}
				return nil
			})
			took := time.Since(start)
			if tc.busy1 {
				if rang1 {
					t.Error("busy phone 1 rang")
				}
			} else {
				if !rang1 {
					t.Error("phone 1 never rang first")
				}
				if took < 3*time.Second {
					t.Errorf("phone 2 rang after %v, before the 3 s hunt timeout", took)
				}
				r.eventually("phone 1 stops ringing", func() error {
					if p1.State().Ringing {
						return fmt.Errorf("ringing")
					}
					return nil
				})
			}
			r.eventually("phone 2 shows the PSTN caller", func() error {
				if c := p2.State().CallerID; c == nil || c.Number != "5550100" {
					return fmt.Errorf("caller id %+v", c)
				}
				return nil
			})
			must(t, p2.SetHook("off"))
			r.lineState(co, "connected")
			r.waitState(2, "talking")
			must(t, co.Say([]float64{1000}, -12))
			r.waitHears(2, 1000)
			must(t, co.PSTNSignal("hangup", "cpc", nil))
			r.lineState(co, "idle")
			r.eventually("phone 2's call ends", func() error {
				if s := r.state(2); s == "talking" {
					return fmt.Errorf("state %s", s)
				}
				return nil
			})
		})
	}
}
