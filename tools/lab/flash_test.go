package lab

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// flashRig is the flash tests' lab: Kamailio, two baresips B (1003,
// sending 1300 Hz) and C (1004, 1700 Hz), each recording what it hears,
// and the gateway with account 1 registered.
type flashRig struct {
	k    *Kamailio
	b, c *Baresip
	g    *Gateway
}

// startFlashRig starts the flash tests' lab; C answers only when told to
// with manualC.
func startFlashRig(t *testing.T, manualC bool) *flashRig {
	t.Helper()
	Need(t, "kamailio", "kamcmd", "baresip")
	r := &flashRig{k: StartKamailio(t, KamailioOpts{})}
	dir := t.TempDir()
	wavB, wavC := filepath.Join(dir, "b.wav"), filepath.Join(dir, "c.wav")
	if err := WriteToneWAV(wavB, 1300, -12, 120); err != nil {
		t.Fatal(err)
	}
	if err := WriteToneWAV(wavC, 1700, -12, 120); err != nil {
		t.Fatal(err)
	}
	r.b = StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: r.k.Addr, SourceWAV: wavB})
	r.c = StartBaresip(t, BaresipOpts{User: "1004", Password: "secret4", Registrar: r.k.Addr, SourceWAV: wavC, AnswerManual: manualC})
	r.g = StartGateway(t, GatewayOpts{Config: ContractConfig(r.k.Addr)})
	Eventually(t, 10*time.Second, "account 1 registered", func() error {
		if a := r.g.Account(t, "1"); a.State != "registered" {
			return fmt.Errorf("state %q (%s)", a.State, a.LastError)
		}
		return nil
	})
	return r
}

// hearsOnly waits until phone 1 hears hz and not not.
func (r *flashRig) hearsOnly(t *testing.T, what string, hz, not float64) {
	t.Helper()
	Eventually(t, 5*time.Second, what, func() error {
		h := r.g.Phone(t, 1).Hearing.TonesHz
		if !Hears(h, hz) || Hears(h, not) {
			return fmt.Errorf("hearing %v", h)
		}
		return nil
	})
}

