package lab

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// relayConfig is the contract config with the PBX running the features:
// local features off on both ports, port 1 relaying flash as INFO
// application/hook-flash and sending its digits as INFO, port 2
// relaying flash as INFO application/dtmf-relay Signal=16.
func relayConfig(addr string) string {
	return strings.ReplaceAll(`<loopstart>
  <account id="1"><registrar>sip:ADDR</registrar><user>1001</user><password>secret1</password></account>
  <account id="2"><registrar>sip:ADDR</registrar><user>1002</user><password>secret2</password></account>
  <port n="1" account="1"><local-features>false</local-features><flash-relay>info-hookflash</flash-relay><dtmf>info</dtmf></port>
  <port n="2" account="2"><local-features>false</local-features><flash-relay>info-dtmf</flash-relay></port>
</loopstart>
`, "ADDR", addr)
}

// relayRFC4733Config has one port, account 1003, relaying flash as RFC
// 4733 event 16.
func relayRFC4733Config(addr string) string {
	return strings.ReplaceAll(`<loopstart>
  <account id="1"><registrar>sip:ADDR</registrar><user>1003</user><password>secret3</password></account>
  <port n="1" account="1"><local-features>false</local-features><flash-relay>rfc4733</flash-relay></port>
</loopstart>
`, "ADDR", addr)
}

// TestInteropRelay proves the features-at-the-PBX signals against SIPp
// calling through Kamailio, each SIPp checking what it receives with
// regular expressions (a mismatch fails its call and its exit code):
//
//   - info-hookflash: SIPp's INFO application/dtmf-relay Signal=5 is
//     played to the phone, which hears 5; the phone's flash reaches SIPp
//     as INFO application/hook-flash "signal=hf" and the digit it keys,
//     with <dtmf>info</dtmf>, as INFO application/dtmf-relay Signal=7;
//   - info-dtmf: SIPp's INFO application/dtmf "9" is heard as 9; the
//     flash reaches SIPp as INFO application/dtmf-relay Signal=16;
//   - rfc4733: the flash reaches SIPp's media port as RTP
//     telephone-event 16 (payload type 101 of SIPp's offer) with the end
//     bit and a 200 ms duration, read from a tshark capture of that port.
//
// Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run TestInteropRelay ./tools/lab/
func TestInteropRelay(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "sipp", "tshark")
	k := StartKamailio(t, KamailioOpts{})

	t.Run("info", func(t *testing.T) {
		g := StartGateway(t, GatewayOpts{Config: relayConfig(k.Addr)})
		waitRegistered(t, g, "1")
		waitRegistered(t, g, "2")

		t.Run("info-hookflash", func(t *testing.T) {
			steps := relaySendInfo("application/dtmf-relay", "Signal=5\nDuration=160") +
				relayRecvInfo("application/hook-flash", "signal=hf") +
				relayRecvInfo("application/dtmf-relay", "Signal=7")
			s := startRelaySIPp(t, k, "1001", steps, 0)
			answer(t, g, 1, s)
			waitHeardDigit(t, g, 1, "5")
			g.Hook(t, 1, "flash")
			s.waitReceived(t, "the flash as INFO application/hook-flash", "signal=hf")
			g.Dial(t, 1, "7")
			s.waitReceived(t, "digit 7 as INFO", "Signal=7")
			s.hangUp(t, g, 1)
			if strings.Contains(s.received(), "Signal=16") {
				t.Error("the flash also went out as Signal=16")
			}
		})
		t.Run("info-dtmf", func(t *testing.T) {
			steps := relaySendInfo("application/dtmf", "9") +
				relayRecvInfo("application/dtmf-relay", "Signal=16")
			s := startRelaySIPp(t, k, "1002", steps, 0)
			answer(t, g, 2, s)
			waitHeardDigit(t, g, 2, "9")
			g.Hook(t, 2, "flash")
			s.waitReceived(t, "the flash as INFO Signal=16", "Signal=16")
			s.hangUp(t, g, 2)
		})
	})

	t.Run("rfc4733", func(t *testing.T) {
		g := StartGateway(t, GatewayOpts{Config: relayRFC4733Config(k.Addr)})
		waitRegistered(t, g, "1")
		mp := FreePort(t, 4)
		// Packets to SIPp's media port only, printed as they come.
		sniff := Start(t, t.TempDir(), "tshark", "-i", "lo", "-n", "-l", "-f", fmt.Sprintf("udp dst port %d", mp),
			"-T", "fields", "-e", "udp.payload")
		Eventually(t, 10*time.Second, "tshark capturing", func() error {
			if sniff.Exited() {
				t.Fatalf("tshark exited:\n%s", tail(sniff.Log(), 20))
			}
			if !strings.Contains(sniff.Log(), "Capturing on") {
				return fmt.Errorf("tshark says %q", tail(sniff.Log(), 5))
			}
			return nil
		})
		s := startRelaySIPp(t, k, "1003", "", mp)
		answer(t, g, 1, s)
		Eventually(t, 5*time.Second, "the phone's audio reaches SIPp's media port", func() error {
			if n := len(rtpPackets(sniff.Log(), 0)); n < 10 {
				return fmt.Errorf("%d audio packets", n)
			}
			return nil
		})
		g.Hook(t, 1, "flash")
		var ev []telephoneEvent
		Eventually(t, 5*time.Second, "telephone-event 16 with the end bit", func() error {
			ev = telephoneEvents(rtpPackets(sniff.Log(), 101))
			for _, e := range ev {
				if e.event == 16 && e.end {
					return nil
				}
			}
			return fmt.Errorf("events %+v", ev)
		})
		for _, e := range ev {
			if e.event != 16 {
				t.Errorf("event %d relayed, want only 16: %+v", e.event, ev)
			}
			if e.end && e.duration != 1600 {
				t.Errorf("end of event 16 lasts %d samples, want 1600 (200 ms)", e.duration)
			}
		}
		s.hangUp(t, g, 1)
		sniff.Stop()
	})
}

