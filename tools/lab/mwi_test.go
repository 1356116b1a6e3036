package lab

import (
	"fmt"
	"math"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// notifyPeer is a SIP peer on its own UDP port that sends NOTIFYs and
// reads their final answers.
type notifyPeer struct {
	c   *net.UDPConn
	seq int
}

func newNotifyPeer(t *testing.T) *notifyPeer {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: FreePort(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &notifyPeer{c: c}
}

// notify sends a NOTIFY to ruri (at the SIP address to) and returns the
// final answer, "" when none came.
func (p *notifyPeer) notify(t *testing.T, to, ruri, event, body, auth string) string {
	t.Helper()
	p.seq++
	local := p.c.LocalAddr().String()
	extra := ""
	if body != "" {
		extra += "Content-Type: application/simple-message-summary\r\n"
	}
	if auth != "" {
		extra += "Authorization: " + auth + "\r\n"
	}
	msg := fmt.Sprintf("NOTIFY %s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK-mwi%d-%d\r\n"+
		"From: <sip:voicemail@pbx.example.net>;tag=vm%d\r\n"+
		"To: <sip:1001@pbx.example.net>\r\n"+
		"Call-ID: mwi-%d-%d@lab\r\n"+
		"CSeq: %d NOTIFY\r\n"+
		"Max-Forwards: 70\r\n"+
		"Contact: <sip:voicemail@%s>\r\n"+
		"Event: %s\r\n"+
		"Subscription-State: active\r\n%s"+
		"Content-Length: %d\r\n\r\n%s",
		ruri, local, time.Now().UnixNano(), p.seq, p.seq, time.Now().UnixNano(), p.seq, p.seq, local, event, extra, len(body), body)
	ua, err := net.ResolveUDPAddr("udp4", to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.c.WriteToUDP([]byte(msg), ua); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.c.SetReadDeadline(deadline)
		n, err := p.c.Read(buf)
		if err != nil {
			return ""
		}
		res := string(buf[:n])
		if f := strings.Fields(res); len(f) > 1 && f[0] == "SIP/2.0" && f[1] >= "200" && strings.Contains(res, fmt.Sprintf("CSeq: %d NOTIFY", p.seq)) {
			return res
		}
	}
}

func statusLine(res string) string {
	line, _, _ := strings.Cut(res, "\r\n")
	return line
}

var (
	labNonce = regexp.MustCompile(`nonce="[^"]*"`)
	labTag   = regexp.MustCompile(`;tag=[^;\r\n>]*`)
)

// answerShape is res without what names its request or its challenge.
func answerShape(res string) string {
	var keep []string
	for _, line := range strings.Split(res, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			continue
		}
		keep = append(keep, line)
	}
	s := labNonce.ReplaceAllString(strings.Join(keep, "\r\n"), `nonce="N"`)
	return labTag.ReplaceAllString(s, ";tag=T")
}

// contactOf is the Contact URI user registered in Kamailio's location table.
func contactOf(t *testing.T, k *Kamailio, user string) string {
	t.Helper()
	out, err := k.Locations()
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(out, "AoR: "+user)
	if !ok {
		t.Fatalf("no %s in the location table:\n%s", user, out)
	}
	m := regexp.MustCompile(`Address: (sip:[^\s]+)`).FindStringSubmatch(rest)
	if m == nil {
		t.Fatalf("no contact for %s:\n%s", user, out)
	}
	return m[1]
}

// credentials answers res's challenge of algorithm alg for a NOTIFY to uri.
func credentials(t *testing.T, res, alg, uri, user, pass string, nc int) string {
	t.Helper()
	for _, line := range strings.Split(res, "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		if !strings.EqualFold(strings.TrimSpace(name), "WWW-Authenticate") {
			continue
		}
		chal, err := digest.ParseChallenge(strings.TrimSpace(value))
		if err != nil {
			t.Fatal(err)
		}
		if chal.Algorithm != alg {
			continue
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "NOTIFY", URI: uri, Username: user, Password: pass, Count: nc})
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}
	t.Fatalf("no %s challenge in\n%s", alg, res)
	return ""
}

