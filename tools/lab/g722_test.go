package lab

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInteropG722: with <codecs>g722,pcmu</codecs> the gateway's calls to
// and from baresip (its g722 module loaded, G.722 preferred) use G.722 —
// "g722" in /api/status, baresip's G.722 encoder and decoder set up — and
// audio flows both ways; so does a call between the gateway's own two
// ports. Run alone with:
//
//	go test ./tools/lab -run TestInteropG722 -v
func TestInteropG722(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	k := StartKamailio(t, KamailioOpts{})
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, SourceWAV: wav,
		AudioCodecs: "g722/16000/1,pcmu", Modules: []string{"g722.so"}})
	cfg := strings.ReplaceAll(ContractConfig(k.Addr), "</password></account>", "</password><codecs>g722,pcmu</codecs></account>")
	g := StartGateway(t, GatewayOpts{Config: cfg})
	for _, id := range []string{"1", "2"} {
		Eventually(t, 10*time.Second, "account "+id+" registered", func() error {
			if a := g.Account(t, id); a.State != "registered" {
				return fmt.Errorf("state %q (%s)", a.State, a.LastError)
			}
			return nil
		})
	}
	// codecIs waits until port's call has received G.722 packets.
	codecIs := func(t *testing.T, port int) {
		t.Helper()
		Eventually(t, 3*time.Second, fmt.Sprintf("port %d call in g722 with packets both ways", port), func() error {
			c := g.Status(t).Ports[port-1].Call
			if c == nil || c.Codec != "g722" || c.PacketsReceived < 10 || c.PacketsSent < 10 {
				return fmt.Errorf("call stats %+v", c)
			}
			return nil
		})
	}
	// baresipSaw checks baresip's log: it negotiated G.722 both ways.
	baresipSaw := func(t *testing.T) {
		t.Helper()
		l := b.Log()
		if !strings.Contains(l, "Set audio encoder: G722") || !strings.Contains(l, "Set audio decoder: G722") {
			t.Errorf("baresip did not set G.722 up both ways:\n%s", tail(l, 40))
		}
	}

	t.Run("phone-calls-baresip", func(t *testing.T) {
		recBefore := len(b.Recordings())
		before := b.EventCount("CALL_CLOSED")
		placeCall(t, g, 1, b, "1003", 1000) // the phone says 600 Hz, hears 1000 Hz
		codecIs(t, 1)
		baresipSaw(t)
		g.WaitCallMedia(t, 1, 100, 5*time.Second) // 2 s of the phone's 600 Hz for baresip's recording
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip sees the BYE")
		b.WaitRecording(t, recBefore, 600, 5*time.Second)
	})

	t.Run("baresip-calls-phone", func(t *testing.T) {
		g.WaitIdle(t, 1) // the line back to idle
		before := b.EventCount("CALL_CLOSED")
		recBefore := len(b.Recordings())
		if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, "phone 1 rings", func() error {
			if p := g.Phone(t, 1); !p.Ringing {
				return fmt.Errorf("not ringing")
			}
			return nil
		})
		g.Say(t, 1, []float64{700}, -12)
		g.Hook(t, 1, "off")
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears baresip's 1000 Hz", 1000)
		codecIs(t, 1)
		baresipSaw(t)
		g.WaitCallMedia(t, 1, 100, 5*time.Second) // 2 s of the phone's 700 Hz for baresip's recording
		if err := b.Command("hangup", ""); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip call closed")
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		b.WaitRecording(t, recBefore, 700, 5*time.Second)
	})

	t.Run("phone-calls-phone", func(t *testing.T) {
		g.WaitIdle(t, 1, 2)
		g.Hook(t, 1, "off")
		g.Dial(t, 1, "1002#")
		Eventually(t, 10*time.Second, "phone 2 rings", func() error {
			if p := g.Phone(t, 2); !p.Ringing {
				return fmt.Errorf("not ringing")
			}
			return nil
		})
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
		codecIs(t, 1)
		codecIs(t, 2)
		g.Hook(t, 1, "on")
		g.Hook(t, 2, "on")
		g.Say(t, 1, nil, 0)
		g.Say(t, 2, nil, 0)
	})
}
