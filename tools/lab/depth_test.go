package lab

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// The protocol depth PBXs and carriers expect, against SIPp: reliable
// provisional responses (RFC 3262) both ways, early media from a 183,
// session timers (RFC 4028: 422, either side refreshing), a re-INVITE
// without SDP, a 302 followed and a 491 retried. SIPp plays the
// registrar for the gateway's outgoing calls (so its INVITEs reach SIPp)
// and calls a direct account for the incoming ones. Each scenario writes
// a line to a marker file at the steps it checked; its checks (ereg
// check_it) fail the call otherwise.

// depthSIPp starts SIPp with scenario xml (its @DIR@ replaced by dir,
// where the marker files go) on port, towards remote ("" for a UAS).
func depthSIPp(t *testing.T, dir, name, xml string, port int, remote string, extra ...string) *Proc {
	t.Helper()
	sf := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(sf, []byte(strings.ReplaceAll(xml, "@DIR@", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-sf", sf, "-i", "127.0.0.1", "-p", fmt.Sprint(port), "-mp", fmt.Sprint(FreePort(t, 4)),
		"-nostdin", "-trace_err", "-error_file", filepath.Join(dir, name+"-errors.log")}
	if remote != "" {
		args = append([]string{remote}, args...)
	}
	args = append(args, extra...)
	sub := filepath.Join(dir, name+".d") // marker files are dir/<name>
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	p := Start(t, sub, "sipp", args...)
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, name+"-errors.log")); err == nil && t.Failed() {
			head, _, _ := strings.Cut(string(b), "\n'")
			t.Logf("---- %s first error ----\n%s", name, head)
			t.Logf("---- %s errors ----\n%s", name, tail(string(b), 60))
		}
	})
	return p
}

// marked waits until dir's marker file name has line.
func marked(t *testing.T, p *Proc, dir, name, line string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, "sipp marks "+name+": "+line, func() error {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if strings.Contains(string(b), line+"\n") {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("sipp ended without it:\n%s", tail(p.Log(), 20))
		}
		return fmt.Errorf("marker has %q", b)
	})
}

