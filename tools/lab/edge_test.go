package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEdge is the proof that the gateway is locked to its servers and
// cannot be enumerated, against real tools on 127.0.0.1:
//
//   - sipvicious' svwar, from a source port of its own, finds the users of
//     the lab Kamailio (the positive control) and nothing on the gateway
//     registered to it, whatever the method;
//   - a ghost INVITE sent by SIPp straight to the gateway — to the
//     account's user, to its registered Contact user and to an unknown
//     user — never rings the phone, and all three get the same answer, the
//     one a stranger's OPTIONS gets too, with no version in it; the same
//     INVITE relayed by Kamailio rings (the positive control);
//   - with <ignore-strangers> the stranger hears nothing at all;
//   - with <direct-calls> (the lock off) svwar finds the accounts and the
//     ghost INVITE rings: the instruments above can see a regression.
//
// Run alone with:
//
//	go test ./tools/lab -run TestEdge -v
func TestEdge(t *testing.T) {
	Need(t, "kamailio", "kamcmd", "sipp")
	svwar := svwarPath(t)
	k := StartKamailio(t, KamailioOpts{})
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr)})
	for _, id := range []string{"1", "2"} {
		waitRegistered(t, g, id)
	}
	contact := contactUser(t, k, "1001")
	t.Logf("account 1001 registered Contact user %s", contact)

	t.Run("svwar", func(t *testing.T) {
		// On Kamailio, OPTIONS and INVITE find the users with a location
		// (the gateway's two accounts, answering through Kamailio) and 404
		// the others. The lab Kamailio challenges every REGISTER alike, so
		// REGISTER has no control there: it only checks the gateway.
		tests := []struct {
			method  string
			control []string
		}{
			{"OPTIONS", []string{"1001", "1002"}},
			{"INVITE", []string{"1001", "1002"}},
			{"REGISTER", nil},
		}
		for _, tt := range tests {
			t.Run(tt.method, func(t *testing.T) {
				if tt.control != nil {
					ctl := runSvwar(t, svwar, k.Addr, tt.method)
					if !ctl.answered {
						t.Fatalf("svwar -m %s got no answer from Kamailio:\n%s", tt.method, ctl.log)
					}
					for _, u := range tt.control {
						if !slices.Contains(ctl.found, u) {
							t.Fatalf("control: svwar -m %s finds %v on Kamailio, not %s: the scan proves nothing\n%s",
								tt.method, ctl.found, u, ctl.log)
						}
					}
				}
				gw := runSvwar(t, svwar, g.SIP, tt.method)
				if !gw.answered {
					t.Fatalf("svwar -m %s got no answer from the gateway: it scanned nothing\n%s", tt.method, gw.log)
				}
				if len(gw.found) != 0 {
					t.Errorf("svwar -m %s finds %v on the gateway\n%s", tt.method, gw.found, gw.log)
				}
			})
		}
		assertIdle(t, g, 1, 0, "after the scans")
		assertIdle(t, g, 2, 0, "after the scans")
	})

	t.Run("ghost-invite", func(t *testing.T) {
		dir := t.TempDir()
		var first []string
		var firstUser string
		for _, user := range []string{"1001", contact, "1999"} {
			got := sippStranger(t, g, dir, "invite-"+user, edgeInviteXML, g.SIP, user)
			if len(got) == 0 {
				t.Fatalf("INVITE to %s: no answer from the gateway", user)
			}
			if v := versionHeaders(got); len(v) != 0 {
				t.Errorf("a stranger's INVITE to %s is answered with a version: %v", user, v)
			}
			if first == nil {
				first, firstUser = got, user
				continue
			}
			if d := diffAnswers(first, got); d != "" {
				t.Errorf("a stranger's INVITE to %s and to %s get different answers: %s", firstUser, user, d)
			}
		}
		got := sippStranger(t, g, dir, "options-1001", edgeOptionsXML, g.SIP, "1001")
		if v := versionHeaders(got); len(v) != 0 {
			t.Errorf("a stranger's OPTIONS is answered with a version: %v", v)
		}
		if d := diffAnswers(first, got); d != "" {
			t.Errorf("a stranger's OPTIONS and INVITE get different answers: %s", d)
		}
		if n := strings.Count(g.Log(), `msg="sip incoming call"`); n != 0 {
			t.Errorf("the gateway logged %d incoming calls from strangers", n)
		}
	})

	t.Run("relayed-invite-rings", func(t *testing.T) {
		dir := t.TempDir()
		sf := filepath.Join(dir, "relayed.xml")
		if err := os.WriteFile(sf, []byte(edgeRelayedXML), 0o644); err != nil {
			t.Fatal(err)
		}
		p := Start(t, dir, "sipp", k.Addr, "-sf", sf, "-s", "1001", "-i", "127.0.0.1",
			"-p", fmt.Sprint(FreePort(t, 1)), "-mp", fmt.Sprint(FreePort(t, 2)),
			"-m", "1", "-timeout", "30s", "-timeout_error", "-recv_timeout", "20000", "-nostdin")
		Eventually(t, 10*time.Second, "phone 1 rings for Kamailio's INVITE", func() error {
			if p.Exited() {
				t.Fatalf("sipp ended before the phone rang:\n%s", tail(p.Log(), 30))
			}
			if ph := g.Phone(t, 1); !ph.Ringing || ph.Rings < 1 {
				return fmt.Errorf("ringing=%v rings=%d", ph.Ringing, ph.Rings)
			}
			return nil
		})
		g.Hook(t, 1, "off")
		waitExit(t, p, 20*time.Second)
		if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("sipp exit %d: the relayed call did not complete:\n%s", code, tail(p.Log(), 30))
		}
		g.Hook(t, 1, "on")
	})

	t.Run("ignore-strangers", func(t *testing.T) {
		gi := StartGateway(t, GatewayOpts{Config: edgeConfig(k.Addr, "1003", "secret3", "<ignore-strangers>true</ignore-strangers>")})
		waitRegistered(t, gi, "1")
		ci := contactUser(t, k, "1003")
		dir := t.TempDir()
		for _, user := range []string{"1003", ci, "1999"} {
			if got := sippStranger(t, gi, dir, "invite-"+user, edgeInviteXML, gi.SIP, user); len(got) != 0 {
				t.Errorf("INVITE to %s: a stranger got an answer:\n%s", user, strings.Join(got, "\n\n"))
			}
		}
		if got := sippStranger(t, gi, dir, "options", edgeOptionsXML, gi.SIP, "1003"); len(got) != 0 {
			t.Errorf("OPTIONS: a stranger got an answer:\n%s", strings.Join(got, "\n\n"))
		}
		for _, m := range []string{"REGISTER", "OPTIONS", "INVITE"} {
			if r := runSvwar(t, svwar, gi.SIP, m); r.answered || len(r.found) != 0 {
				t.Errorf("svwar -m %s: the gateway answered a stranger (found %v)\n%s", m, r.found, r.log)
			}
		}
	})

	t.Run("control-direct-calls", func(t *testing.T) {
		// The lock off: the same instruments must see the accounts.
		gd := StartGateway(t, GatewayOpts{Config: edgeConfig(k.Addr, "1004", "secret4", "<direct-calls>true</direct-calls>")})
		waitRegistered(t, gd, "1")
		r := runSvwar(t, svwar, gd.SIP, "INVITE")
		if !slices.Contains(r.found, "1004") {
			t.Errorf("svwar -m INVITE finds %v on a gateway taking direct calls, not 1004: the scan cannot see a regression\n%s", r.found, r.log)
		}
		dir := t.TempDir()
		sf := filepath.Join(dir, "ghost.xml")
		if err := os.WriteFile(sf, []byte(edgeInviteXML), 0o644); err != nil {
			t.Fatal(err)
		}
		p := Start(t, dir, "sipp", gd.SIP, "-sf", sf, "-s", "1004", "-i", "127.0.0.1",
			"-p", fmt.Sprint(FreePort(t, 1)), "-mp", fmt.Sprint(FreePort(t, 2)),
			"-m", "1", "-timeout", "20s", "-recv_timeout", "15000", "-nostdin")
		Eventually(t, 10*time.Second, "a direct INVITE rings phone 1", func() error {
			if ph := gd.Phone(t, 1); !ph.Ringing || ph.Rings < 1 {
				return fmt.Errorf("ringing=%v rings=%d", ph.Ringing, ph.Rings)
			}
			return nil
		})
		p.Stop()
	})
}

