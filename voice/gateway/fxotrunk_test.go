package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// trunkRig is the sim board with phone 1 on extension 101 and the FXO port
// on account 3 with extension 103.
func trunkRig(t *testing.T, fxo gateway.FXOConfig) (*rig, *simboard.CentralOffice) {
	r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "3", User: "103"}},
		[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(1xx)", Extension: "101"},
			{N: simboard.FXOPort, Account: "3", Extension: "103", FXO: fxo, DigitMap: "(1xx)"}})
	co, err := r.board.Line(simboard.FXOPort)
	if err != nil {
		t.Fatal(err)
	}
	return r, co
}

func (r *rig) lineState(co *simboard.CentralOffice, want string) {
	r.t.Helper()
	r.eventually("central office line "+want, func() error {
		if s := co.State().Line.State; s != want {
			return fmt.Errorf("line %s", s)
		}
		return nil
	})
}

// TestFXOIncoming: the office rings with caller ID in each standard; the
// call reaches phone 1 (pstn-to 101) with the number, the line is answered
// when the phone answers, and each hangup signal of the office ends the
// call and frees the line.
func TestFXOIncoming(t *testing.T) {
	for _, tc := range []struct{ standard, signal string }{
		{"bell202", "reversal"},
		{"v23", "cpc"},
		{"dtmf", "busy"},
	} {
		t.Run(tc.standard+"/"+tc.signal, func(t *testing.T) {
			r, co := trunkRig(t, gateway.FXOConfig{PSTNTo: "101"})
			if err := co.PSTN("ring", &simapi.CallerID{Number: "5550100", Name: "PSTN TEST", Standard: tc.standard}); err != nil {
				t.Fatal(err)
			}
			r.waitState(1, "ringing")
			r.eventually("phone 1 shows the PSTN caller", func() error {
				c := r.phone(1).State().CallerID
				if c == nil || c.Number != "5550100" {
					return fmt.Errorf("caller id %+v", c)
				}
				return nil
			})
			if err := r.phone(1).SetHook("off"); err != nil {
				t.Fatal(err)
			}
			r.lineState(co, "connected")
			r.waitState(1, "talking")
			if err := co.Say([]float64{1000}, -12); err != nil {
				t.Fatal(err)
			}
			r.waitHears(1, 1000)
			// One way at a time: two steady tones from the first instant
			// leave the line's echo canceller nothing to adapt on, and the
			// supervision below is proven against a cancelled echo.
			if err := co.Say(nil, 0); err != nil {
				t.Fatal(err)
			}
			if err := r.phone(1).Say([]float64{700}, -12); err != nil {
				t.Fatal(err)
			}
			r.eventually("far party hears the phone", func() error {
				if h := co.State().Hearing; !hears(h.TonesHz, 700) {
					return fmt.Errorf("hearing %v", h.TonesHz)
				}
				return nil
			})
			if err := co.PSTNSignal("hangup", tc.signal, nil); err != nil {
				t.Fatal(err)
			}
			r.lineState(co, "idle")
			r.eventually("phone 1 call ended", func() error {
				if s := r.state(1); s == "talking" {
					return fmt.Errorf("state %s", s)
				}
				return nil
			})
		})
	}
}