// writeMulawTone writes seconds of hz as raw G.711 mu-law at 8 kHz, what
// SIPp's rtp_stream sends as PCMU.
func writeMulawTone(t *testing.T, path string, hz, seconds float64) {
	t.Helper()
	n := int(8000 * seconds)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	b := make([]byte, n)
	dsp.EncodeMulaw(b, pcm)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// depthConfig is a one-port config: account 1 (user 1001) registering at
// SIPp on registrar (or direct with ""), with sip inside <sip>.
func depthConfig(registrar, sip string) string {
	reg := ""
	if registrar != "" {
		reg = "<registrar>sip:" + registrar + "</registrar><password>secret1</password>"
	}
	return fmt.Sprintf(`<loopstart>
  <sip>%s</sip>
  <account id="1">%s<user>1001</user></account>
  <port n="1" account="1"/>
</loopstart>
`, sip, reg)
}

// sippRegistrar is the scenario steps of SIPp as the gateway's registrar:
// a REGISTER (or a keep-alive OPTIONS) starting a SIPp call is answered
// 200 and ends it. The steps go first in a UAS scenario, the call's own
// steps after them, then @END@.
const sippRegistrarHead = `  <recv request="REGISTER" optional="true" next="register"/>
  <recv request="OPTIONS" optional="true" next="options"/>
`

const sippRegistrarTail = `  <label id="register"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]reg[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Contact:];expires=3600
Content-Length: 0

]]>
  </send>
  <nop next="end"/>
  <label id="options"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]opt[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
  <label id="end"/>
`

// sippCapture stores the INVITE's dialog headers for answers sent after
// other requests (SIPp's [last_*] are the last message's).
const sippCapture = `      <ereg regexp="[^ ].*" search_in="hdr" header="Via:" assign_to="via"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" assign_to="from"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="To:" assign_to="to"/>
      <ereg regexp="[^ ].*" search_in="hdr" header="CSeq:" assign_to="cseq"/>
`

// prackUASXML: SIPp answers the gateway's INVITE (which must offer
// 100rel) with a reliable 183 carrying SDP and streams a tone on it
// once PRACKed (early media); the PRACK must carry RAck "1 <cseq> INVITE"; after
// @EARLY@ ms the call is answered; the phone's BYE ends it.
var prackUASXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart prack uas">
` + sippRegistrarHead + `  <recv request="INVITE">
    <action>
      <ereg regexp="100rel" search_in="hdr" header="Supported:" check_it="true" assign_to="rel"/>
      <log message="invite supports [$rel]"/>
` + sippCapture + `    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 183 Session Progress
[last_Via:]
[last_From:]
[last_To:];tag=[pid]uas[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port]>
Require: 100rel
RSeq: 1
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv request="PRACK">
    <action>
      <exec rtp_stream="@DIR@/tone.ulaw,-1,0"/>
      <ereg regexp="^ *1 [0-9]+ INVITE" search_in="hdr" header="RAck:" check_it="true" assign_to="rack"/>
      <log message="prack rack [$rack]"/>
    </action>
  </recv>
` + sippOK + sippMark("uas", "prack") + `  <pause milliseconds="@EARLY@"/>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
Via: [$via]
From: [$from]
To: [$to];tag=[pid]uas[call_number]
[last_Call-ID:]
CSeq: [$cseq]
Contact: <sip:sipp@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv request="ACK"/>
  <recv request="BYE"/>
` + sippOK + sippMark("uas", "bye") + `  <nop next="end"/>
` + sippRegistrarTail + `</scenario>
`

// TestInteropDepthPRACKUAC: the gateway calls SIPp, which answers with a
// reliable 183 and early media: the gateway PRACKs it, the phone hears
// the far end's tone (not our ringback) before the answer, then talks.
// Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run 'TestInteropDepthPRACKUAC' ./tools/lab/
func TestInteropDepthPRACKUAC(t *testing.T) {
	Need(t, "sipp")
	dir := t.TempDir()
	writeMulawTone(t, filepath.Join(dir, "tone.ulaw"), 1000, 30)
	port := FreePort(t, 1)
	xml := strings.ReplaceAll(prackUASXML, "@EARLY@", "4000")
	p := depthSIPp(t, dir, "prack-uas", xml, port, "")
	g := StartGateway(t, GatewayOpts{Config: depthConfig(fmt.Sprintf("127.0.0.1:%d", port), "")})
	waitRegistered(t, g, "1")
	g.OffHookAndDial(t, 1, "2000#")
	marked(t, p, dir, "uas", "prack", 10*time.Second)
	g.WaitHears(t, 1, 4*time.Second, "early media: the far end's 1000 Hz before the answer", 1000)
	if st := g.PortStatus(t, 1).State; st == "talking" {
		t.Errorf("state %s during early media", st)
	}
	if h := g.Phone(t, 1).Hearing; Hears(h.TonesHz, 440, 480) {
		t.Errorf("the phone hears our ringback during early media: %v", h.TonesHz)
	}
	Eventually(t, 10*time.Second, "answered", func() error {
		if st := g.PortStatus(t, 1).State; st != "talking" {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	g.WaitHears(t, 1, 5*time.Second, "the far end's 1000 Hz after the answer", 1000)
	g.Hook(t, 1, "on")
	marked(t, p, dir, "uas", "bye", 10*time.Second)
}

// incomingDepthXML: SIPp calls the gateway's direct account [service].
// Its first INVITE asks for a 60 s session and must get 422 with Min-SE
// 90; the second asks for 90 s and requires 100rel: the 180 must come
// with RSeq and is PRACKed with RAck. The test answers; the 200 must
// carry Session-Expires with refresher=uac (SIPp refreshes) and Require:
// timer. SIPp then refreshes with a re-INVITE without SDP, whose 200 must
// carry an offer (answered in the ACK) and the session timer. SIPp then
// holds the call with an UPDATE (RFC 3311) whose 200 must answer
// recvonly, and refreshes the session with an UPDATE without SDP whose
// 200 must state the session timer; the gateway's BYE when the phone
// hangs up ends it.
var incomingDepthXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart depth incoming">
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Supported: timer
Session-Expires: 60
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="422">
    <action>
      <ereg regexp="^ *90" search_in="hdr" header="Min-SE:" check_it="true" assign_to="minse"/>
      <log message="422 min-se [$minse]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
` + sippMark("uac", "422") + `  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Supported: timer, 100rel
Require: 100rel
Session-Expires: 90
Min-SE: 90
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" rrs="true">
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="RSeq:" check_it="true" assign_to="rseq"/>
      <ereg regexp="100rel" search_in="hdr" header="Require:" check_it="true" assign_to="req"/>
      <log message="180 rseq [$rseq] [$req]"/>
    </action>
  </recv>
  <send retrans="500">
    <![CDATA[
PRACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 3 PRACK
RAck: [$rseq] 2 INVITE
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv response="200" crlf="true"/>
` + sippMark("uac", "prack") + `  <recv response="200" rrs="true">
    <action>
      <ereg regexp="^ *90;refresher=uac" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="se"/>
      <ereg regexp="timer" search_in="hdr" header="Require:" check_it="true" assign_to="rt"/>
      <log message="200 session [$se] [$rt]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
` + sippMark("uac", "answered") + `  <pause milliseconds="1000"/>
  <send retrans="500">
    <![CDATA[
INVITE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 4 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Supported: timer
Session-Expires: 90;refresher=uac
Content-Length: 0

]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP" search_in="body" check_it="true" assign_to="offer"/>
      <ereg regexp="^ *90;refresher=uac" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="se2"/>
      <log message="refresh offer [$offer] [$se2]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 4 ACK
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
` + sippMark("uac", "refreshed") + `  <send retrans="500">
    <![CDATA[
UPDATE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 5 UPDATE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `a=sendonly
]]>
  </send>
  <recv response="200">
    <action>
      <ereg regexp="a=recvonly" search_in="body" check_it="true" assign_to="held"/>
      <log message="update hold [$held]"/>
    </action>
  </recv>