// edgeConfig is a one-account, one-port config for user at the registrar
// addr, with sip added inside <sip>.
func edgeConfig(addr, user, password, sip string) string {
	return fmt.Sprintf(`<loopstart>
  <sip>%s</sip>
  <account id="1"><registrar>sip:%s</registrar><user>%s</user><password>%s</password></account>
  <port n="1" account="1"/>
</loopstart>
`, sip, addr, user, password)
}

// edgeInviteXML is a SIPp scenario: one INVITE with a G.711 offer from a
// stranger; whatever final answer comes is ACKed. No answer at all ends
// the call at -recv_timeout.
const edgeInviteXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart edge INVITE">
  <send retrans="500">
    <![CDATA[
` + sippInviteHead + `
` + sippSDP + `]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="403" optional="true" next="ack"/>
  <recv response="404" optional="true" next="ack"/>
  <recv response="480" optional="true" next="ack"/>
  <recv response="486" optional="true" next="ack"/>
  <recv response="488" optional="true" next="ack"/>
  <recv response="603" next="ack"/>
  <label id="ack"/>
` + sippACKFailure + `</scenario>
`

// edgeOptionsXML is a SIPp scenario: one OPTIONS from a stranger.
const edgeOptionsXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart edge OPTIONS">
  <send retrans="500">
    <![CDATA[
OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

]]>
  </send>
  <recv response="200" optional="true" next="end"/>
  <recv response="403" optional="true" next="end"/>
  <recv response="404" next="end"/>
  <label id="end"/>
</scenario>
`

// edgeRelayedXML is a SIPp scenario: a call to [service] through the
// registrar, answered by the test taking the phone off hook, ACKed and
// hung up along the route Kamailio recorded.
const edgeRelayedXML = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="loopstart edge relayed INVITE">
  <send retrans="500">
    <![CDATA[
` + sippInviteHead + `
` + sippSDP + `]]>
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
  <pause milliseconds="200"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
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

// svwarPath finds sipvicious' svwar: svwar in Debian's package,
// sipvicious_svwar in newer ones.
func svwarPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"svwar", "sipvicious_svwar"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Need(t, "svwar")
	return ""
}

