package sip

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// TestStrangersStateless: a stranger's requests outside a dialog get the
// answers they always got (404, the precheck's refusals, 481 for CANCEL)
// without reaching a handler, so without a sipgo server transaction; a
// retransmission gets the same answer byte for byte, the ACK of a refused
// INVITE is dropped, and the registrar and in-dialog requests still reach
// the handlers.
func TestStrangersStateless(t *testing.T) {
	reg := listenUDP(t)
	rec := newIncomingRec()
	u := lockedUA(t, Config{UserAgent: "Loopstart/test", Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.LocalAddr().String()},
	}}, rec, nil)
	waitTrustSettled(t, u)
	stranger := listenUDP(t)
	invite := func() string { return trustInvite(stranger, u, "1001", "1001") }
	tests := []struct {
		name, msg string
		want      string // status line
		header    string // a header line the answer must carry; "" = none
	}{
		{"INVITE to the account user", invite(), "SIP/2.0 404 Not Found", "User-Agent: Loopstart"},
		{"INVITE to the Contact user", trustInvite(stranger, u, u.ContactUser("1"), "1001"), "SIP/2.0 404 Not Found", ""},
		{"OPTIONS", trustOptions(stranger, u, "1001"), "SIP/2.0 404 Not Found", ""},
		{"INVITE with an unsupported Require", strings.Replace(invite(),
			"Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nRequire: foo\r\n", 1), "SIP/2.0 420 Bad Extension", "Unsupported: foo"},
		{"INVITE without Contact", removeHeader(invite(), "Contact"), "SIP/2.0 400 Bad Request (missing Contact)", ""},
		{"REGISTER", strings.ReplaceAll(trustOptions(stranger, u, "1001"), "OPTIONS", "REGISTER"), "SIP/2.0 405 Method Not Allowed", "Allow: "},
		{"unknown method", strings.ReplaceAll(trustOptions(stranger, u, "1001"), "OPTIONS", "FOO"), "SIP/2.0 501 Not Implemented", ""},
		{"CANCEL", strings.ReplaceAll(trustOptions(stranger, u, "1001"), "OPTIONS", "CANCEL"), "SIP/2.0 481 Call/Transaction Does Not Exist", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx0, ans0 := u.txRequests.Load(), u.strangers.answered.Load()
			res := exchange(t, stranger, u, tt.msg, 3*time.Second)
			if got := statusOf(res); got != tt.want {
				t.Fatalf("got %q, want %q:\n%s", got, tt.want, res)
			}
			if tt.header != "" && !strings.Contains(res, "\r\n"+tt.header) {
				t.Errorf("no %q in the answer:\n%s", tt.header, res)
			}
			if !strings.Contains(res, ";tag="+statelessTagPrefix) {
				t.Errorf("the answer's To tag is not a stateless one:\n%s", res)
			}
			again := exchange(t, stranger, u, tt.msg, 3*time.Second)
			if again != res {
				t.Errorf("the retransmission got another answer:\n%s\n---\n%s", res, again)
			}
			if got := u.txRequests.Load() - tx0; got != 0 {
				t.Errorf("%d requests reached a handler (a server transaction each)", got)
			}
			if got := u.strangers.answered.Load() - ans0; got != 2 {
				t.Errorf("%d stateless answers, want 2", got)
			}
		})
	}
	t.Run("ACK of a refused INVITE", func(t *testing.T) {
		inv := invite()
		res := exchange(t, stranger, u, inv, 3*time.Second)
		tx0, drop0 := u.txRequests.Load(), u.strangers.dropped.Load()
		if _, err := stranger.WriteToUDPAddrPort([]byte(ackFor(inv, res)), u.Addr()); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(3 * time.Second); u.strangers.dropped.Load() != drop0+1; {
			if time.Now().After(deadline) {
				t.Fatalf("the ACK was not dropped by the stateless path (dropped +%d)", u.strangers.dropped.Load()-drop0)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if got := u.txRequests.Load() - tx0; got != 0 {
			t.Errorf("the ACK reached a handler %d times", got)
		}
	})
	t.Run("in a dialog", func(t *testing.T) {
		// A BYE with a To tag is its dialog's business: the handler
		// answers it (481: no such dialog).
		bye := strings.NewReplacer("OPTIONS sip", "BYE sip", "CSeq: 1 OPTIONS", "CSeq: 2 BYE",
			"To: <sip:1001@example.net>", "To: <sip:1001@example.net>;tag=x1").Replace(trustOptions(stranger, u, "1001"))
		tx0 := u.txRequests.Load()
		if got := statusOf(exchange(t, stranger, u, bye, 3*time.Second)); got != "SIP/2.0 481 Call/Transaction Does Not Exist" {
			t.Errorf("in-dialog BYE: %q", got)
		}
		if u.txRequests.Load() == tx0 {
			t.Error("the in-dialog BYE did not reach its handler")
		}
	})
	t.Run("registrar", func(t *testing.T) {
		tx0 := u.txRequests.Load()
		if got := statusOf(exchange(t, reg, u, trustOptions(reg, u, u.ContactUser("1")), 3*time.Second)); got != "SIP/2.0 200 OK" {
			t.Errorf("registrar OPTIONS: %q", got)
		}
		if u.txRequests.Load() == tx0 {
			t.Error("the registrar's OPTIONS did not reach its handler")
		}
	})
	noRing(t, rec)
}

// TestStrangersIgnoredStateless: with IgnoreStrangers a stranger's
// requests are dropped before sipgo, NOTIFY excepted.
func TestStrangersIgnoredStateless(t *testing.T) {
	reg := listenUDP(t)
	rec := newIncomingRec()
	u := lockedUA(t, Config{IgnoreStrangers: true, Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.LocalAddr().String()},
	}}, rec, nil)
	waitTrustSettled(t, u)
	stranger := listenUDP(t)
	for _, msg := range []string{trustInvite(stranger, u, "1001", "1001"), trustOptions(stranger, u, "1001")} {
		tx0, drop0 := u.txRequests.Load(), u.strangers.dropped.Load()
		if res := exchange(t, stranger, u, msg, 300*time.Millisecond); res != "" {
			t.Errorf("stranger answered:\n%s", res)
		}
		if u.strangers.dropped.Load() != drop0+1 || u.txRequests.Load() != tx0 {
			t.Errorf("not dropped before sipgo: dropped +%d, handled +%d", u.strangers.dropped.Load()-drop0, u.txRequests.Load()-tx0)
		}
	}
	noRing(t, rec)
}

