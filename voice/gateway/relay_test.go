package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestRelayToPBX: a port that leaves features to the PBX, relays flash as
// SIP INFO hook-flash and sends DTMF as SIP INFO: the far end gets the
// flash (and the call stays as it was: no hold, no second dial tone) and
// the phone's digit as INFO, and the phone hears the digit the far end
// sends in an INFO.
func TestRelayToPBX(t *testing.T) {
	r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}},
		[]gateway.PortConfig{{N: 1, Account: "1", PBXFeatures: true,
			FlashRelay: gateway.FlashRelayHookFlash, DTMF: gateway.DTMFInfo}})
	p1 := r.phone(1)
	c := newFarEnd(t)
	var mu sync.Mutex
	var got []byte
	c.dial(t, r.gw.UA(), "101", 1300)
	c.call.OnDTMF(func(k byte, _ time.Duration) {
		mu.Lock()
		got = append(got, k)
		mu.Unlock()
	})
	r.eventually("phone 1 rings", func() error {
		if !p1.State().Ringing {
			return fmt.Errorf("state %s", r.state(1))
		}
		return nil
	})
	must(t, p1.SetHook("off"))
	r.waitState(1, "talking")
	r.waitHears(1, 1300)
	if f := r.gw.Status().Ports[0].Features; f != nil {
		t.Errorf("port with PBX features shows local features %+v", f)
	}
	received := func(want string) {
		t.Helper()
		r.eventually("far end gets INFO "+want, func() error {
			mu.Lock()
			defer mu.Unlock()
			if string(got) != want {
				return fmt.Errorf("got %q", got)
			}
			return nil
		})
	}

	must(t, p1.SetHook("flash"))
	received(string(sip.FlashKey))
	r.waitState(1, "talking")
	r.waitHears(1, 1300)

	must(t, p1.Dial("5", "dtmf"))
	received(string(sip.FlashKey) + "5")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.call.SendDTMF(ctx, '8', 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.eventually("phone 1 hears 8", func() error {
		if h := p1.State().DTMFHeard; !strings.Contains(h, "8") {
			return fmt.Errorf("heard %q", h)
		}
		return nil
	})
}