// svwarResult is what one svwar scan saw.
type svwarResult struct {
	// found are the extensions svwar reports.
	found []string
	// answered is whether the target answered svwar's first probe (an
	// unknown extension): svwar then scanned the range.
	answered bool
	log      string
}

// svwarRow is a row of svwar's result table: | extension | authentication |.
var svwarRow = regexp.MustCompile(`^\|\s*(\S+)\s*\|\s*(\S+)\s*\|$`)

// runSvwar scans extensions 1000-1010 on target with method, from
// 127.0.0.1 and a source port of its own. --force makes it scan even when
// the first probe is challenged (Kamailio's 403 for an unknown REGISTER).
func runSvwar(t *testing.T, svwar, target, method string) svwarResult {
	t.Helper()
	host, port, _ := strings.Cut(target, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, svwar, "-v", "--force", "-m", method, "-e1000-1010",
		"-b", "127.0.0.1", "-P", fmt.Sprint(FreePort(t, 1)), "-p", port,
		"-t", "0.05", "--maximumtime", "3", host)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start svwar: %v", err)
	}
	start := time.Now()
	pid := cmd.Process.Pid
	defer func() { _ = syscall.Kill(-pid, syscall.SIGKILL) }() // whatever it left behind
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("svwar -m %s %s did not end within its bounds:\n%s", method, target, out.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("svwar: %v", err)
	}
	r := svwarResult{log: out.String()}
	r.answered = strings.Contains(r.log, "Ok SIP device found")
	sc := bufio.NewScanner(strings.NewReader(r.log))
	for sc.Scan() {
		m := svwarRow.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m != nil && m[1] != "Extension" {
			r.found = append(r.found, m[1])
		}
	}
	t.Logf("svwar -m %s %s: answered=%v found=%v in %v", method, target, r.answered, r.found, time.Since(start).Round(time.Millisecond))
	return r
}

