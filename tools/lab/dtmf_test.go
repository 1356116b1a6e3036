package lab

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// TestInteropDTMF checks RFC 4733 telephone-events both ways against
// baresip: a digit the phone keys during a call reaches baresip as an
// event (CALL_DTMF_START) and not in band (baresip's recording holds no
// DTMF), and a digit baresip sends (sndcode) is played to the phone as
// tones its keypad decoder hears. Run alone with:
//
//	go test ./tools/lab -run TestInteropDTMF -v
func TestInteropDTMF(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	k := StartKamailio(t, KamailioOpts{})
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, SourceWAV: wav})
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr)})
	Eventually(t, 10*time.Second, "account 1 registered", func() error {
		if a := g.Account(t, "1"); a.State != "registered" {
			return fmt.Errorf("state %q (%s)", a.State, a.LastError)
		}
		return nil
	})
	recBefore := len(b.Recordings())
	placeCall(t, g, 1, b, "1003", 1000)

	t.Run("phone-to-baresip", func(t *testing.T) {
		// Past the call's first 100 ms (media.dtmfSettleFrames), where
		// digits are muted but not sent.
		g.WaitCallMedia(t, 1, 10, 3*time.Second)
		g.Dial(t, 1, "5")
		Eventually(t, 5*time.Second, "baresip gets DTMF 5 as an event", func() error {
			if !b.hasEventParam("CALL_DTMF_START", "5") {
				return fmt.Errorf("events %v", b.Events())
			}
			return nil
		})
		Eventually(t, 2*time.Second, "dtmf_sent 1 in the call stats", func() error {
			if c := g.Status(t).Ports[0].Call; c == nil || c.DTMFSent != 1 {
				return fmt.Errorf("call stats: %+v", c)
			}
			return nil
		})
	})

	t.Run("baresip-to-phone", func(t *testing.T) {
		if err := b.Command("sndcode", "7"); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 5*time.Second, "phone 1 hears DTMF 7", func() error {
			if p := g.Phone(t, 1); !strings.Contains(p.DTMFHeard, "7") {
				return fmt.Errorf("dtmf heard %q", p.DTMFHeard)
			}
			return nil
		})
		Eventually(t, 2*time.Second, "dtmf_received 1 in the call stats", func() error {
			if c := g.Status(t).Ports[0].Call; c == nil || c.DTMFReceived != 1 {
				return fmt.Errorf("call stats: %+v", c)
			}
			return nil
		})
	})

	g.Hook(t, 1, "on")
	g.Say(t, 1, nil, 0)
	t.Run("no-dtmf-in-band", func(t *testing.T) {
		var s []int16
		Eventually(t, 5*time.Second, "baresip's recording of the call", func() error {
			if len(b.Recordings()) <= recBefore {
				return fmt.Errorf("no new recording in %s", b.Dir)
			}
			var err error
			s, _, err = ReadWAV(newest(b.Recordings()))
			if err == nil && len(s) < 8000 {
				err = fmt.Errorf("only %d samples yet", len(s))
			}
			return err
		})
		if got := dsp.NewDTMFDetector().Process(s, nil); len(got) != 0 {
			t.Errorf("baresip heard in-band DTMF %q", got)
		}
		if tones := dsp.DominantTones(s, 4); !Hears(tones, 600) {
			t.Errorf("recording %s does not hold the phone's 600 Hz (%v): the check above proves nothing", newest(b.Recordings()), tones)
		}
	})
}

// placeCall makes phone port call ext (a baresip that auto-answers) and
// waits until the phone hears hearHz.
func placeCall(t *testing.T, g *Gateway, port int, b *Baresip, ext string, hearHz float64) {
	t.Helper()
	placeSRTPCall(t, g, port, b, ext, hearHz, 600)
}

// hasEventParam reports whether baresip sent an event of type typ whose
// param is param.
func (b *Baresip) hasEventParam(typ, param string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.events {
		if e["type"] == typ && fmt.Sprint(e["param"]) == param {
			return true
		}
	}
	return false
}
