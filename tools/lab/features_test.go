package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// closedWith reports whether baresip closed a call with a reason holding
// code ("486", "433", "302").
func (b *Baresip) closedWith(code string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.events {
		if e["type"] == "CALL_CLOSED" && strings.Contains(fmt.Sprint(e["param"]), code) {
			return true
		}
	}
	return false
}

// closeReasons are the params of baresip's CALL_CLOSED events.
func (b *Baresip) closeReasons() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		if e["type"] == "CALL_CLOSED" {
			out = append(out, fmt.Sprint(e["param"]))
		}
	}
	return out
}

// TestInteropFeatures proves the star codes against Kamailio and
// baresip: *78 makes a call from baresip busy (486) without ringing the
// phone and *79 restores ringing; *77 rejects an anonymous caller with
// 433; *72+number answers calls with 302 to that number, which baresip
// follows to a second baresip that answers, also after a restart of the
// gateway on the same data directory; *73 ends it; *90+number forwards
// calls while the phone is in a call and *92+number those it leaves
// ringing (for the 2 s no-answer delay kept in the data directory),
// both followed by baresip; *91 and *93 end them. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run TestInteropFeatures ./tools/lab/
func TestInteropFeatures(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	k := StartKamailio(t, KamailioOpts{})
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, SourceWAV: wav})
	// 1004 calls anonymously in c/ and is the forwarding target in d/.
	anon := StartBaresip(t, BaresipOpts{User: "1004", Password: "secret4", Registrar: k.Addr, SourceWAV: wav, DisplayName: "Anonymous"})
	// The no-answer delay is runtime state like the star codes' (set in
	// the web UI): seeded short here.
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "features.json"), []byte(`{"ports":{"1":{"no_answer_s":2}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr), Data: data})
	registered := func(g *Gateway) {
		t.Helper()
		Eventually(t, 10*time.Second, "account 1 registered", func() error {
			if a := g.Account(t, "1"); a.State != "registered" {
				return fmt.Errorf("state %q (%s)", a.State, a.LastError)
			}
			return nil
		})
	}
	registered(g)

	// code dials a star code on phone 1 and waits for the confirmation.
	code := func(g *Gateway, digits string) {
		t.Helper()
		g.WaitIdle(t, 1)
		g.OffHookAndDial(t, 1, digits+"#")
		Eventually(t, 3*time.Second, "confirmation tone for "+digits, func() error {
			if st := g.Status(t).Ports[0].State; st != "confirm" && st != "dialtone" {
				return fmt.Errorf("state %s", st)
			}
			return nil
		})
		g.Hook(t, 1, "on")
		g.WaitIdle(t, 1)
	}
	// refused calls phone 1 from baresip and waits for a final answer
	// with code, checking the phone never rang.
	refused := func(g *Gateway, want string) {
		t.Helper()
		before := b.EventCount("CALL_CLOSED")
		rings := g.Phone(t, 1).Rings
		if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_CLOSED", before, 10*time.Second, "baresip's call refused")
		if !b.closedWith(want) {
			t.Errorf("baresip's call closed without %s: %v", want, b.closeReasons())
		}
		if p := g.Phone(t, 1); p.Rings > rings || p.Ringing {
			t.Errorf("phone 1 rang (%d rings, %d before)", p.Rings, rings)
		}
	}

	t.Run("a/dnd", func(t *testing.T) {
		code(g, "*78")
		if f := g.Status(t).Ports[0].Features; f == nil || !f.DND {
			t.Fatalf("features after *78: %+v", f)
		}
		refused(g, "486")
	})
	t.Run("b/dnd-off", func(t *testing.T) {
		code(g, "*79")
		before := b.EventCount("CALL_CLOSED")
		if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, "phone 1 rings", func() error {
			if p := g.Phone(t, 1); !p.Ringing {
				return fmt.Errorf("not ringing")
			}
			return nil
		})
		if err := b.Command("hangup", ""); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip hung up")
	})
	t.Run("c/anonymous-rejected", func(t *testing.T) {
		code(g, "*77")
		before := anon.EventCount("CALL_CLOSED")
		if err := anon.Command("dial", "sip:1001@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		anon.WaitEvent(t, "CALL_CLOSED", before, 10*time.Second, "anonymous call refused")
		if !anon.closedWith("433") {
			t.Errorf("anonymous call closed without 433: %v", anon.Events())
		}
		code(g, "*87")
	})
	// forwarded calls phone 1 from 1003, which follows the 302 to 1004:
	// 1004 answers and phone 1 never rings.
	var forwardedRinging func(g *Gateway, ring bool)
	forwarded := func(g *Gateway) {
		t.Helper()
		forwardedRinging(g, false)
	}
	// forwardedRinging is forwarded, the phone ringing first when rings
	// is set (no-answer forwarding).
	forwardedRinging = func(g *Gateway, ring bool) {
		t.Helper()
		closed := b.EventCount("CALL_CLOSED")
		answered := anon.EventCount("CALL_ESTABLISHED")
		rings := g.Phone(t, 1).Rings
		logged := strings.Count(g.Log(), "forwarded to sip:1004@")
		if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		if ring {
			// Seen while it happens: the phone's ring count starts
			// afresh with each ringing episode, so counts taken
			// before and after cannot tell a new ring from an old one.
			Eventually(t, 10*time.Second, "phone 1 rings before the forwarding", func() error {
				if p := g.Phone(t, 1); !p.Ringing {
					return fmt.Errorf("not ringing (%d rings)", p.Rings)
				}
				return nil
			})
		}
		anon.WaitEvent(t, "CALL_ESTABLISHED", answered, 10*time.Second, "the forwarding target 1004 answers")
		Eventually(t, 5*time.Second, "gateway logs the 302", func() error {
			if strings.Count(g.Log(), "forwarded to sip:1004@") <= logged {
				return fmt.Errorf("no 302 in the gateway's log")
			}
			return nil
		})
		if !ring {
			if p := g.Phone(t, 1); p.Rings > rings || p.Ringing {
				t.Errorf("phone 1 rang (%d rings, %d before)", p.Rings, rings)
			}
		} else {
			// The sim phone reports ringing for a while after the
			// ring voltage drops: the line state says it stopped.
			Eventually(t, 5*time.Second, "port 1 stops ringing", func() error {
				if st := g.PortStatus(t, 1).State; st != "idle" {
					return fmt.Errorf("state %s", st)
				}
				return nil
			})
		}
		if err := b.Command("hangup", ""); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_CLOSED", closed, 5*time.Second, "baresip hung up")
	}

	cur, top := g, t
	t.Run("d/forward-survives-restart", func(t *testing.T) {
		code(g, "*721004")
		if f := g.Status(t).Ports[0].Features; f == nil || f.ForwardAll != "1004" {
			t.Fatalf("features after *721004: %+v", f)
		}
		forwarded(g)
		g.Stop()
		// Started for the whole test: e/ and f/ go on with it.
		g2 := StartGateway(top, GatewayOpts{Config: ContractConfig(k.Addr), Data: g.Data})
		registered(g2)
		cur = g2
		if f := g2.Status(t).Ports[0].Features; f == nil || f.ForwardAll != "1004" {
			t.Fatalf("features after the restart: %+v", f)
		}
		forwarded(g2)
		code(g2, "*73")
		if f := g2.Status(t).Ports[0].Features; f == nil || f.ForwardAll != "" {
			t.Fatalf("features after *73: %+v", f)
		}
	})
	t.Run("e/forward-busy", func(t *testing.T) {
		g := cur
		code(g, "*901004")
		if f := g.Status(t).Ports[0].Features; f == nil || f.ForwardBusy != "1004" {
			t.Fatalf("features after *901004: %+v", f)
		}
		// Phone 1 calls phone 2, which answers: port 1 is busy.
		g.OffHookAndDial(t, 1, "1002#")
		Eventually(t, 10*time.Second, "phone 2 rings", func() error {
			if !g.Phone(t, 2).Ringing {
				return fmt.Errorf("not ringing")
			}
			return nil
		})
		g.Hook(t, 2, "off")
		Eventually(t, 5*time.Second, "port 1 in a call", func() error {
			if c := g.PortStatus(t, 1).Call; c == nil {
				return fmt.Errorf("no call")
			}
			return nil
		})
		forwarded(g)
		g.Hook(t, 1, "on")
		g.Hook(t, 2, "on")
		g.WaitIdle(t, 1, 2)
		code(g, "*91")
		if f := g.Status(t).Ports[0].Features; f == nil || f.ForwardBusy != "" {
			t.Fatalf("features after *91: %+v", f)
		}
	})
	t.Run("f/forward-no-answer", func(t *testing.T) {
		g := cur
		code(g, "*921004")
		if f := g.Status(t).Ports[0].Features; f == nil || f.ForwardNoAnswer != "1004" || f.NoAnswerSeconds != 2 {
			t.Fatalf("features after *921004: %+v", f)
		}
		forwardedRinging(g, true)
		g.WaitIdle(t, 1)
		code(g, "*93")
		if f := g.Status(t).Ports[0].Features; f == nil || f.ForwardNoAnswer != "" {
			t.Fatalf("features after *93: %+v", f)
		}
	})
}
