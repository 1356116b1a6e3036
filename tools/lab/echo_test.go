package lab

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/si3215/model"
	"github.com/loopstart/loopstart/dsp"
	"github.com/loopstart/loopstart/dsp/wav"
	"github.com/loopstart/loopstart/voice/media"
)

// Levels of the echo proof: baresip's tone and the phone's own, in dBFS.
const (
	echoFarHz    = 1000.0
	echoNearHz   = 600.0
	echoLevel    = -12.0
	echoWindow   = 800 // Goertzel window: 100 ms at 8 kHz
	echoConverge = 10  // windows (1 s) the canceller has to converge
)

// TestInteropEcho is the echo proof against the product's own line model
// (the Si3215 model's hybrid returns the line audio DefaultHybridLoss dB
// down): baresip calls port 1 (canceller on) and port 2 (canceller off)
// through Kamailio, plays a 1000 Hz tone into the silent phone and, after
// two seconds, the phone sends 600 Hz of its own. In what baresip records,
// the echo of its tone is ≥ 30 dB below what it sent from 1 s on with the
// canceller, and only about the hybrid's loss below without it (the echo
// is real); during double talk the phone's tone reaches baresip within
// 3 dB of its level without the canceller, and the echo stays ≥ 25 dB
// down. Then a V.25 ANSam (2100 Hz, 15 Hz AM, phase reversals every
// 450 ms) from baresip turns port 1's canceller off (status says
// "reversals") and reaches the phone's earpiece with its reversals, as
// both our detector and spandsp's modem_connect_tones_rx hear. Levels are
// measured with Goertzel filters at the tone frequencies, not broadband.
// Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run TestInteropEcho ./tools/lab/
func TestInteropEcho(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	k := StartKamailio(t, KamailioOpts{})
	dir := t.TempDir()
	toneWAV := filepath.Join(dir, "tone1000.wav")
	if err := WriteToneWAV(toneWAV, echoFarHz, echoLevel, 120); err != nil {
		t.Fatal(err)
	}
	ansam := ansamSignal(20*8000, echoLevel)
	ansamWAV := filepath.Join(dir, "ansam.wav")
	if err := writeWAV(ansamWAV, ansam); err != nil {
		t.Fatal(err)
	}
	t.Run("oracle-hears-the-generated-ansam", func(t *testing.T) {
		if codes := ConnectTones(t, ansam[:4*8000], SpandspANSamPR); !slices.Contains(codes, SpandspANSamPR) {
			t.Fatalf("spandsp reports %v for the generated ANSam, want %d (ANSam with reversals)", codes, SpandspANSamPR)
		}
	})

	cfg := `<loopstart>
  <account id="1"><registrar>sip:ADDR</registrar><user>1001</user><password>secret1</password></account>
  <account id="2"><registrar>sip:ADDR</registrar><user>1002</user><password>secret2</password></account>
  <port n="1" account="1"/>
  <port n="2" account="2"><echo-canceller>off</echo-canceller></port>
</loopstart>
`
	g := StartGateway(t, GatewayOpts{Config: strings.ReplaceAll(cfg, "ADDR", k.Addr)})
	for _, id := range []string{"1", "2"} {
		Eventually(t, 10*time.Second, "account "+id+" registered", func() error {
			if a := g.Account(t, id); a.State != "registered" {
				return fmt.Errorf("state %q (%s)", a.State, a.LastError)
			}
			return nil
		})
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, SourceWAV: toneWAV})

	// One call per port: 5 s of baresip's tone alone, then 2 s of double
	// talk.
	type result struct {
		far, near []float64 // per window: 1000 Hz and 600 Hz in dBFS
		onset     int       // first window of the phone's tone
	}
	var res [3]result
	for _, port := range []int{1, 2} {
		rec := farCallsPhone(t, g, b, k, port, func() {
			waitReceived(t, g, port, 250)
			if c := g.Status(t).Ports[port-1].Call; c != nil && c.Echo != nil {
				t.Logf("port %d single talk: echo %+v", port, *c.Echo)
			}
			g.Say(t, port, []float64{echoNearHz}, echoLevel)
			waitReceived(t, g, port, 250+100)
			if c := g.Status(t).Ports[port-1].Call; c != nil && c.Echo != nil {
				t.Logf("port %d double talk: echo %+v", port, *c.Echo)
			}
		})
		r := result{far: toneLevels(rec, echoFarHz), near: toneLevels(rec, echoNearHz)}
		r.onset = slices.IndexFunc(r.near, func(l float64) bool { return l > echoLevel-20 })
		if r.onset < echoConverge+5 {
			t.Fatalf("port %d: the phone's %v Hz starts in window %d of baresip's recording (levels %.0f)", port, echoNearHz, r.onset, r.near)
		}
		res[port] = r
	}
	on, off := res[1], res[2]

	t.Run("echo-cancelled-within-1s", func(t *testing.T) {
		// From 1 s into the call to the phone's first word.
		worst := slices.Max(on.far[echoConverge : on.onset-1])
		t.Logf("canceller on: echo of %v Hz at most %.1f dBFS, %.1f dB below the %.0f dBFS sent", echoFarHz, worst, echoLevel-worst, echoLevel)
		if echoLevel-worst < 30 {
			t.Errorf("echo only %.1f dB below what baresip sent, want ≥ 30 dB (windows %.0f)", echoLevel-worst, on.far[:on.onset])
		}
	})
	t.Run("echo-real-without-canceller", func(t *testing.T) {
		lvl := median(off.far[echoConverge : off.onset-1])
		loss := echoLevel - lvl
		t.Logf("canceller off: echo of %v Hz at %.1f dBFS, %.1f dB below (hybrid loss %.0f dB)", echoFarHz, lvl, loss, model.DefaultHybridLoss)
		if math.Abs(loss-model.DefaultHybridLoss) > 4 {
			t.Errorf("without the canceller the echo is %.1f dB down, want about the hybrid's %.0f dB", loss, model.DefaultHybridLoss)
		}
	})
	t.Run("double-talk", func(t *testing.T) {
		// From 300 ms after the phone's tone starts to the last full window
		// before the hang-up.
		dtOn, dtOff := on.onset+3, off.onset+3
		endOn, endOff := len(on.near)-2, len(off.near)-2
		if endOn-dtOn < 10 || endOff-dtOff < 10 {
			t.Fatalf("double talk too short in the recordings: %d and %d windows", endOn-dtOn, endOff-dtOff)
		}
		nearOn, nearOff := median(on.near[dtOn:endOn]), median(off.near[dtOff:endOff])
		t.Logf("phone's %v Hz at baresip: %.1f dBFS with the canceller, %.1f dBFS without", echoNearHz, nearOn, nearOff)
		if math.Abs(nearOn-nearOff) > 3 {
			t.Errorf("the canceller changes the phone's tone by %.1f dB during double talk, want within 3 dB", nearOn-nearOff)
		}
		worst := slices.Max(on.far[dtOn:endOn])
		t.Logf("echo during double talk at most %.1f dBFS, %.1f dB down", worst, echoLevel-worst)
		if echoLevel-worst < 25 {
			t.Errorf("echo during double talk only %.1f dB down, want ≥ 25 dB (windows %.0f)", echoLevel-worst, on.far[dtOn:endOn])
		}
	})

	t.Run("ansam-disables-the-canceller", func(t *testing.T) {
		fax := StartBaresip(t, BaresipOpts{User: "1004", Password: "secret4", Registrar: k.Addr, SourceWAV: ansamWAV})
		var heard []int16
		farCallsPhone(t, g, fax, k, 1, func() {
			Eventually(t, 5*time.Second, "status shows the canceller disabled by reversals", func() error {
				c := g.Status(t).Ports[0].Call
				if c == nil || c.Echo == nil {
					return fmt.Errorf("call stats %+v", c)
				}
				if c.Echo.DisabledBy != media.DisabledByReversals || c.Echo.Active {
					return fmt.Errorf("echo %+v", *c.Echo)
				}
				return nil
			})
			waitReceived(t, g, 1, 200) // 4 s of ANSam at the phone
			heard = heardWAV(t, g, 1, 3000)
		})
		var d dsp.AnswerToneDetector
		for f := 0; f+160 <= len(heard); f += 160 {
			d.Process(heard[f : f+160])
		}
		if d.Reversals() < 2 || !d.HeardANS() {
			t.Errorf("our detector: %d phase reversals, ANS %v in the 3 s the phone heard, want ≥ 2", d.Reversals(), d.HeardANS())
		}
		if codes := ConnectTones(t, heard, SpandspANSamPR); !slices.Contains(codes, SpandspANSamPR) {
			t.Errorf("spandsp's modem_connect_tones_rx reports %v for what the phone heard, want %d (ANSam with phase reversals)", codes, SpandspANSamPR)
		}
	})
}

