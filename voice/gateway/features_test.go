package gateway_test

import (
	"fmt"
	"testing"
)

// TestDoNotDisturbStarCodes: *78 on port 2 confirms and turns DND on:
// port 1 calling it gets busy and port 2 never rings; *79 restores it.
func TestDoNotDisturbStarCodes(t *testing.T) {
	r := extensionRig(t, silentRegistrar(t))
	p1, p2 := r.phone(1), r.phone(2)

	must(t, p2.SetHook("off"))
	r.waitState(2, "dialtone")
	must(t, p2.Dial("*78", "dtmf"))
	r.waitState(2, "confirm")
	r.waitState(2, "dialtone")
	must(t, p2.SetHook("on"))
	r.waitState(2, "idle")
	if f, ok := r.gw.Features(2); !ok || !f.DND {
		t.Fatalf("features after *78 = %+v, %v", f, ok)
	}
	if st := r.gw.Status(); st.Ports[1].Features == nil || !st.Ports[1].Features.DND {
		t.Errorf("status does not show DND: %+v", st.Ports[1].Features)
	}

	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("200", "dtmf"))
	r.waitState(1, "busy")
	if st := p2.State(); st.Ringing || st.Rings > 0 {
		t.Errorf("phone 2 rang under DND: %+v", st)
	}
	must(t, p1.SetHook("on"))
	r.waitState(1, "idle")

	must(t, p2.SetHook("off"))
	r.waitState(2, "dialtone")
	must(t, p2.Dial("*79", "dtmf"))
	r.waitState(2, "confirm")
	must(t, p2.SetHook("on"))
	r.waitState(2, "idle")

	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("200", "dtmf"))
	r.eventually("phone 2 rings", func() error {
		if !p2.State().Ringing {
			return fmt.Errorf("not ringing; port 1 %s", r.state(1))
		}
		return nil
	})
	must(t, p1.SetHook("on"))
}

// TestForwardAllStarCode: *72 with a target records it; *73 clears it.
func TestForwardAllStarCode(t *testing.T) {
	r := extensionRig(t, silentRegistrar(t))
	p2 := r.phone(2)
	must(t, p2.SetHook("off"))
	r.waitState(2, "dialtone")
	must(t, p2.Dial("*725551234#", "dtmf"))
	r.waitState(2, "confirm")
	if f, _ := r.gw.Features(2); f.ForwardAll != "5551234" {
		t.Fatalf("forward all = %q after *725551234#", f.ForwardAll)
	}
	r.waitState(2, "dialtone")
	must(t, p2.Dial("*73", "dtmf"))
	r.waitState(2, "confirm")
	if f, _ := r.gw.Features(2); f.ForwardAll != "" {
		t.Fatalf("forward all = %q after *73", f.ForwardAll)
	}
}