// waitTrustSettled waits until the UA's registrars are resolved: until
// then strangers' requests go the way they always went.
func waitTrustSettled(t *testing.T, u *UA) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); u.trustNeedsLookup(); {
		if time.Now().After(deadline) {
			t.Fatal("the registrars were not resolved within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStrangersBeforeLookup: while a registrar's name is not resolved,
// a stranger's request goes to sipgo as before (the listener's reader
// never waits for DNS), and is still refused.
func TestStrangersBeforeLookup(t *testing.T) {
	rec := newIncomingRec()
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	u := lockedUA(t, Config{Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:registrar.test"},
	}}, rec, func(ctx context.Context, host string) ([]netip.Addr, error) {
		select { // a resolver that does not answer
		case <-block:
		case <-ctx.Done():
		}
		return nil, ctx.Err()
	})
	stranger := listenUDP(t)
	tx0, ans0 := u.txRequests.Load(), u.strangers.answered.Load()
	start := time.Now()
	if got := statusOf(exchange(t, stranger, u, trustOptions(stranger, u, "1001"), 5*time.Second)); got != "SIP/2.0 404 Not Found" {
		t.Fatalf("stranger got %q", got)
	}
	if u.strangers.answered.Load() != ans0 || u.txRequests.Load() == tx0 {
		t.Errorf("answered statelessly before the registrar was resolved")
	}
	t.Logf("answered in %v", time.Since(start))
	noRing(t, rec)
}

// TestStatelessTag: the tag is the same for the same request and differs
// when any part of its transaction's key does.
func TestStatelessTag(t *testing.T) {
	c := newStrangerConn(nil, nil)
	base := "OPTIONS sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n" +
		"From: <sip:a@h>;tag=f1\r\nTo: <sip:1@h>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	tag := func(msg string) string {
		req := parseTestRequest(t, msg)
		return c.statelessTag(req)
	}
	want := tag(base)
	if !strings.HasPrefix(want, statelessTagPrefix) || want != tag(base) {
		t.Fatalf("tag %q not stable or without its prefix", want)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"branch", "branch=z9hG4bK-1", "branch=z9hG4bK-2"},
		{"From tag", "tag=f1", "tag=f2"},
		{"Call-ID", "Call-ID: c1", "Call-ID: c2"},
		{"CSeq number", "CSeq: 1 OPTIONS", "CSeq: 2 OPTIONS"},
	} {
		if got := tag(strings.Replace(base, tc.from, tc.to, 1)); got == want {
			t.Errorf("%s changed, tag did not (%s)", tc.name, got)
		}
	}
}