// farCallsPhone makes baresip b call the phone on port (which answers
// silent), runs during while the call is up, hangs up from baresip and
// returns baresip's recording of the call at 8 kHz.
func farCallsPhone(t *testing.T, g *Gateway, b *Baresip, k *Kamailio, port int, during func()) []int16 {
	t.Helper()
	g.WaitIdle(t, port)
	recBefore, closed, up := len(b.Recordings()), b.EventCount("CALL_CLOSED"), b.EventCount("CALL_ESTABLISHED")
	g.Say(t, port, nil, 0)
	if err := b.Command("dial", fmt.Sprintf("sip:100%d@%s", port, k.Addr)); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, fmt.Sprintf("phone %d rings", port), func() error {
		if p := g.Phone(t, port); !p.Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	g.Hook(t, port, "off")
	b.WaitEvent(t, "CALL_ESTABLISHED", up, 5*time.Second, "baresip's call is up")
	during()
	if err := b.Command("hangup", ""); err != nil {
		t.Fatal(err)
	}
	b.WaitEvent(t, "CALL_CLOSED", closed, 5*time.Second, "baresip's call closed")
	g.Hook(t, port, "on")
	g.Say(t, port, nil, 0)
	var s []int16
	Eventually(t, 5*time.Second, "baresip's recording of the call", func() error {
		recs := b.Recordings()
		if len(recs) <= recBefore {
			return fmt.Errorf("no new recording in %s", b.Dir)
		}
		var rate int
		var err error
		s, rate, err = ReadWAV(newest(recs))
		if err == nil && rate != 8000 {
			err = fmt.Errorf("recording at %d Hz, want 8000", rate)
		}
		return err
	})
	return s
}

// waitReceived waits until port's call has received packets RTP packets
// (a silent phone's side may send fewer).
func waitReceived(t *testing.T, g *Gateway, port int, packets uint64) {
	t.Helper()
	Eventually(t, time.Duration(packets)*20*time.Millisecond+5*time.Second, fmt.Sprintf("port %d received %d packets", port, packets), func() error {
		c := g.Status(t).Ports[port-1].Call
		if c == nil || c.PacketsReceived < packets {
			return fmt.Errorf("call %+v", c)
		}
		return nil
	})
}

// toneLevels returns the level in dBFS (a full-scale sine is 0) of the
// hz component of each whole echoWindow of s: a Hann-windowed Goertzel
// filter, deaf to the codec's and the line's broadband noise.
func toneLevels(s []int16, hz float64) []float64 {
	var out []float64
	for w := 0; w+echoWindow <= len(s); w += echoWindow {
		out = append(out, goertzelDBFS(s[w:w+echoWindow], hz))
	}
	return out
}

func goertzelDBFS(x []int16, hz float64) float64 {
	n := len(x)
	c := 2 * math.Cos(2*math.Pi*hz/8000)
	var s1, s2, wsum float64
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n))
		wsum += w
		s0 := w*float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	re := s1 - s2*c/2
	im := s2 * math.Sin(2*math.Pi*hz/8000)
	amp := 2 * math.Hypot(re, im) / wsum
	return 20 * math.Log10(max(amp, 1e-3)/32767)
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

// ansamSignal returns n samples of V.25 ANSam: 2100 Hz, amplitude
// modulated ±20 % at 15 Hz, its phase reversed every 450 ms, the carrier
// at dbfs.
func ansamSignal(n int, dbfs float64) []int16 {
	amp := 32767 * math.Pow(10, dbfs/20)
	x := make([]int16, n)
	for i := range x {
		t := float64(i) / 8000
		ph := 0.0
		if (i/3600)%2 == 1 {
			ph = math.Pi
		}
		x[i] = int16(amp * (1 + 0.2*math.Sin(2*math.Pi*15*t)) * math.Sin(2*math.Pi*2100*t+ph))
	}
	return x
}

func writeWAV(path string, x []int16) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := wav.Write(f, x, 8000); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