// TestInteropMessageWaiting: a voicemail server's message-summary NOTIFY,
// relayed by Kamailio to the gateway's registered contact, turns port 1's
// mwi on and a second turns it off; the same NOTIFY sent to the gateway
// by a stranger changes nothing. A check-sync NOTIFY relayed by Kamailio
// is digest-challenged: the right password passes once, its replay is
// refused, a wrong password is answered like an unknown user, and after
// five failures the right password is refused with that same answer.
func TestInteropMessageWaiting(t *testing.T) {
	Need(t, "kamailio", "kamcmd")
	k := StartKamailio(t, KamailioOpts{})
	g := StartGateway(t, GatewayOpts{Config: ContractConfig(k.Addr)})
	for _, user := range []string{"1001", "1002"} {
		Eventually(t, 10*time.Second, user+" in kamailio's location table", func() error {
			ok, err := k.Registered(user)
			if err != nil || !ok {
				return fmt.Errorf("registered=%v err=%v", ok, err)
			}
			return nil
		})
	}
	mwi := func(port int) bool { return g.Status(t).Ports[port-1].MWI }
	vm := newNotifyPeer(t)
	via := "sip:1001@" + k.Addr
	const waiting = "Messages-Waiting: yes\r\nMessage-Account: sip:*97@pbx.example.net\r\nVoice-Message: 2/0 (1/0)\r\n"
	const none = "Messages-Waiting: no\r\nMessage-Account: sip:*97@pbx.example.net\r\nVoice-Message: 0/2 (0/0)\r\n"

	t.Run("a/relayed-message-summary", func(t *testing.T) {
		if res := vm.notify(t, k.Addr, via, "message-summary", waiting, ""); !strings.HasPrefix(res, "SIP/2.0 200") {
			t.Fatalf("lamp on: %q\n%s", statusLine(res), tail(k.Log(), 20))
		}
		if !mwi(1) || mwi(2) {
			t.Fatalf("mwi port 1 %v, port 2 %v after messages-waiting yes", mwi(1), mwi(2))
		}
		if res := vm.notify(t, k.Addr, via, "message-summary", none, ""); !strings.HasPrefix(res, "SIP/2.0 200") {
			t.Fatalf("lamp off: %q", statusLine(res))
		}
		if mwi(1) {
			t.Fatal("mwi still on after messages-waiting no")
		}
	})

	contact := contactOf(t, k, "1001")
	t.Run("b/stranger-message-summary", func(t *testing.T) {
		stranger := newNotifyPeer(t)
		for _, ruri := range []string{contact, "sip:1001@" + g.SIP} {
			res := stranger.notify(t, g.SIP, ruri, "message-summary", waiting, "")
			if !strings.HasPrefix(res, "SIP/2.0 404") {
				t.Errorf("stranger's NOTIFY to %s: %q", ruri, statusLine(res))
			}
			if mwi(1) {
				t.Fatalf("a stranger's NOTIFY to %s lit the lamp", ruri)
			}
		}
	})

	t.Run("c/relayed-check-sync", func(t *testing.T) {
		attacker := newNotifyPeer(t)
		send := func(auth string) string {
			return attacker.notify(t, k.Addr, via, "check-sync", "", auth)
		}
		chal := send("")
		if !strings.HasPrefix(chal, "SIP/2.0 401") {
			t.Fatalf("check-sync without credentials: %q", statusLine(chal))
		}
		right := credentials(t, chal, "SHA-256", contact, "1001", "secret1", 1)
		if res := send(right); !strings.HasPrefix(res, "SIP/2.0 200") {
			t.Fatalf("right password: %q", statusLine(res))
		}
		// 1: the same request again.
		replay := send(right)
		if !strings.HasPrefix(replay, "SIP/2.0 401") {
			t.Fatalf("replayed nonce: %q", statusLine(replay))
		}
		// 2, 3: a wrong password and an unknown user.
		chal = send("")
		wrong := send(credentials(t, chal, "SHA-256", contact, "1001", "guess", 1))
		chal = send("")
		unknown := send(credentials(t, chal, "SHA-256", contact, "admin", "secret1", 1))
		if answerShape(wrong) != answerShape(unknown) || !strings.HasPrefix(wrong, "SIP/2.0 401") {
			t.Fatalf("a wrong password answered\n%s\nan unknown user\n%s", wrong, unknown)
		}
		// 4, 5: the lockout's threshold.
		for range 2 {
			chal = send("")
			send(credentials(t, chal, "MD5", contact, "1001", "guess", 1))
		}
		chal = send("")
		locked := send(credentials(t, chal, "SHA-256", contact, "1001", "secret1", 1))
		if !strings.HasPrefix(locked, "SIP/2.0 401") {
			t.Fatalf("right password while locked out: %q", statusLine(locked))
		}
		if answerShape(locked) != answerShape(wrong) {
			t.Fatalf("locked out answered\n%s\na wrong password\n%s", locked, wrong)
		}
		if n := strings.Count(g.Log(), "resync asked by SIP NOTIFY"); n != 1 {
			t.Errorf("%d resyncs ran, want 1", n)
		}
	})
}

