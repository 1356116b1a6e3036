package lab

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInteropFirstCall is the first-call proof: the gateway registers to a
// real Kamailio and calls a real baresip both ways, and its two phones call
// each other through Kamailio. Run alone with:
//
//	go test ./tools/lab -run TestInteropFirstCall -v
func TestInteropFirstCall(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	k := StartKamailio(t, KamailioOpts{})
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, SourceWAV: wav})
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr)})

	t.Run("a/register", func(t *testing.T) {
		for _, user := range []string{"1001", "1002"} {
			Eventually(t, 10*time.Second, user+" in kamailio's location table", func() error {
				ok, err := k.Registered(user)
				if err != nil || !ok {
					return fmt.Errorf("registered=%v err=%v", ok, err)
				}
				return nil
			})
		}
		for _, id := range []string{"1", "2"} {
			Eventually(t, 5*time.Second, "account "+id+" registered in /api/status", func() error {
				if a := g.Account(t, id); a.State != "registered" {
					return fmt.Errorf("state %q (%s)", a.State, a.LastError)
				}
				return nil
			})
		}
	})

	t.Run("b/phone-calls-baresip", func(t *testing.T) {
		before := b.EventCount("CALL_CLOSED")
		recBefore := len(b.Recordings())
		g.OffHookAndDial(t, 1, "1003#")
		g.Say(t, 1, []float64{600}, -12)
		b.WaitEvent(t, "CALL_ESTABLISHED", 0, 10*time.Second, "baresip answers")
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears baresip's 1000 Hz", 1000)
		g.WaitCallMedia(t, 1, 100, 5*time.Second) // 2 s of the phone's 600 Hz for baresip's recording
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip sees the BYE")
		b.WaitRecording(t, recBefore, 600, 5*time.Second)
	})

	t.Run("c/baresip-calls-phone", func(t *testing.T) {
		before := b.EventCount("CALL_CLOSED")
		if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, "phone 1 rings", func() error {
			if p := g.Phone(t, 1); !p.Ringing || p.Rings < 1 {
				return fmt.Errorf("ringing=%v rings=%d", p.Ringing, p.Rings)
			}
			return nil
		})
		Eventually(t, 9*time.Second, "US ring cadence 2 s on / 4 s off", func() error {
			p := g.Phone(t, 1)
			if p.Rings < 2 {
				return fmt.Errorf("rings=%d", p.Rings)
			}
			if abs(p.LastRingMS-2000) > 60 || abs(p.LastPauseMS-4000) > 60 {
				return fmt.Errorf("cadence %d/%d ms", p.LastRingMS, p.LastPauseMS)
			}
			return nil
		})
		g.Say(t, 1, []float64{700}, -12)
		recBefore := len(b.Recordings())
		g.Hook(t, 1, "off")
		Eventually(t, 5*time.Second, "phone 1 hears baresip", func() error {
			p := g.Phone(t, 1)
			if p.Ringing {
				return fmt.Errorf("still ringing")
			}
			if !Hears(p.Hearing.TonesHz, 1000) {
				return fmt.Errorf("hearing %v", p.Hearing.TonesHz)
			}
			return nil
		})
		g.WaitCallMedia(t, 1, 100, 5*time.Second) // 2 s of the phone's 700 Hz for baresip's recording
		if err := b.Command("hangup", ""); err != nil {
			t.Fatal(err)
		}
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears the call end (reorder 480+620 Hz)", 480, 620)
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip call closed")
		b.WaitRecording(t, recBefore, 700, 5*time.Second)
	})

	t.Run("d/phone-calls-phone-through-kamailio", func(t *testing.T) {
		g.WaitIdle(t, 1, 2) // both lines back to idle after the hang-ups above
		g.Hook(t, 1, "off")
		g.Dial(t, 1, "1002#")
		Eventually(t, 10*time.Second, "phone 2 rings", func() error {
			if p := g.Phone(t, 2); !p.Ringing {
				return fmt.Errorf("not ringing")
			}
			return nil
		})
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears ringback 440+480", 440, 480)
		g.Hook(t, 2, "off")
		g.Say(t, 1, []float64{500}, -12)
		g.Say(t, 2, []float64{900}, -12)
		Eventually(t, 5*time.Second, "audio both ways", func() error {
			h1, h2 := g.Phone(t, 1).Hearing, g.Phone(t, 2).Hearing
			if !Hears(h1.TonesHz, 900) || !Hears(h2.TonesHz, 500) {
				return fmt.Errorf("phone 1 hears %v, phone 2 hears %v", h1.TonesHz, h2.TonesHz)
			}
			return nil
		})
		st := g.Status(t)
		if st.Ports[0].State != "talking" || st.Ports[1].State != "talking" {
			t.Errorf("ports not talking: %+v", st.Ports)
		}
		g.Hook(t, 1, "on")
		g.WaitHears(t, 2, 5*time.Second, "phone 2 hears the call end", 480, 620)
		g.Hook(t, 2, "on")
		g.Say(t, 1, nil, 0)
		g.Say(t, 2, nil, 0)
	})
}

// TestInteropWrongPassword: a wrong password gives a clear registration
// error in /api/status and the log, and no retry storm.
func TestInteropWrongPassword(t *testing.T) {
	Need(t, "kamailio", "kamcmd")
	k := StartKamailio(t, KamailioOpts{})
	cfg := strings.Replace(ContractConfig(k.Addr), "secret1", "wrong", 1)
	g := StartGateway(t, GatewayOpts{Config: cfg})
	var a1 = g.Account(t, "1")
	Eventually(t, 10*time.Second, "account 1 failed", func() error {
		a1 = g.Account(t, "1")
		if a1.State != "failed" {
			return fmt.Errorf("state %q", a1.State)
		}
		return nil
	})
	if !strings.Contains(strings.ToLower(a1.LastError), "password") {
		t.Errorf("last_error %q does not name the password problem", a1.LastError)
	}
	Eventually(t, 10*time.Second, "account 2 still registers", func() error {
		if a := g.Account(t, "2"); a.State != "registered" {
			return fmt.Errorf("state %q", a.State)
		}
		return nil
	})
	if !strings.Contains(strings.ToLower(g.Log()), "password") {
		t.Errorf("gateway log does not mention the password problem:\n%s", tail(g.Log(), 30))
	}
	// No retry storm: over the next 15 s at most one more attempt.
	n0 := k.Count("REGISTER from 1001")
	time.Sleep(15 * time.Second) // an observation window: nothing is awaited, attempts are counted over it
	if n := k.Count("REGISTER from 1001") - n0; n > 2 {
		t.Errorf("%d REGISTER requests for 1001 in 15 s after the failure: a retry storm", n)
	}
	if ok, _ := k.Registered("1001"); ok {
		t.Error("1001 registered with a wrong password")
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
