package lab

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// TestInteropSecure is the secure media proof: the gateway registers over
// TLS (sips:, verifying Kamailio's certificate against the test's CA) and
// calls baresip with mediaenc=srtp-mand both ways, audio checked in both
// directions; a tshark capture of the SRTP call holds no clear audio; and a
// clear-RTP caller is refused while SRTP is mandatory. Run alone with:
//
//	go test ./tools/lab -run TestInteropSecure -v
func TestInteropSecure(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip", "tshark")
	k := StartKamailioTLS(t)
	wav := filepath.Join(t.TempDir(), "tone1000.wav")
	if err := WriteToneWAV(wav, 1000, -12, 120); err != nil {
		t.Fatal(err)
	}
	b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.TLSAddr, Transport: "tls",
		MediaEnc: "srtp-mand", CAFile: k.Cert.CAFile, SourceWAV: wav})
	g := StartGateway(t, GatewayOpts{Config: SecureConfig(k.TLSAddr, k.Cert.CAFile, "mandatory")})

	t.Run("a/register-over-tls", func(t *testing.T) {
		for _, id := range []string{"1", "2"} {
			Eventually(t, 10*time.Second, "account "+id+" registered", func() error {
				if a := g.Account(t, id); a.State != "registered" {
					return fmt.Errorf("state %q (%s)", a.State, a.LastError)
				}
				return nil
			})
		}
		locs, err := k.Locations()
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(locs, "tls:127.0.0.1:"+fmt.Sprint(k.TLSPort)); n < 3 {
			t.Errorf("want 1001, 1002 and 1003 bound to the TLS socket, ul.dump:\n%s", locs)
		}
	})

	t.Run("b/phone-calls-baresip-srtp", func(t *testing.T) {
		before := b.EventCount("CALL_CLOSED")
		recBefore := len(b.Recordings())
		g.OffHookAndDial(t, 1, "1003#")
		g.Say(t, 1, []float64{600}, -12)
		b.WaitEvent(t, "CALL_ESTABLISHED", 0, 10*time.Second, "baresip answers")
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears baresip's 1000 Hz through SRTP", 1000)
		// Capture this call's media only (other tests may run on lo).
		c := g.Status(t).Ports[0].Call
		if c == nil {
			t.Fatal("no call in /api/status")
		}
		_, rtpPort, _ := strings.Cut(c.LocalRTP, "127.0.0.1:")
		capDir := t.TempDir()
		pcap := filepath.Join(capDir, "call.pcap")
		sniff := Start(t, capDir, "tshark", "-i", "lo", "-n", "-q", "-w", pcap, "-f", "udp port "+rtpPort)
		Eventually(t, 10*time.Second, "tshark capturing", func() error {
			if sniff.Exited() {
				t.Fatalf("tshark exited:\n%s", tail(sniff.Log(), 20))
			}
			if !strings.Contains(sniff.Log(), "Capturing on") {
				return fmt.Errorf("tshark says %q", tail(sniff.Log(), 5))
			}
			return nil
		})
		// Then 2 s of media each way under the capture.
		c = g.callStats(t, 1)
		if c == nil {
			t.Fatal("call gone before the capture")
		}
		g.WaitCallMedia(t, 1, max(c.PacketsSent, c.PacketsReceived)+100, 5*time.Second)
		st := g.Status(t)
		if c := st.Ports[0].Call; c == nil || c.SRTP != "AES_CM_128_HMAC_SHA1_80" || c.PacketsReceived < 50 || c.MOS < 4 || c.AuthFailures != 0 {
			t.Errorf("call stats in /api/status: %+v", c)
		}
		if len(st.Loop.Histogram) == 0 {
			t.Errorf("loop status %+v", st.Loop)
		}
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip sees the BYE")
		b.WaitRecording(t, recBefore, 600, 5*time.Second)
		if !strings.Contains(b.Log(), "srtp") && !strings.Contains(b.Log(), "SRTP") {
			t.Logf("baresip log does not mention srtp:\n%s", tail(b.Log(), 30))
		}
		if c := g.Status(t).Ports[0].LastCall; c == nil || c.SRTP == "" {
			t.Errorf("last call stats: %+v", c)
		}
		if !strings.Contains(g.Log(), `msg="call media"`) {
			t.Error("no call media line in the gateway log")
		}
		sniff.Stop()
		t.Run("capture-holds-no-clear-audio", func(t *testing.T) {
			payloads := capturedPayloads(t, pcap)
			if len(payloads) < 100 {
				t.Fatalf("only %d media packets captured", len(payloads))
			}
			if err := noClearTone(payloads, 600, 1000); err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("c/baresip-calls-phone-srtp", func(t *testing.T) {
		before := b.EventCount("CALL_CLOSED")
		recBefore := len(b.Recordings())
		g.WaitIdle(t, 1) // the line back to idle after the hang-up above
		if err := b.Command("dial", "sip:1001@"+k.TLSAddr+";transport=tls"); err != nil {
			t.Fatal(err)
		}
		Eventually(t, 10*time.Second, "phone 1 rings (INVITE back over our TLS connection)", func() error {
			if p := g.Phone(t, 1); !p.Ringing {
				return fmt.Errorf("not ringing; baresip events %v", b.Events())
			}
			return nil
		})
		g.Say(t, 1, []float64{700}, -12)
		g.Hook(t, 1, "off")
		g.WaitHears(t, 1, 5*time.Second, "phone 1 hears baresip", 1000)
		g.WaitCallMedia(t, 1, 100, 5*time.Second) // 2 s of the phone's 700 Hz for baresip's recording
		if err := b.Command("hangup", ""); err != nil {
			t.Fatal(err)
		}
		b.WaitEvent(t, "CALL_CLOSED", before, 5*time.Second, "baresip call closed")
		g.Hook(t, 1, "on")
		g.Say(t, 1, nil, 0)
		b.WaitRecording(t, recBefore, 700, 5*time.Second)
	})

	t.Run("d/clear-rtp-refused", func(t *testing.T) {
		plain := StartBaresip(t, BaresipOpts{User: "1004", Password: "secret4", Registrar: k.Addr, SourceWAV: wav})
		g.WaitIdle(t, 1, 2) // no call left over from above: a ring now would be this one
		if err := plain.Command("dial", "sip:1002@"+k.Addr); err != nil {
			t.Fatal(err)
		}
		plain.WaitEvent(t, "CALL_CLOSED", 0, 10*time.Second, "clear call refused")
		if p := g.Phone(t, 2); p.Ringing || p.Rings > 0 {
			t.Errorf("phone 2 rang for a clear-RTP call: %+v", p)
		}
		if !strings.Contains(g.Log(), "srtp is mandatory") {
			t.Errorf("gateway log does not say why:\n%s", tail(g.Log(), 20))
		}
		if !strings.Contains(plain.Log(), "488") {
			t.Errorf("baresip did not get 488:\n%s", tail(plain.Log(), 20))
		}
	})
}

// capturedPayloads reads the UDP payloads of a capture with tshark.
func capturedPayloads(t *testing.T, pcap string) [][]byte {
	t.Helper()
	out, err := exec.Command("tshark", "-r", pcap, "-n", "-T", "fields", "-e", "udp.payload").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	var ps [][]byte
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.ReplaceAll(strings.TrimSpace(line), ":", "")
		if len(line) < 2*(12+160) {
			continue
		}
		b := make([]byte, len(line)/2)
		for i := range b {
			var v byte
			if _, err := fmt.Sscanf(line[2*i:2*i+2], "%02x", &v); err != nil {
				break
			}
			b[i] = v
		}
		ps = append(ps, b)
	}
	return ps
}

// noClearTone decodes each packet's 160 bytes after a 12-byte RTP header as
// µ-law and as A-law and fails if any tone in hz is detectable in a run of
// them, as it would be in a clear G.711 call.
func noClearTone(payloads [][]byte, hz ...float64) error {
	for _, law := range []string{"pcmu", "pcma"} {
		var pcmBuf []int16
		for _, p := range payloads {
			s := make([]int16, 160)
			if law == "pcmu" {
				dsp.DecodeMulaw(s, p[12:12+160])
			} else {
				dsp.DecodeAlaw(s, p[12:12+160])
			}
			pcmBuf = append(pcmBuf, s...)
		}
		for off := 0; off+4000 <= len(pcmBuf); off += 4000 {
			chunk := pcmBuf[off : off+4000]
			for _, h := range hz {
				// A tone is there when it holds a real share of the energy
				// (encrypted payloads decode to white noise, where any one
				// frequency holds about 1/2000 of it).
				if share := toneShare(chunk, h); share > 0.05 {
					return fmt.Errorf("%s decode of captured packets at sample %d: %.0f%% of the energy at %v Hz (tones %v): clear audio on the wire",
						law, off, 100*share, h, dsp.DominantTones(chunk, 4))
				}
			}
		}
	}
	return nil
}

// TestNoClearToneDetectsClearAudio proves the capture check can fail: clear
// µ-law of a tone is caught.
func TestNoClearToneDetectsClearAudio(t *testing.T) {
	var ps [][]byte
	frame := make([]int16, 160)
	for n := range 100 {
		for i := range frame {
			frame[i] = int16(8000 * math.Sin(2*math.Pi*float64(n*160+i)*600/8000))
		}
		p := make([]byte, 12+160)
		dsp.EncodeMulaw(p[12:], frame)
		ps = append(ps, p)
	}
	if err := noClearTone(ps, 600); err == nil {
		t.Fatal("clear µ-law tone not detected")
	}
}

// toneShare is the fraction of the energy of x (8 kHz) at hz (Goertzel).
func toneShare(x []int16, hz float64) float64 {
	w := 2 * math.Pi * hz / 8000
	c := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range x {
		f := float64(v)
		total += f * f
		s0 := f + c*s1 - s2
		s2, s1 = s1, s0
	}
	if total == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * power / (float64(len(x)) * total)
}
