package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
)

// callerIDConfig is ContractConfig with port 1 in country and, when set,
// the port's caller-id override.
func callerIDConfig(addr, country, callerID string) string {
	port := "<port n=\"1\" account=\"1\"><country>" + country + "</country>"
	if callerID != "" {
		port += "<caller-id>" + callerID + "</caller-id>"
	}
	port += "</port>"
	return strings.Replace(ContractConfig(addr), `<port n="1" account="1"/>`, port, 1)
}

// TestInteropCallerID: baresip ("Ada Lovelace", user 1003) calls port 1
// through Kamailio; the virtual phone decodes the caller ID the line
// sends (Bell 202 in the US, V.23 with line reversal and DT-AS in the UK,
// both with the name and date; DTMF by the port's override, the number
// alone) with its own demodulators; a caller whose
// From says Anonymous shows as private. Run alone with:
//
//	go test ./tools/lab -run TestInteropCallerID -v
func TestInteropCallerID(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "baresip")
	k := StartKamailio(t, KamailioOpts{})
	for _, tc := range []struct {
		name, country, override, display string
		want                             simapi.CallerID
	}{
		{"bell202-us", "us", "", "Ada Lovelace", simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Standard: "bell202"}},
		{"v23-uk", "uk", "", "Ada Lovelace", simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Standard: "v23"}},
		{"dtmf-override", "de", "dtmf", "Ada Lovelace", simapi.CallerID{Number: "1003", Standard: "dtmf"}},
		{"anonymous-us", "us", "", "Anonymous", simapi.CallerID{Standard: "bell202", Private: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := StartBaresip(t, BaresipOpts{User: "1003", Password: "secret3", Registrar: k.Addr, DisplayName: tc.display})
			g := StartGateway(t, GatewayOpts{Config: callerIDConfig(k.Addr, tc.country, tc.override)})
			Eventually(t, 10*time.Second, "account 1 registered", func() error {
				if a := g.Account(t, "1"); a.State != "registered" {
					return fmt.Errorf("state %q (%s)", a.State, a.LastError)
				}
				return nil
			})
			if err := b.Command("dial", "sip:1001@"+k.Addr); err != nil {
				t.Fatal(err)
			}
			var got *simapi.CallerID
			Eventually(t, 15*time.Second, "phone 1 shows the caller", func() error {
				p := g.Phone(t, 1)
				if got = p.CallerID; got == nil {
					return fmt.Errorf("no caller id yet (ringing %v, rings %d)", p.Ringing, p.Rings)
				}
				return nil
			})
			if !p1Ringing(t, g) {
				t.Error("phone 1 is not ringing")
			}
			tm := got.Time
			got.Time = ""
			if *got != tc.want {
				t.Errorf("phone 1 shows %+v, want %+v", *got, tc.want)
			}
			// DTMF caller ID (ES 200 778) carries the number alone: the
			// comparison above holds the name empty, and there is no date.
			if tc.want.Standard == "dtmf" {
				if tm != "" {
					t.Errorf("DTMF caller id shows the time %q; the standard carries none", tm)
				}
			} else {
				now := time.Now()
				if !strings.HasPrefix(tm, now.Format("0102")) && !strings.HasPrefix(tm, now.Add(-time.Hour).Format("0102")) {
					t.Errorf("caller id time %q, want today's date %s", tm, now.Format("0102"))
				}
			}
			_ = b.Command("hangup", "")
		})
	}
}

func p1Ringing(t *testing.T, g *Gateway) bool {
	ok := false
	Eventually(t, 10*time.Second, "phone 1 rings", func() error {
		if ok = g.Phone(t, 1).Ringing; !ok {
			return fmt.Errorf("not ringing")
		}
		return nil
	})
	return ok
}

// TestInteropCallerIDPrivacy: SIPp calls port 1 (US, Bell 202) through
// Kamailio with the identity headers a PBX sends: an RFC 3325 anonymous
// From with "Privacy: id", a P-Asserted-Identity naming someone other
// than the From, and a known From withheld by "Privacy: id" alone. The
// virtual phone shows private, the asserted number and name, and private.
func TestInteropCallerIDPrivacy(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "sipp")
	k := StartKamailio(t, KamailioOpts{})
	g := StartGateway(t, GatewayOpts{Config: callerIDConfig(k.Addr, "us", "")})
	waitRegistered(t, g, "1")
	for _, tc := range []struct {
		name, from, headers string
		want                simapi.CallerID
	}{
		{"anonymous-privacy-id", `"Anonymous" <sip:anonymous@anonymous.invalid>`, "Privacy: id\r\n",
			simapi.CallerID{Standard: "bell202", Private: true}},
		{"asserted-identity", `"Front Desk" <sip:7000@pbx.example.org>`, "P-Asserted-Identity: \"Grace Hopper\" <sip:5550100@pbx.example.org>\r\n",
			simapi.CallerID{Number: "5550100", Name: "Grace Hopper", Standard: "bell202"}},
		{"privacy-id-alone", `"Ada Lovelace" <sip:1003@pbx.example.org>`, "Privacy: id\r\n",
			simapi.CallerID{Standard: "bell202", Private: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sf := filepath.Join(dir, "identity.xml")
			xml := strings.NewReplacer("@FROM@", tc.from, "@HEADERS@", strings.TrimSuffix(tc.headers, "\r\n")).Replace(identityCallXML)
			if err := os.WriteFile(sf, []byte(xml), 0o644); err != nil {
				t.Fatal(err)
			}
			p := Start(t, dir, "sipp", k.Addr, "-sf", sf, "-s", "1001", "-i", "127.0.0.1",
				"-p", fmt.Sprint(FreePort(t, 1)), "-mp", fmt.Sprint(FreePort(t, 2)),
				"-m", "1", "-timeout", "30s", "-timeout_error", "-recv_timeout", "20000", "-nostdin")
			// By the second ring the caller ID of the first silent
			// interval is in; each case shows something other than the
			// one before.
			var got simapi.CallerID
			Eventually(t, 15*time.Second, "phone 1 shows the caller", func() error {
				if p.Exited() {
					t.Fatalf("sipp ended before the phone showed the caller:\n%s", tail(p.Log(), 30))
				}
				ph := g.Phone(t, 1)
				if !ph.Ringing || ph.Rings < 2 || ph.CallerID == nil {
					return fmt.Errorf("no caller id (ringing %v, rings %d)", ph.Ringing, ph.Rings)
				}
				got = *ph.CallerID
				got.Time = ""
				if got != tc.want {
					return fmt.Errorf("shows %+v, want %+v", got, tc.want)
				}
				return nil
			})
			g.Hook(t, 1, "off")
			waitExit(t, p, 20*time.Second)
			if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("sipp exit %d: the call did not complete:\n%s", code, tail(p.Log(), 30))
			}
			g.Hook(t, 1, "on")
			g.WaitIdle(t, 1)
		})
	}
}

// identityCallXML is a SIPp scenario: a call to [service] through the
// registrar from @FROM@ with the extra headers @HEADERS@, answered by the
// test taking the phone off hook, then ACKed and hung up.
const identityCallXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart caller identity">
  <send retrans="500">
    <![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: @FROM@;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
@HEADERS@
Content-Type: application/sdp
Content-Length: [len]

` + sippSDP + `]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: @FROM@;tag=[pid]SIPpTag[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: @FROM@;tag=[pid]SIPpTag[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv response="200"/>
</scenario>
`
