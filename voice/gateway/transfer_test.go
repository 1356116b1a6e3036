package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/voice/sip"
)

// Tones of the flash tests: the phone on port 1 says 700 Hz, party B
// (outside, calling port 1) plays 1300 Hz, and C — the phone on port 2,
// extension 102 — says 1000 Hz.
const (
	toneA = 700
	toneB = 1300
	toneC = 1000
)

// flashRig is a rig with phone 1 talking to party B, who called port 1.
type flashRig struct {
	*rig
	b *party
}

func newFlashRig(t *testing.T) *flashRig {
	t.Helper()
	r := &flashRig{rig: newRig(t), b: newParty(t, "b", "201", toneB)}
	r.realtime.Store(true)
	r.eventually("the gateway listens", func() error {
		if !r.gw.UA().Addr().IsValid() {
			return fmt.Errorf("no address yet")
		}
		return nil
	})
	r.b.dial("sip:101@" + r.gw.UA().Addr().String())
	r.eventually("phone 1 rings", func() error {
		if !r.phone(1).State().Ringing {
			return fmt.Errorf("state %s", r.state(1))
		}
		return nil
	})
	must(t, r.phone(1).SetHook("off"))
	r.waitState(1, "talking")
	must(t, r.phone(1).Say([]float64{toneA}, -12))
	must(t, r.phone(2).Say([]float64{toneC}, -12))
	r.waitHears(1, toneB)
	r.waitPartyHears(r.b, []float64{toneA})
	return r
}

// consult flashes phone 1 and dials C on the second dial tone.
func (r *flashRig) consult(answer bool) {
	r.t.Helper()
	p1 := r.phone(1)
	must(r.t, p1.SetHook("flash"))
	r.waitState(1, "dialtone")
	must(r.t, p1.Dial("102", "dtmf"))
	r.eventually("phone 2 rings", func() error {
		if !r.phone(2).State().Ringing {
			return fmt.Errorf("state %s", r.state(2))
		}
		return nil
	})
	if answer {
		must(r.t, r.phone(2).SetHook("off"))
		r.waitState(2, "talking")
		r.waitState(1, "talking")
	}
}

// TestFlashHoldAndBack: flash holds B (B hears nothing of the phone) and
// gives a second dial tone; flash again returns to B, audio both ways.
func TestFlashHoldAndBack(t *testing.T) {
	r := newFlashRig(t)
	p1 := r.phone(1)
	must(t, p1.SetHook("flash"))
	r.waitState(1, "dialtone")
	r.waitHears(1, 350)
	r.waitPartyHears(r.b, nil, toneA)
	r.waitHearsOnly(1, 350, toneB)
	must(t, p1.SetHook("flash"))
	r.waitState(1, "talking")
	r.waitHears(1, toneB)
	r.waitPartyHears(r.b, []float64{toneA})
	must(t, p1.SetHook("on"))
	r.waitState(1, "idle")
	r.waitPartyEvent(r.b, "bye", func(e partyEvent) bool { return e.ev.Kind == sip.EventEnded })
}

// TestFlashConsultationGivenUp: a consultation call dropped by flash
// while it rings returns the phone to B, audio both ways. The phone's
// 700 Hz over the echo of B's tone once looked like a DTMF 2 to the
// stream restarted by the resume (its canceller starting afresh) and
// muted the phone for good.
func TestFlashConsultationGivenUp(t *testing.T) {
	r := newFlashRig(t)
	p1 := r.phone(1)
	r.consult(false)
	r.waitPartyHears(r.b, nil, toneA)
	must(t, p1.SetHook("flash"))
	r.waitState(1, "talking")
	r.waitState(2, "idle")
	r.waitHears(1, toneB)
	r.waitPartyHears(r.b, []float64{toneA})
}

// TestFlashConsultation: during the consultation the phone and C talk and
// B, held, hears neither; flash with C answered joins the three (each
// hears the other two) and flash again drops C.
func TestFlashThreeWay(t *testing.T) {
	r := newFlashRig(t)
	r.consult(true)
	r.waitHearsOnly(1, toneC, toneB)
	r.waitHearsOnly(2, toneA, toneB)
	r.waitPartyHears(r.b, nil, toneA, toneC)

	must(t, r.phone(1).SetHook("flash"))
	r.waitHears(1, toneB)
	r.waitHears(1, toneC)
	r.waitHears(2, toneA)
	r.waitHears(2, toneB)
	r.waitPartyHears(r.b, []float64{toneA, toneC})

	must(t, r.phone(1).SetHook("flash"))
	r.waitState(2, "reorder")
	r.waitHearsOnly(1, toneB, toneC)
	r.waitPartyHears(r.b, []float64{toneA}, toneC)
	must(t, r.phone(2).SetHook("on"))
	must(t, r.phone(1).SetHook("on"))
	r.waitState(1, "idle")
}