` + sippMark("uac", "update-hold") + `  <send retrans="500">
    <![CDATA[
UPDATE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 6 UPDATE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Supported: timer
Session-Expires: 90;refresher=uac
Content-Length: 0

]]>
  </send>
  <recv response="200">
    <action>
      <ereg regexp="^ *90;refresher=uac" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="se3"/>
      <log message="update refresh [$se3]"/>
    </action>
  </recv>
` + sippMark("uac", "update-refresh") + `  <recv request="BYE"/>
` + sippOK + sippMark("uac", "bye") + `</scenario>
`

// TestInteropDepthIncoming: SIPp calls the gateway: 422 for a session
// interval below 90 s, a reliable 180 PRACKed, session timers negotiated
// with SIPp refreshing, and the refresh a re-INVITE without SDP answered
// with an offer in the 200, then an UPDATE holding the call and one
// refreshing the session. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run 'TestInteropDepthIncoming' ./tools/lab/
func TestInteropDepthIncoming(t *testing.T) {
	Need(t, "sipp")
	dir := t.TempDir()
	g := StartGateway(t, GatewayOpts{Config: depthConfig("", "")})
	p := depthSIPp(t, dir, "incoming", incomingDepthXML, FreePort(t, 1), g.SIP, "-s", "1001", "-m", "1",
		"-timeout", "60s", "-recv_timeout", "30000")
	marked(t, p, dir, "uac", "422", 10*time.Second)
	Eventually(t, 10*time.Second, "the reliable 180 rings the phone", func() error {
		if ph := g.Phone(t, 1); !ph.Ringing {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	marked(t, p, dir, "uac", "prack", 10*time.Second)
	g.Hook(t, 1, "off")
	marked(t, p, dir, "uac", "answered", 10*time.Second)
	marked(t, p, dir, "uac", "refreshed", 10*time.Second)
	if st := g.PortStatus(t, 1).State; st != "talking" {
		t.Errorf("state %s after the refresh", st)
	}
	marked(t, p, dir, "uac", "update-hold", 10*time.Second)
	marked(t, p, dir, "uac", "update-refresh", 10*time.Second)
	if st := g.PortStatus(t, 1).State; st != "talking" {
		t.Errorf("state %s after the UPDATEs", st)
	}
	g.Hook(t, 1, "on")
	marked(t, p, dir, "uac", "bye", 10*time.Second)
}

// refresherUASXML: SIPp answers the gateway's INVITE (Session-Expires
// offered) with a 90 s session the caller refreshes; the gateway's
// refresh re-INVITE (due at 45 s) gets 491 Request Pending, and its
// retry after the back-off a 200; the phone's BYE ends the call.
var refresherUASXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart refresher and glare">
` + sippRegistrarHead + `  <recv request="INVITE">
    <action>
      <ereg regexp="timer" search_in="hdr" header="Supported:" check_it="true" assign_to="tm"/>
      <ereg regexp="[0-9]+" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="se"/>
      <log message="invite [$tm] [$se]"/>
    </action>
  </recv>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]uas[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port]>
Require: timer
Session-Expires: 90;refresher=uac
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv request="ACK"/>
` + sippMark("refresh", "answered") + `  <recv request="INVITE" timeout="60000">
    <action>
      <ereg regexp="^ *90;refresher=uac" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="se1"/>
      <log message="refresh [$se1]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
SIP/2.0 491 Request Pending
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
  <recv request="ACK"/>
` + sippMark("refresh", "491") + `  <recv request="INVITE" timeout="10000"/>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port]>
Require: timer
Session-Expires: 90;refresher=uac
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv request="ACK"/>
` + sippMark("refresh", "retried") + `  <recv request="BYE"/>
` + sippOK + sippMark("refresh", "bye") + `  <nop next="end"/>
` + sippRegistrarTail + `</scenario>
`