// waitRegistered waits until account id of g is registered.
func waitRegistered(t *testing.T, g *Gateway, id string) {
	t.Helper()
	Eventually(t, 10*time.Second, "account "+id+" registered", func() error {
		if a := g.Account(t, id); a.State != "registered" {
			return fmt.Errorf("state %q (%s)", a.State, a.LastError)
		}
		return nil
	})
}

// contactUser reads the user part of the Contact user registered in
// Kamailio's location table.
func contactUser(t *testing.T, k *Kamailio, user string) string {
	t.Helper()
	locs, err := k.Locations()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(locs, "AoR: "+user)
	if !ok {
		t.Fatalf("no AoR %s in ul.dump:\n%s", user, locs)
	}
	if next := strings.Index(rest, "AoR: "); next >= 0 {
		rest = rest[:next]
	}
	m := regexp.MustCompile(`Address: sips?:([^@>;\s]+)@`).FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("no contact for %s in ul.dump:\n%s", user, locs)
	}
	if m[1] == user {
		t.Fatalf("%s registered its own user as the Contact user:\n%s", user, rest)
	}
	return m[1]
}

// sippStranger sends one request of scenario xml to target for user from
// SIPp on 127.0.0.1 and a port of its own, watches phone 1 of g stay idle
// while SIPp runs and for 2 s after, and returns every message SIPp
// received.
func sippStranger(t *testing.T, g *Gateway, dir, name, xml, target, user string) []string {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	sf := filepath.Join(d, "scenario.xml")
	if err := os.WriteFile(sf, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs := filepath.Join(d, "messages.log")
	p := Start(t, d, "sipp", target, "-sf", sf, "-s", user, "-i", "127.0.0.1",
		"-p", fmt.Sprint(FreePort(t, 1)), "-mp", fmt.Sprint(FreePort(t, 2)),
		"-m", "1", "-timeout", "20s", "-recv_timeout", "3000", "-nostdin",
		"-trace_msg", "-message_file", msgs)
	var end time.Time
	for {
		assertIdle(t, g, 1, 0, "a stranger's "+name)
		if end.IsZero() && p.Exited() {
			end = time.Now().Add(2 * time.Second) // the ring would have started by then
		}
		if !end.IsZero() && time.Now().After(end) {
			break
		}
		time.Sleep(100 * time.Millisecond) // the poll interval
	}
	b, err := os.ReadFile(msgs)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return receivedMessages(string(b))
}

// waitExit waits until p ends.
func waitExit(t *testing.T, p *Proc, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, p.Name+" ends", func() error {
		if !p.Exited() {
			return errors.New("still running")
		}
		return nil
	})
}

// assertIdle fails the test, saying what was going on, when phone n of g
// rings or its line is not idle; rings is the ring count it may show from
// an earlier call.
func assertIdle(t *testing.T, g *Gateway, n, rings int, what string) {
	t.Helper()
	ph := g.Phone(t, n)
	st := g.Status(t).Ports[n-1].State
	if ph.Ringing || ph.Rings > rings || st != "idle" {
		t.Fatalf("%s: phone %d: ringing=%v rings=%d line %s", what, n, ph.Ringing, ph.Rings, st)
	}
}

// receivedMessages extracts the messages SIPp's -trace_msg log shows it
// received.
func receivedMessages(log string) []string {
	var out []string
	for _, block := range strings.Split(log, "\n----------------------------------------------- ") {
		head, msg, ok := strings.Cut(block, "\n\n")
		if !ok || !strings.Contains(head, "message received") {
			continue
		}
		out = append(out, strings.TrimSpace(strings.ReplaceAll(msg, "\r\n", "\n")))
	}
	return out
}

// echoed are the header fields an answer copies from its request (or
// makes unique to it): answers are compared without their values.
var echoed = map[string]bool{"via": true, "v": true, "from": true, "f": true, "to": true, "t": true,
	"call-id": true, "i": true, "cseq": true}

// canonAnswer is an answer's status line and header fields, in order,
// with the echoed fields' values left out.
func canonAnswer(msg string) []string {
	lines := strings.Split(msg, "\n")
	out := []string{strings.TrimSpace(lines[0])}
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		name, value, _ := strings.Cut(l, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if echoed[name] {
			out = append(out, name)
			continue
		}
		out = append(out, name+": "+strings.TrimSpace(value))
	}
	return out
}