// TestFXOOutgoing: phone 1 calls the FXO port's extension (no number:
// two-stage on the SIP side): the line is seized and the phone hears the
// office's dial tone, keys a number the office receives; the office's far
// party answers and hangs up with silence: the silence timeout frees the
// line.
func TestFXOOutgoing(t *testing.T) {
	r, co := trunkRig(t, gateway.FXOConfig{SilenceTimeout: 3e9})
	if err := r.phone(1).SetHook("off"); err != nil {
		t.Fatal(err)
	}
	r.waitHears(1, 350)
	if err := r.phone(1).Dial("103", "dtmf"); err != nil {
		t.Fatal(err)
	}
	r.lineState(co, "offhook")
	r.waitHears(1, 440)
	if err := r.phone(1).Dial("5551212", "dtmf"); err != nil {
		t.Fatal(err)
	}
	r.eventually("office receives the digits", func() error {
		if d := co.State().Line.Digits; d != "5551212" {
			return fmt.Errorf("digits %q", d)
		}
		return nil
	})
	if err := co.PSTN("answer", nil); err != nil {
		t.Fatal(err)
	}
	r.lineState(co, "connected")
	if err := r.phone(1).Say([]float64{700}, -12); err != nil {
		t.Fatal(err)
	}
	r.eventually("far party hears the phone", func() error {
		if h := co.State().Hearing; !hears(h.TonesHz, 700) {
			return fmt.Errorf("hearing %v", h.TonesHz)
		}
		return nil
	})
	if err := r.phone(1).Say(nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := co.PSTNSignal("hangup", "none", nil); err != nil {
		t.Fatal(err)
	}
	r.lineState(co, "idle")
}

// TestFXOTwoStage: without pstn-to the port answers a PSTN call, gives a
// second dial tone and calls the extension the caller keys.
func TestFXOTwoStage(t *testing.T) {
	r, co := trunkRig(t, gateway.FXOConfig{})
	if err := co.PSTN("ring", &simapi.CallerID{Number: "5550100"}); err != nil {
		t.Fatal(err)
	}
	r.lineState(co, "connected")
	r.eventually("caller hears the second dial tone", func() error {
		if h := co.State().Hearing; !hears(h.TonesHz, 350) {
			return fmt.Errorf("hearing %v", h.TonesHz)
		}
		return nil
	})
	if err := co.Dial("101"); err != nil {
		t.Fatal(err)
	}
	r.waitState(1, "ringing")
	if err := r.phone(1).SetHook("off"); err != nil {
		t.Fatal(err)
	}
	r.waitState(1, "talking")
	if err := r.phone(1).SetHook("on"); err != nil {
		t.Fatal(err)
	}
	r.lineState(co, "idle")
}

// TestFXOInfoDTMF: with <dtmf>info</dtmf> on phone 1 and on the FXO
// port, the number phone 1 keys after the office's dial tone travels as
// SIP INFO and the FXO port plays it on the line (the office receives
// it), and a digit the office's far party keys goes back as INFO and
// phone 1 hears it.
func TestFXOInfoDTMF(t *testing.T) {
	r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "3", User: "103"}},
		[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(1xx)", Extension: "101", DTMF: gateway.DTMFInfo},
			{N: simboard.FXOPort, Account: "3", Extension: "103", DigitMap: "(1xx)", DTMF: gateway.DTMFInfo,
				FXO: gateway.FXOConfig{SilenceTimeout: 30e9}}})
	co, err := r.board.Line(simboard.FXOPort)
	if err != nil {
		t.Fatal(err)
	}
	p1 := r.phone(1)
	must(t, p1.SetHook("off"))
	r.waitHears(1, 350)
	must(t, p1.Dial("103", "dtmf"))
	r.lineState(co, "offhook")
	r.waitHears(1, 440)
	must(t, p1.Dial("4567", "dtmf"))
	r.eventually("office receives the digits sent as INFO", func() error {
		if d := co.State().Line.Digits; d != "4567" {
			return fmt.Errorf("digits %q", d)
		}
		return nil
	})
	must(t, co.PSTN("answer", nil))
	r.lineState(co, "connected")
	must(t, co.Dial("9"))
	r.eventually("phone 1 hears the far party's 9", func() error {
		if h := p1.State().DTMFHeard; !strings.Contains(h, "9") {
			return fmt.Errorf("heard %q", h)
		}
		return nil
	})
}

// TestFXOBusyUnderDoubleTalk: both parties talk from the first instant
// of the call (two steady tones: the line's echo canceller has nothing
// clean to adapt on), then the office hangs up with its busy tone: the
// busy tone is heard over the phone's uncancelled echo and the line is
// freed.
func TestFXOBusyUnderDoubleTalk(t *testing.T) {
	r, co := trunkRig(t, gateway.FXOConfig{PSTNTo: "101"})
	if err := co.PSTN("ring", nil); err != nil {
		t.Fatal(err)
	}
	r.waitState(1, "ringing")
	if err := r.phone(1).Say([]float64{700}, -6); err != nil {
		t.Fatal(err)
	}
	if err := co.Say([]float64{1000}, -12); err != nil {
		t.Fatal(err)
	}
	if err := r.phone(1).SetHook("off"); err != nil {
		t.Fatal(err)
	}
	r.lineState(co, "connected")
	r.waitState(1, "talking")
	r.waitHears(1, 1000)
	r.eventually("far party hears the phone", func() error {
		if h := co.State().Hearing; !hears(h.TonesHz, 700) {
			return fmt.Errorf("hearing %v", h.TonesHz)
		}
		return nil
	})
	if err := co.PSTNSignal("hangup", "busy", nil); err != nil {
		t.Fatal(err)
	}
	r.lineState(co, "idle")
	r.eventually("phone 1 call ended", func() error {
		if s := r.state(1); s == "talking" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
}