// TestInteropDepthRefresher: SIPp's 200 makes the gateway the session
// refresher with the smallest interval, 90 s: it re-INVITEs at half of
// it, gets 491, backs off 2.1 to 4 s (it chose the Call-ID) and succeeds.
// It takes about 50 s. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run 'TestInteropDepthRefresher' ./tools/lab/
func TestInteropDepthRefresher(t *testing.T) {
	Need(t, "sipp")
	dir := t.TempDir()
	port := FreePort(t, 1)
	p := depthSIPp(t, dir, "refresher", refresherUASXML, port, "")
	g := StartGateway(t, GatewayOpts{Config: depthConfig(fmt.Sprintf("127.0.0.1:%d", port), "")})
	waitRegistered(t, g, "1")
	g.OffHookAndDial(t, 1, "2000#")
	marked(t, p, dir, "refresh", "answered", 10*time.Second)
	start := time.Now()
	marked(t, p, dir, "refresh", "491", 60*time.Second)
	if d := time.Since(start); d < 40*time.Second {
		t.Errorf("refreshed after %v, want about 45 s (half of 90)", d)
	}
	glare := time.Now()
	marked(t, p, dir, "refresh", "retried", 10*time.Second)
	if d := time.Since(glare); d < 2*time.Second {
		t.Errorf("retried %v after the 491, want 2.1 to 4 s", d)
	}
	if st := g.PortStatus(t, 1).State; st != "talking" {
		t.Errorf("state %s after the refresh", st)
	}
	g.Hook(t, 1, "on")
	marked(t, p, dir, "refresh", "bye", 10*time.Second)
}

// redirectXML: SIPp, the registrar, answers the gateway's INVITE with
// 302 to the second SIPp (@TARGET@).
var redirectXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart redirect">
` + sippRegistrarHead + `  <recv request="INVITE"/>
  <send>
    <![CDATA[
SIP/2.0 302 Moved Temporarily
[last_Via:]
[last_From:]
[last_To:];tag=[pid]uas[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:nowhere@127.0.0.1:9>;q=0.1, <sip:2001@@TARGET@>;q=0.9
Content-Length: 0

]]>
  </send>
  <recv request="ACK">
    <action>
      <exec command="echo 302 >> @DIR@/redirect"/>
    </action>
  </recv>
  <nop next="end"/>
` + sippRegistrarTail + `</scenario>
`

// answerXML: SIPp answers an INVITE and waits for the BYE.
var answerXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart answer">
  <recv request="INVITE">
    <action>
      <ereg regexp="INVITE sip:2001@" search_in="msg" check_it="true" assign_to="ruri"/>
      <log message="ruri [$ruri]"/>
    </action>
  </recv>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]uas[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:sipp@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv request="ACK"/>
` + sippMark("target", "answered") + `  <recv request="BYE"/>
` + sippOK + sippMark("target", "bye") + `</scenario>
`

// TestInteropDepthRedirect: the gateway's call gets 302 with two
// Contacts; it follows the one of higher q to the second SIPp, which
// answers; hanging up sends the BYE there. Run alone with:
//
//	flock /tmp/lab.lock go test -count=1 -run 'TestInteropDepthRedirect' ./tools/lab/
func TestInteropDepthRedirect(t *testing.T) {
	Need(t, "sipp")
	dir := t.TempDir()
	port, port2 := FreePort(t, 1), FreePort(t, 1)
	target := depthSIPp(t, dir, "target", answerXML, port2, "")
	p := depthSIPp(t, dir, "redirect", strings.ReplaceAll(redirectXML, "@TARGET@", fmt.Sprintf("127.0.0.1:%d", port2)), port, "")
	g := StartGateway(t, GatewayOpts{Config: depthConfig(fmt.Sprintf("127.0.0.1:%d", port), "")})
	waitRegistered(t, g, "1")
	g.OffHookAndDial(t, 1, "2000#")
	marked(t, p, dir, "redirect", "302", 10*time.Second)
	marked(t, target, dir, "target", "answered", 10*time.Second)
	Eventually(t, 5*time.Second, "talking", func() error {
		if st := g.PortStatus(t, 1).State; st != "talking" {
			return fmt.Errorf("state %s", st)
		}
		return nil
	})
	g.Hook(t, 1, "on")
	marked(t, target, dir, "target", "bye", 10*time.Second)
}
