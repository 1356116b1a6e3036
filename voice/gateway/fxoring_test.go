package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestFXORingCadence: the FXO port takes a ring for a call only when it
// fits its country's ring cadence. The office rings with caller ID; with
// the port's country's cadence phone 1 (pstn-to 101) rings; with another
// country's cadence, or a single short burst, no call reaches it.
func TestFXORingCadence(t *testing.T) {
	for _, tc := range []struct {
		name     string
		port, co string // the port's and the office's country
		burst    int    // > 0: the office rings this many frames once, then stops
		want     bool
	}{
		{"us cadence on a us port", "us", "us", 0, true},
		{"uk double ring on a uk port", "uk", "uk", 0, true},
		{"de cadence on a us port", "us", "de", 0, false},
		{"uk double ring on a us port", "us", "uk", 0, false},
		{"us cadence on a uk port", "uk", "us", 0, false},
		{"single 400 ms burst", "us", "us", 40, false},
		{"single 1 s burst", "us", "us", 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "3", User: "103"}},
				[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(1xx)", Extension: "101"},
					{N: simboard.FXOPort, Account: "3", Extension: "103", Country: tc.port, FXO: gateway.FXOConfig{PSTNTo: "101"}, DigitMap: "(1xx)"}})
			co, err := r.board.Line(simboard.FXOPort)
			if err != nil {
				t.Fatal(err)
			}
			if err := co.SetCountry(tc.co); err != nil {
				t.Fatal(err)
			}
			cid := &simapi.CallerID{Number: "5550100", Name: "PSTN TEST"}
			if tc.burst > 0 {
				r.pace <- false
				if err := co.PSTN("ring", cid); err != nil {
					t.Fatal(err)
				}
				if err := r.clock.Step(context.Background(), tc.burst); err != nil {
					t.Fatal(err)
				}
				if err := co.PSTN("hangup", nil); err != nil {
					t.Fatal(err)
				}
				r.pace <- true
			} else if err := co.PSTN("ring", cid); err != nil {
				t.Fatal(err)
			}
			if tc.want {
				r.waitState(1, "ringing")
				r.eventually("phone 1 shows the PSTN caller", func() error {
					if c := r.phone(1).State().CallerID; c == nil || c.Number != "5550100" {
						return fmt.Errorf("caller id %+v", c)
					}
					return nil
				})
				return
			}
			// Three ring cycles of the office (or 12 s after a burst),
			// in virtual time: phone 1 must never ring.
			start := r.clock.Now()
			deadline := time.Now().Add(30 * time.Second)
			for {
				if r.phone(1).State().Ringing || r.state(1) == "ringing" {
					t.Fatalf("phone 1 rings (office rang %d times)", co.State().Rings)
				}
				if ps, err := r.fxoStatus(); err == nil && ps.Line != nil && ps.Line.Call != "idle" {
					t.Fatalf("fxo line %s", ps.Line.Call)
				}
				if co.State().Rings >= 3 || (tc.burst > 0 && r.clock.Now()-start > 12*time.Second) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal(fmt.Errorf("the office rang %d times in 30 s", co.State().Rings))
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