// TestInteropMessageWaitingPhone follows message waiting to the virtual
// phone: a message-summary NOTIFY relayed by Kamailio lights the phone's
// own lamp (the VMWI message the line sends on hook, decoded by the
// phone's FSK receiver) and the next off-hook hears stutter dial tone;
// a "no" puts the lamp out and dial tone is steady again. The state is
// kept in the data directory: a gateway restarted on it sends the lamp
// VMWI again, before any NOTIFY.
func TestInteropMessageWaitingPhone(t *testing.T) {
	Need(t, "kamailio", "kamcmd")
	k := StartKamailio(t, KamailioOpts{})
	cfg := ContractConfig(k.Addr)
	g := StartGateway(t, GatewayOpts{Config: cfg})
	waitRegistered(t, g, "1")
	vm := newNotifyPeer(t)
	via := "sip:1001@" + k.Addr
	const waiting = "Messages-Waiting: yes\r\nMessage-Account: sip:*97@pbx.example.net\r\nVoice-Message: 2/0 (1/0)\r\n"
	const none = "Messages-Waiting: no\r\nMessage-Account: sip:*97@pbx.example.net\r\nVoice-Message: 0/2 (0/0)\r\n"
	send := func(body string) {
		t.Helper()
		if res := vm.notify(t, k.Addr, via, "message-summary", body, ""); !strings.HasPrefix(res, "SIP/2.0 200") {
			t.Fatalf("NOTIFY: %q\n%s", statusLine(res), tail(k.Log(), 20))
		}
	}

	send(waiting)
	waitLamp(t, g, 1, true)
	if g.Phone(t, 2).MWI {
		t.Error("phone 2's lamp lit by port 1's mailbox")
	}
	if runs := offHookCadence(t, g, 1); !stutter(runs) {
		t.Errorf("with messages waiting, off hook hears on/off runs of %v (10 ms blocks), want stutter (10 × 100 ms on/off, then steady)", runs)
	}

	send(none)
	waitLamp(t, g, 1, false)
	if runs := offHookCadence(t, g, 1); len(runs) != 1 {
		t.Errorf("with no messages, off hook hears on/off runs of %v (10 ms blocks), want steady dial tone", runs)
	}

	send(waiting)
	waitLamp(t, g, 1, true)
	data := g.Data
	g.Stop()
	g = StartGateway(t, GatewayOpts{Config: cfg, Data: data})
	if g.Status(t).Ports[0].MWI != true {
		t.Error("after a restart, /api/status says port 1 has no messages waiting")
	}
	waitLamp(t, g, 1, true)
	if runs := offHookCadence(t, g, 1); !stutter(runs) {
		t.Errorf("after a restart, off hook hears on/off runs of %v (10 ms blocks), want stutter", runs)
	}
}

// waitLamp waits until phone n's message-waiting lamp is on (or off).
func waitLamp(t *testing.T, g *Gateway, n int, on bool) {
	t.Helper()
	Eventually(t, 10*time.Second, fmt.Sprintf("phone %d's lamp %v", n, on), func() error {
		if p := g.Phone(t, n); p.MWI != on {
			return fmt.Errorf("lamp %v (hook %s)", p.MWI, p.Hook)
		}
		return nil
	})
}

// offHookCadence waits for phone n to hear silence (so nothing on hook
// runs into what follows), takes it off hook, records what it hears until
// 2.8 s after the first tone, hangs up and returns the tone's cadence.
func offHookCadence(t *testing.T, g *Gateway, n int) []int {
	t.Helper()
	Eventually(t, 10*time.Second, fmt.Sprintf("phone %d hears silence on hook", n), func() error {
		if h := g.Phone(t, n).Hearing; h.LevelDBFS > -60 {
			return fmt.Errorf("hears %v at %.1f dBFS", h.TonesHz, h.LevelDBFS)
		}
		return nil
	})
	g.Hook(t, n, "off")
	defer g.Hook(t, n, "on")
	var runs []int
	Eventually(t, 10*time.Second, fmt.Sprintf("2.8 s of tone on phone %d", n), func() error {
		runs = cadence(heardWAV(t, g, n, 6000))
		total := 0
		for _, r := range runs {
			total += r
		}
		if total < 280 {
			return fmt.Errorf("%d ms since the first tone", total*10)
		}
		return nil
	})
	return runs
}

// cadence is the on/off pattern of the last tone in s: run lengths in
// 10 ms blocks, alternately on (over -40 dBFS) and off, from the first
// block on after 400 ms or more of silence.
func cadence(s []int16) []int {
	const block, silence = 80, 40
	var loud []bool
	for i := 0; i+block <= len(s); i += block {
		var e float64
		for _, v := range s[i : i+block] {
			e += float64(v) * float64(v)
		}
		loud = append(loud, math.Sqrt(e/block) > 32767*0.01)
	}
	start, quiet := -1, 0
	for i, l := range loud {
		if l && quiet >= silence {
			start = i
		}
		if l {
			quiet = 0
		} else {
			quiet++
		}
	}
	if start < 0 {
		return nil
	}
	runs := []int{0}
	on := true
	for _, l := range loud[start:] {
		if l != on {
			on = l
			runs = append(runs, 0)
		}
		runs[len(runs)-1]++
	}
	return runs
}

// stutter reports whether runs is a stutter dial tone's cadence: ten
// bursts of about 100 ms on and off (a block either way at their edges),
// then tone without a break.
func stutter(runs []int) bool {
	if len(runs) != 21 || runs[20] < 50 {
		return false
	}
	for _, r := range runs[:20] {
		if r < 8 || r > 12 {
			return false
		}
	}
	return true
}