// relaySIPp is a running SIPp call to the phone with its message log.
type relaySIPp struct {
	proc *Proc
	msgs string
}

// startRelaySIPp calls user through Kamailio from SIPp, offering PCMU and
// telephone-event 101 on media port mp (0: any free one), and after the
// ACK runs steps, then waits for the phone's BYE.
func startRelaySIPp(t *testing.T, k *Kamailio, user, steps string, mp int) *relaySIPp {
	t.Helper()
	dir := t.TempDir()
	sf := filepath.Join(dir, "relay.xml")
	if err := os.WriteFile(sf, []byte(strings.Replace(relayCallXML, "@STEPS@", steps, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if mp == 0 {
		mp = FreePort(t, 4)
	}
	s := &relaySIPp{msgs: filepath.Join(dir, "messages.log")}
	s.proc = Start(t, dir, "sipp", k.Addr, "-sf", sf, "-s", user, "-i", "127.0.0.1",
		"-p", fmt.Sprint(FreePort(t, 1)), "-mp", fmt.Sprint(mp),
		"-m", "1", "-timeout", "30s", "-timeout_error", "-recv_timeout", "20000", "-nostdin",
		"-trace_msg", "-message_file", s.msgs)
	return s
}

// answer waits for phone n to ring for SIPp's call and takes it off hook.
func answer(t *testing.T, g *Gateway, n int, s *relaySIPp) {
	t.Helper()
	Eventually(t, 10*time.Second, fmt.Sprintf("phone %d rings for SIPp", n), func() error {
		if s.proc.Exited() {
			t.Fatalf("sipp ended before the phone rang:\n%s", tail(s.proc.Log(), 30))
		}
		if !g.Phone(t, n).Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	g.Hook(t, n, "off")
	Eventually(t, 5*time.Second, fmt.Sprintf("port %d in talk", n), func() error {
		if c := g.PortStatus(t, n).Call; c == nil {
			return fmt.Errorf("no call")
		}
		return nil
	})
}

// received is every message SIPp received so far.
func (s *relaySIPp) received() string {
	b, _ := os.ReadFile(s.msgs)
	return strings.Join(receivedMessages(string(b)), "\n\n")
}

// waitReceived waits until SIPp received a message holding text.
func (s *relaySIPp) waitReceived(t *testing.T, what, text string) {
	t.Helper()
	Eventually(t, 5*time.Second, "SIPp receives "+what, func() error {
		if s.proc.Exited() {
			t.Fatalf("sipp ended early:\n%s\nreceived:\n%s", tail(s.proc.Log(), 30), s.received())
		}
		if !strings.Contains(s.received(), text) {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

// hangUp puts phone n on hook and checks that SIPp's scenario, checks
// included, completed.
func (s *relaySIPp) hangUp(t *testing.T, g *Gateway, n int) {
	t.Helper()
	g.Hook(t, n, "on")
	waitExit(t, s.proc, 10*time.Second)
	if code := s.proc.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("sipp exit %d: the call failed a check:\n%s\nreceived:\n%s", code, tail(s.proc.Log(), 30), s.received())
	}
	g.WaitIdle(t, n)
}

// waitHeardDigit waits until phone n heard digit played to it.
func waitHeardDigit(t *testing.T, g *Gateway, n int, digit string) {
	t.Helper()
	Eventually(t, 5*time.Second, fmt.Sprintf("phone %d hears DTMF %s", n, digit), func() error {
		if p := g.Phone(t, n); !strings.Contains(p.DTMFHeard, digit) {
			return fmt.Errorf("dtmf heard %q", p.DTMFHeard)
		}
		return nil
	})
}

// rtpPackets reads tshark's hex payload lines in log and returns the RTP
// payloads (after a plain 12-byte header) of payload type pt.
func rtpPackets(log string, pt byte) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(log, "\n") {
		b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(line), ":", ""))
		if err != nil || len(b) < 12 || b[0]>>6 != 2 || b[1]&0x7f != pt {
			continue
		}
		out = append(out, b[12:])
	}
	return out
}

// telephoneEvent is an RFC 4733 event payload.
type telephoneEvent struct {
	event    byte
	end      bool
	duration uint16
}

// telephoneEvents decodes RFC 4733 payloads.
func telephoneEvents(payloads [][]byte) []telephoneEvent {
	var out []telephoneEvent
	for _, p := range payloads {
		if len(p) < 4 {
			continue
		}
		out = append(out, telephoneEvent{event: p[0], end: p[1]&0x80 != 0, duration: binary.BigEndian.Uint16(p[2:4])})
	}
	return out
}

// relaySendInfo is a scenario step: SIPp sends an INFO with body of
// contentType in the call and expects 200.
func relaySendInfo(contentType, body string) string {
	return strings.NewReplacer("@CT@", contentType, "@BODY@", body).Replace(`
  <send retrans="500">
    <![CDATA[
INFO [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 INFO
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: @CT@
Content-Length: [len]

@BODY@
]]>
  </send>
  <recv response="200"/>
`)
}

// relayRecvInfo is a scenario step: SIPp waits for an INFO whose
// Content-Type and body match, failing the call otherwise, and answers
// 200.
func relayRecvInfo(contentType, bodyRE string) string {
	return strings.NewReplacer("@CT@", contentType, "@BODY@", bodyRE).Replace(`
  <recv request="INFO">
    <action>
      <ereg regexp="@CT@" search_in="hdr" header="Content-Type:" check_it="true" assign_to="ct"/>
      <ereg regexp="@BODY@" search_in="body" check_it="true" assign_to="body"/>
      <log message="info [$ct] [$body]"/>
    </action>
  </recv>
` + sippOK)
}

// relayCallXML is a SIPp scenario: a call to [service] through the
// registrar offering PCMU and telephone-event 101 (0-16), answered by
// the test taking the phone off hook; after the ACK, @STEPS@; then the
// phone's BYE is answered.
const relayCallXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart relay">
  <send retrans="500">
    <![CDATA[
` + sippInviteHead + `
v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <pause milliseconds="500"/>
@STEPS@
  <recv request="BYE"/>
` + sippOK + `</scenario>
`
