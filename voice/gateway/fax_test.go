package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestFaxOnWidebandCall: on a G.722 call between two ports, the fax
// machine on port 1 sends its calling tone (CNG, 1100 Hz); the call
// switches to pass-through, port 1 re-INVITEs it to G.711 and both
// streams restart with PCMU, still in pass-through, and the tone still
// reaches phone 2.
func TestFaxOnWidebandCall(t *testing.T) {
	wide := []string{"g722", "pcmu"}
	r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}},
		[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(1xx)", Codecs: wide}, {N: 2, Account: "2", DigitMap: "(1xx)", Codecs: wide}})
	p1, p2 := r.phone(1), r.phone(2)
	must(t, p1.SetHook("off"))
	r.waitHears(1, 350)
	must(t, p1.Dial("102", "dtmf"))
	r.eventually("phone 2 rings", func() error {
		if !p2.State().Ringing {
			return fmt.Errorf("not ringing; port 1 %s", r.state(1))
		}
		return nil
	})
	must(t, p2.SetHook("off"))
	r.waitState(1, "talking")
	r.waitState(2, "talking")
	for _, n := range []int{1, 2} {
		if c := r.gw.Status().Ports[n-1].Call; c == nil || !strings.EqualFold(c.Codec, "g722") {
			t.Fatalf("port %d call %+v, want G.722", n, c)
		}
	}
	must(t, p1.Say([]float64{1100}, -12))
	r.eventually("both calls in pass-through on G.711", func() error {
		for _, n := range []int{1, 2} {
			c := r.gw.Status().Ports[n-1].Call
			if c == nil || c.Echo == nil {
				return fmt.Errorf("port %d call %+v", n, c)
			}
			if !strings.EqualFold(c.Codec, "pcmu") || c.Echo.Passthrough != media.PassthroughCNG || c.Echo.Active {
				return fmt.Errorf("port %d codec %s, echo %+v", n, c.Codec, *c.Echo)
			}
		}
		return nil
	})
	if c := r.gw.Status().Ports[0].Call; c.Echo.PassthroughFrom != "line" {
		t.Errorf("port 1 pass-through from %q, want line", c.Echo.PassthroughFrom)
	}
	r.waitHears(2, 1100)
	must(t, p1.SetHook("on"))
	r.waitState(1, "idle")
}