// diffAnswers describes how two runs' answers differ, "" when they match.
func diffAnswers(a, b []string) string {
	ca, cb := make([]string, len(a)), make([]string, len(b))
	for i, m := range a {
		ca[i] = strings.Join(canonAnswer(m), "\n")
	}
	for i, m := range b {
		cb[i] = strings.Join(canonAnswer(m), "\n")
	}
	if slices.Equal(ca, cb) {
		return ""
	}
	return fmt.Sprintf("\n---\n%s\n--- vs ---\n%s", strings.Join(ca, "\n\n"), strings.Join(cb, "\n\n"))
}

// productHeaders name the sender's software.
var productHeaders = regexp.MustCompile(`(?im)^(server|user-agent|warning|organization)\s*:(.*)$`)

// devBuild is the version a build without one reports.
var devBuild = regexp.MustCompile(`(?i)\bdev\b`)

// versionHeaders lists the header fields of msgs that name a software
// version: a digit or the development build's "dev" in Server,
// User-Agent, Warning or Organization.
func versionHeaders(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		for _, h := range productHeaders.FindAllStringSubmatch(strings.ReplaceAll(m, "\r", ""), -1) {
			if strings.ContainsAny(h[2], "0123456789") || devBuild.MatchString(h[2]) {
				out = append(out, strings.TrimSpace(h[0]))
			}
		}
	}
	return out
}

// sippTrace is what SIPp's -trace_msg writes for one INVITE and its 404.
const sippTrace = "----------------------------------------------- 2026-12-01\t19:40:08.808000\n" +
	"UDP message sent (420 bytes):\n\nINVITE sip:1001@127.0.0.1:5060 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\n\n" +
	"\n----------------------------------------------- 2026-12-01\t19:40:08.809000\n" +
	"UDP message received [230] bytes :\n\nSIP/2.0 404 Not Found\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
	"To: <sip:1001@127.0.0.1>;tag=x\r\nCSeq: 1 INVITE\r\nUser-Agent: Loopstart\r\nContent-Length: 0\r\n\r\n\n"

// TestEdgeAnswers checks the edge test's own instruments: SIPp's trace
// parsed, answers compared without what they echo, versions spotted.
func TestEdgeAnswers(t *testing.T) {
	got := receivedMessages(sippTrace)
	if len(got) != 1 || !strings.HasPrefix(got[0], "SIP/2.0 404 Not Found\nVia:") {
		t.Fatalf("received %q", got)
	}
	base := "SIP/2.0 404 Not Found\nVia: a\nTo: <sip:1001@x>;tag=1\nCSeq: 1 INVITE\nUser-Agent: Loopstart\nContent-Length: 0"
	tests := []struct {
		name, other string
		same        bool
		versions    int
	}{
		{"echoed fields differ", "SIP/2.0 404 Not Found\nVia: b\nTo: <sip:1999@x>;tag=2\nCSeq: 2 OPTIONS\nUser-Agent: Loopstart\nContent-Length: 0", true, 0},
		{"status differs", strings.Replace(base, "404 Not Found", "480 Temporarily Unavailable", 1), false, 0},
		{"a header more", base + "\nAllow: INVITE", false, 0},
		{"header order", "SIP/2.0 404 Not Found\nVia: a\nTo: <sip:1001@x>;tag=1\nCSeq: 1 INVITE\nContent-Length: 0\nUser-Agent: Loopstart", false, 0},
		{"a versioned User-Agent", strings.Replace(base, "Loopstart", "Loopstart/1.4.2", 1), false, 1},
		{"a dev Server", base + "\nServer: loopstart dev", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := diffAnswers([]string{base}, []string{tt.other}); (d == "") != tt.same {
				t.Errorf("same=%v, want %v: %s", d == "", tt.same, d)
			}
			if v := versionHeaders([]string{tt.other}); len(v) != tt.versions {
				t.Errorf("versions %q, want %d", v, tt.versions)
			}
		})
	}
	if d := diffAnswers([]string{base}, nil); d == "" {
		t.Error("an answer and none compare equal")
	}
}