// FuzzStrangerConn: whatever a stranger sends, the stateless path neither
// panics nor answers a response, and every answer it writes is a SIP
// status line.
func FuzzStrangerConn(f *testing.F) {
	for _, s := range []string{
		"OPTIONS sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:1001@h>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:1001@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bK-1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:1001@h>\r\ni: x\r\nCSeq: 1 INVITE\r\nm: <sip:a@127.0.0.1:9>\r\nl: 0\r\n\r\n",
		"ACK sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:1001@h>;tag=ls00\r\nCall-ID: x\r\nCSeq: 1 ACK\r\n\r\n",
		"CANCEL sip:1001@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:1001@h>\r\nCall-ID: x\r\nCSeq: 1 CANCEL\r\n\r\n",
		"SIP/2.0 200 OK\r\n\r\n",
		"\x00\x00\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(), Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:127.0.0.1:5"},
	}})
	if err != nil {
		f.Fatal(err)
	}
	u.port = 1 // our own listen port: not the sources' (9, 10)
	pc := &recordingConn{}
	c := newStrangerConn(pc, u)
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		pc.reset()
		handled := c.handled(data, src)
		for _, w := range pc.written() {
			if !strings.HasPrefix(string(w), "SIP/2.0 ") {
				t.Fatalf("wrote a non-response: %q", w)
			}
		}
		if handled && strings.HasPrefix(string(data), "SIP/2.0 ") {
			t.Fatalf("took a response: %q", data)
		}
	})
}

// parseTestRequest parses raw as a request.
func parseTestRequest(t *testing.T, raw string) *sipmsg.Request {
	t.Helper()
	msg, err := sipmsg.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req, ok := msg.(*sipmsg.Request)
	if !ok {
		t.Fatalf("not a request: %q", raw)
	}
	return req
}

// recordingConn is a PacketConn that keeps what is written to it.
type recordingConn struct {
	net.PacketConn
	mu   sync.Mutex
	msgs [][]byte
}

func (c *recordingConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, append([]byte(nil), b...))
	return len(b), nil
}

func (c *recordingConn) LocalAddr() net.Addr {
	return net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:1"))
}

func (c *recordingConn) reset() {
	c.mu.Lock()
	c.msgs = nil
	c.mu.Unlock()
}

func (c *recordingConn) written() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msgs
}

// removeHeader drops every line of header name from msg.
func removeHeader(msg, name string) string {
	var keep []string
	for _, line := range strings.Split(msg, "\r\n") {
		if !strings.HasPrefix(line, name+":") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\r\n")
}

// TestStatelessTraced: the SIP trace and the packet capture see a
// stranger's request answered here, then its answer.
func TestStatelessTraced(t *testing.T) {
	u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(), Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:127.0.0.1:5"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	u.port = 1
	u.registrarOwnTargets(u.accounts[0])
	tr := &Trace{log: testLogger()}
	sink := &sinkRec{}
	tr.SetCapture(sink)
	old := installedTrace.Swap(tr)
	t.Cleanup(func() { installedTrace.Store(old) })
	c := newStrangerConn(&recordingConn{}, u)
	req := "OPTIONS sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:10;branch=z9hG4bK-1\r\n" +
		"From: <sip:a@h>;tag=1\r\nTo: <sip:1001@h>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if !c.handled([]byte(req), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 10}) {
		t.Fatal("a stranger's OPTIONS was not answered here")
	}
	if len(sink.got) != 2 || !strings.HasPrefix(sink.got[0], "127.0.0.2:10>127.0.0.1:1 OPTIONS ") ||
		!strings.HasPrefix(sink.got[1], "127.0.0.1:1>127.0.0.2:10 SIP/2.0 404 ") {
		t.Errorf("captured %q, want the request, then its 404", sink.got)
	}
}