// TestInteropFlash is the flash call control proof against Kamailio and
// two baresips, B (1003, 1300 Hz) and C (1004, 1700 Hz), each recording
// what it hears; phone 1 says 700 Hz. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run TestInteropFlash ./tools/lab/
func TestInteropFlash(t *testing.T) {
	r := startFlashRig(t, false)
	k, b, c, g, hearsOnly := r.k, r.b, r.c, r.g, r.hearsOnly
	// callB has phone 1 call B and talk.
	callB := func(t *testing.T) {
		t.Helper()
		g.WaitIdle(t, 1)
		g.OffHookAndDial(t, 1, "1003#")
		g.Say(t, 1, []float64{700}, -12)
		g.WaitHears(t, 1, 10*time.Second, "phone 1 hears B", 1300)
	}
	end := func(t *testing.T) {
		t.Helper()
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		g.WaitIdle(t, 1)
	}

	t.Run("a/call-waiting-swap", func(t *testing.T) {
		recB, recC := len(b.Recordings()), len(c.Recordings())
		callB(t)
		if err := c.Command("dial", "sip:1001@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, "phone 1 shows the waiting caller (type II)", func() error {
			if id := g.Phone(t, 1).CallerID; id == nil || id.Number != "1004" {
				return fmt.Errorf("caller id %+v", id)
			}
			return nil
		})
		g.Hook(t, 1, "flash")
		hearsOnly(t, "phone 1 hears C, B held", 1700, 1300)
		g.Hook(t, 1, "flash")
		hearsOnly(t, "phone 1 hears B again, C held", 1300, 1700)
		g.Hook(t, 1, "flash")
		hearsOnly(t, "phone 1 hears C again", 1700, 1300)
		time.Sleep(2 * time.Second) // C's recording takes the phone's tone
		// Hang up on C: the phone rings for B, held.
		g.Hook(t, 1, "on")
		Eventually(t, 10*time.Second, "phone 1 rings back for B", func() error {
			if !g.Phone(t, 1).Ringing {
				return fmt.Errorf("not ringing")
			}
			return nil
		})
		g.Hook(t, 1, "off")
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears B after the ring back", 1300)
		end(t)
		waitRecordingHeard(t, b, recB, 700)
		waitRecordingHeard(t, c, recC, 700)
	})

	t.Run("b/three-way", func(t *testing.T) {
		recB, recC := len(b.Recordings()), len(c.Recordings())
		callB(t)
		g.Hook(t, 1, "flash")
		g.WaitHears(t, 1, 5*time.Second, "second dial tone", 350, 440)
		g.Dial(t, 1, "1004#")
		hearsOnly(t, "phone 1 consults C, B held", 1700, 1300)
		g.Hook(t, 1, "flash")
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears B and C", 1300, 1700)
		time.Sleep(3 * time.Second) // the conference, in the middle of both recordings
		g.Hook(t, 1, "flash")
		hearsOnly(t, "flash drops C", 1300, 1700)
		end(t)
		// B's recording ends at the hold re-INVITE (baresip's sndfile
		// stops there), so what B heard in the conference is not on
		// record; C joined without one.
		waitRecordingHeard(t, c, recC, 1300) // C heard B
		waitRecordingHeard(t, c, recC, 700)
		_ = recB
	})

	t.Run("c/attended-transfer", func(t *testing.T) {
		recB, recC := len(b.Recordings()), len(c.Recordings())
		closedB, closedC := b.EventCount("CALL_CLOSED"), c.EventCount("CALL_CLOSED")
		callB(t)
		g.Hook(t, 1, "flash")
		g.WaitHears(t, 1, 5*time.Second, "second dial tone", 350, 440)
		g.Dial(t, 1, "1004#")
		hearsOnly(t, "phone 1 consults C", 1700, 1300)
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		g.WaitIdle(t, 1)
		time.Sleep(4 * time.Second) // B and C talk
		if err := b.Command("hangup", ""); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_CLOSED", closedB, 10*time.Second, "B's calls end")
		c.WaitEvent(t, "CALL_CLOSED", closedC, 10*time.Second, "C's calls end")
		waitRecordingHeard(t, b, recB, 1700) // B heard C
		waitRecordingHeard(t, c, recC, 1300) // C heard B
		if st := g.Status(t).Ports[0]; st.State != "idle" || st.Peer != "" {
			t.Errorf("port 1 %s with %q after the transfer", st.State, st.Peer)
		}
	})
}

// waitRecordingHeard waits until one of b's recordings after the first
// after ones holds hz in some half second.
func waitRecordingHeard(t *testing.T, b *Baresip, after int, hz float64) {
	t.Helper()
	Eventually(t, 10*time.Second, fmt.Sprintf("baresip %s heard %v Hz", b.User, hz), func() error {
		recs := b.Recordings()
		if len(recs) <= after {
			return fmt.Errorf("no new recording")
		}
		var errs []error
		for _, r := range recs[after:] {
			err := recordingHeard(r, hz)
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		}
		return fmt.Errorf("%v", errs)
	})
}

// recordingHeard reports whether some half second of a recording holds hz
// among its dominant tones.
func recordingHeard(path string, hz float64) error {
	s, rate, err := ReadWAV(path)
	if err != nil {
		return err
	}
	if rate == 16000 {
		var d dsp.Downsampler2
		s = s[:d.Process(s, s)]
	}
	for i := 0; i+4000 <= len(s); i += 2000 {
		if Hears(dsp.DominantTones(s[i:i+4000], 4), hz) {
			return nil
		}
	}
	return fmt.Errorf("%s: no %v Hz in %d samples", filepath.Base(path), hz, len(s))
}