// TestFlashBlindTransfer: flash, dial C, hang up while C rings: B is
// REFERred to C, C's phone rings for B and B and C talk; port 1 is idle.
func TestFlashBlindTransfer(t *testing.T) {
	r := newFlashRig(t)
	r.consult(false)
	must(t, r.phone(1).SetHook("on"))
	r.waitPartyEvent(r.b, "refer", func(e partyEvent) bool { return e.ev.Kind == sip.EventReferred })
	// The phone keeps reporting the consultation's ringing for a
	// moment after it stops: the port says whose call rings now.
	r.eventually("phone 2 rings for B", func() error {
		st := r.gw.Status().Ports[1]
		if !r.phone(2).State().Ringing || st.State != "ringing" || !strings.Contains(st.Peer, "201") {
			return fmt.Errorf("state %s, peer %q", st.State, st.Peer)
		}
		return nil
	})
	must(t, r.phone(2).SetHook("off"))
	r.waitState(2, "talking")
	r.waitHears(2, toneB)
	r.waitPartyHears(r.b, []float64{toneC})
	r.waitState(1, "idle")
	r.eventually("port 1 has no call", func() error {
		if st := r.gw.Status().Ports[0]; st.Peer != "" {
			return fmt.Errorf("peer %q", st.Peer)
		}
		return nil
	})
}

// TestFlashAttendedTransfer: talk to C, hang up: B is REFERred to C with
// Replaces, B's INVITE takes the place of port 1's call on port 2, and B
// and C talk; port 1 is idle.
func TestFlashAttendedTransfer(t *testing.T) {
	r := newFlashRig(t)
	r.consult(true)
	r.waitHearsOnly(2, toneA, toneB)
	must(t, r.phone(1).SetHook("on"))
	r.waitPartyEvent(r.b, "refer", func(e partyEvent) bool { return e.ev.Kind == sip.EventReferred })
	r.waitHears(2, toneB)
	r.waitPartyHears(r.b, []float64{toneC}, toneA)
	r.waitState(2, "talking")
	r.waitState(1, "idle")
	r.eventually("port 1 has no call", func() error {
		if st := r.gw.Status().Ports[0]; st.Peer != "" {
			return fmt.Errorf("peer %q", st.Peer)
		}
		return nil
	})
	must(t, r.phone(2).SetHook("on"))
	r.waitState(2, "idle")
}

// TestFlashTransferFails: B does not follow the REFER; the phone rings
// back and talks with B again.
func TestFlashTransferFails(t *testing.T) {
	r := newFlashRig(t)
	r.b.failRefer = true
	r.consult(false)
	must(t, r.phone(1).SetHook("on"))
	r.eventually("phone 1 rings back", func() error {
		if !r.phone(1).State().Ringing {
			return fmt.Errorf("state %s", r.state(1))
		}
		return nil
	})
	r.waitState(2, "idle")
	must(t, r.phone(1).SetHook("off"))
	r.waitState(1, "talking")
	r.waitHears(1, toneB)
	r.waitPartyHears(r.b, []float64{toneA})
}

// TestFlashReferred: B transfers us to C (REFER): port 1 calls C with
// B's Referred-By, reports the outcome to B by NOTIFY and the phone
// talks with C.
func TestFlashReferred(t *testing.T) {
	r := newFlashRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, r.b.current().Refer(ctx, "<sip:102@"+r.gw.UA().Addr().String()+">"))
	r.eventually("phone 2 rings", func() error {
		if !r.phone(2).State().Ringing {
			return fmt.Errorf("state %s", r.state(2))
		}
		return nil
	})
	r.eventually("phone 2 shows port 1's caller id", func() error {
		if id := r.phone(2).State().CallerID; id == nil || id.Number != "101" {
			return fmt.Errorf("caller id %+v", id)
		}
		return nil
	})
	must(t, r.phone(2).SetHook("off"))
	r.waitPartyEvent(r.b, "notify 200", func(e partyEvent) bool { return e.ev.Kind == sip.EventTransfer && e.ev.Code == 200 })
	r.waitPartyEvent(r.b, "bye", func(e partyEvent) bool { return e.ev.Kind == sip.EventEnded })
	r.waitHearsOnly(1, toneC, toneB)
	r.waitHears(2, toneA)
	must(t, r.phone(1).SetHook("on"))
	r.waitState(1, "idle")
}

// TestFlashReplaced: B, talking with port 1, hands the call over to D
// (its own call with D, then a REFER with Replaces naming port 1's
// dialog): D's INVITE with Replaces takes B's place on port 1.
func TestFlashReplaced(t *testing.T) {
	r := newFlashRig(t)
	d := newParty(t, "d", "301", 1700)
	gwCall := r.b.current()
	bd := r.b.dial("sip:301@" + d.ua.Addr().String())
	r.waitPartyEvent(r.b, "d answers", func(e partyEvent) bool { return e.call == bd && e.ev.Kind == sip.EventAnswered })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, bd.Refer(ctx, gwCall.TransferTarget(true)))
	r.waitPartyEvent(r.b, "bye from port 1", func(e partyEvent) bool { return e.call == gwCall && e.ev.Kind == sip.EventEnded })
	r.waitHearsOnly(1, 1700, toneB)
	r.waitPartyHears(d, []float64{toneA})
	r.waitState(1, "talking")
	must(t, r.phone(1).SetHook("on"))
	r.waitState(1, "idle")
}
