package sip

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// recordTx is a server transaction that keeps the responses it is given.
type recordTx struct {
	sipmsg.ServerTransaction
	res []*sipmsg.Response
}

func (r *recordTx) Respond(res *sipmsg.Response) error {
	r.res = append(r.res, res)
	return nil
}

// final is the last response, nil when none was sent.
func (r *recordTx) final() *sipmsg.Response {
	if len(r.res) == 0 {
		return nil
	}
	return r.res[len(r.res)-1]
}

// Addresses of the test's peers.
const (
	pbxSrc     = "192.0.2.10:5060" // account 1's registrar
	pbxSrc2    = "192.0.2.11:5060" // its second address (host name registrar)
	tlsPBXSrc  = "192.0.2.20:5061" // account 2's TLS registrar
	strangerIP = "198.51.100.7:5060"
)

var notifySeq atomic.Int64

// notifyRig is a UA (not listening) whose handlers the test calls directly,
// on a clock the test moves.
type notifyRig struct {
	u *UA

	mu       sync.Mutex
	now      time.Time
	events   []string
	mwi      []string // "account waiting new/old"
	resyncOK bool
}

func newNotifyRig(t testing.TB, accts ...Account) *notifyRig {
	t.Helper()
	if len(accts) == 0 {
		accts = []Account{
			{ID: "1", User: "1001", AuthUser: "auth1001", Password: "secret1", Registrar: "sip:pbx.example.net:5060"},
			{ID: "2", User: "1002", Password: "secret2", Registrar: "sips:" + tlsPBXSrc},
			{ID: "3", User: "1003"},
		}
	}
	rig := &notifyRig{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), resyncOK: true}
	u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(), Accounts: accts,
		OnNotify: func(ev string) bool {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.events = append(rig.events, ev)
			return strings.HasPrefix(ev, "check-sync")
		},
		OnMessageWaiting: func(id string, mw MessageWaiting) {
			rig.mu.Lock()
			defer rig.mu.Unlock()
			rig.mwi = append(rig.mwi, fmt.Sprintf("%s %v %d/%d", id, mw.Waiting, mw.New, mw.Old))
		}})
	if err != nil {
		t.Fatal(err)
	}
	u.trust.lookup = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.11")}, nil
	}
	u.notify.auth.now = func() time.Time { rig.mu.Lock(); defer rig.mu.Unlock(); return rig.now }
	// The TLS account registered on a connection from its registrar.
	for _, r := range u.regs {
		if r.acct.Transport == "tls" {
			r.connAddr = tlsPBXSrc
		}
	}
	rig.u = u
	return rig
}

func (r *notifyRig) advance(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

// notifyMsg is a NOTIFY for ruser, with a message-summary body when body
// is not "" and an Authorization header when auth is not "".
type notifyMsg struct {
	ruser, event, body, auth string
	src, transport           string // default pbxSrc over UDP
}

// notifyText is a NOTIFY for ruser as text.
func notifyText(ruser, event, body, auth string) string {
	n := notifySeq.Add(1)
	extra := ""
	if body != "" {
		extra += "Content-Type: application/simple-message-summary\r\n"
	}
	if auth != "" {
		extra += "Authorization: " + auth + "\r\n"
	}
	return fmt.Sprintf("NOTIFY sip:%s@192.0.2.1:5062 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-n%d\r\n"+
		"From: <sip:pbx@192.0.2.10>;tag=pbx%d\r\n"+
		"To: <sip:%s@192.0.2.1>\r\n"+
		"Call-ID: notify-%d@test\r\n"+
		"CSeq: 1 NOTIFY\r\n"+
		"Max-Forwards: 70\r\n"+
		"Contact: <sip:pbx@192.0.2.10>\r\n"+
		"Event: %s\r\n%s"+
		"Content-Length: %d\r\n\r\n%s", ruser, n, n, ruser, n, event, extra, len(body), body)
}

func (m notifyMsg) request(t *testing.T) *sipmsg.Request {
	t.Helper()
	msg, err := sipmsg.ParseMessage([]byte(notifyText(m.ruser, m.event, m.body, m.auth)))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sipmsg.Request)
	src, tp := m.src, m.transport
	if src == "" {
		src = pbxSrc
	}
	if tp == "" {
		tp = "UDP"
	}
	req.SetSource(src)
	req.SetTransport(tp)
	return req
}

// send passes m through the precheck and the NOTIFY handler and returns
// the final response (nil for none).
func (r *notifyRig) send(t *testing.T, m notifyMsg) *sipmsg.Response {
	t.Helper()
	tx := &recordTx{}
	r.u.checked(r.u.onNotify)(m.request(t), tx)
	return tx.final()
}

func code(res *sipmsg.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

const waitingBody = "Messages-Waiting: yes\r\nMessage-Account: sip:*97@pbx.example.net\r\nVoice-Message: 2/8 (0/2)\r\n"

func TestNotifyTrustRule(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  func(rig *notifyRig) notifyMsg
		want int
		mwi  string // what OnMessageWaiting got, "" for nothing
	}{
		{"message-summary from the registrar", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("1"), event: "message-summary", body: waitingBody}
		}, 200, "1 true 2/8"},
		{"message-summary from its other address", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("1"), event: "Message-Summary", body: waitingBody, src: pbxSrc2}
		}, 200, "1 true 2/8"},
		{"message-summary over the registered TLS connection", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("2"), event: "message-summary", body: "Messages-Waiting: no\r\n", src: tlsPBXSrc, transport: "TLS"}
		}, 200, "2 false 0/0"},
		{"message-summary from a stranger", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("1"), event: "message-summary", body: waitingBody, src: strangerIP}
		}, 404, ""},
		{"message-summary from the registrar's IP on another port", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("1"), event: "message-summary", body: waitingBody, src: "192.0.2.10:5070"}
		}, 404, ""},
		{"message-summary for the account user, not the Contact user", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: "1001", event: "message-summary", body: waitingBody}
		}, 404, ""},
		{"message-summary for an account without a registrar", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: "1003", event: "message-summary", body: waitingBody}
		}, 404, ""},
		{"message-summary with another account's registrar", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("2"), event: "message-summary", body: waitingBody}
		}, 404, ""},
		{"message-summary that does not parse", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("1"), event: "message-summary", body: "Messages-Waiting: maybe\r\n"}
		}, 400, ""},
		{"check-sync from the registrar over UDP", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("1"), event: "check-sync"}
		}, 401, ""},
		{"check-sync over the registered TLS connection", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("2"), event: "check-sync", src: tlsPBXSrc, transport: "TLS"}
		}, 200, ""},
		{"check-sync from the TLS registrar's address over UDP", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("2"), event: "check-sync", src: tlsPBXSrc}
		}, 401, ""},
		{"check-sync from a stranger over TLS", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("2"), event: "check-sync", src: strangerIP, transport: "TLS"}
		}, 404, ""},
		{"check-sync from a stranger", func(r *notifyRig) notifyMsg {
			return notifyMsg{ruser: r.u.ContactUser("1"), event: "check-sync", src: strangerIP}
		}, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rig := newNotifyRig(t)
			res := rig.send(t, tt.msg(rig))
			if code(res) != tt.want {
				t.Fatalf("answer %d, want %d", code(res), tt.want)
			}
			if got := strings.Join(rig.mwi, ","); got != tt.mwi {
				t.Errorf("message waiting %q, want %q", got, tt.mwi)
			}
			if tt.want == 401 {
				var algs []string
				for _, h := range res.GetHeaders("WWW-Authenticate") {
					c, err := digest.ParseChallenge(h.Value())
					if err != nil {
						t.Fatal(err)
					}
					if !c.SupportsQOP("auth") || c.Realm != notifyRealm {
						t.Errorf("challenge %q", h.Value())
					}
					algs = append(algs, c.Algorithm)
				}
				if strings.Join(algs, ",") != "SHA-256,MD5" {
					t.Errorf("challenges offer %v, want SHA-256 then MD5", algs)
				}
			}
		})
	}
}

// creds answers res's challenge of algorithm alg for the NOTIFY to ruser.
type creds struct {
	alg, user, realm, pass, uri string
	nc                          int
	noQOP                       bool
	nonce                       string // "" = the challenge's
}

func (c creds) answer(t *testing.T, res *sipmsg.Response, ruser string) string {
	t.Helper()
	var chal *digest.Challenge
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatal(err)
		}
		if ch.Algorithm == c.alg {
			chal = ch
		}
	}
	if chal == nil {
		t.Fatalf("no %s challenge in %s", c.alg, res)
	}
	if c.realm != "" {
		chal.Realm = c.realm
	}
	if c.nonce != "" {
		chal.Nonce = c.nonce
	}
	if c.noQOP {
		chal.QOP = nil
	}
	uri := c.uri
	if uri == "" {
		uri = "sip:" + ruser + "@192.0.2.1:5062"
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "NOTIFY", URI: uri, Username: c.user, Password: c.pass, Count: c.nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func TestNotifyDigest(t *testing.T) {
	right := creds{alg: "SHA-256", user: "auth1001", pass: "secret1", nc: 1}
	type step struct {
		c    creds
		want int
	}
	with := func(f func(*creds)) creds { c := right; f(&c); return c }
	for _, tt := range []struct {
		name  string
		steps []step // each answers the last challenge
	}{
		{"SHA-256", []step{{right, 200}}},
		{"MD5", []step{{with(func(c *creds) { c.alg = "MD5" }), 200}}},
		{"wrong password", []step{{with(func(c *creds) { c.pass = "guess" }), 401}}},
		{"unknown user", []step{{with(func(c *creds) { c.user = "1001" }), 401}}},
		{"unknown realm", []step{{with(func(c *creds) { c.realm = "pbx" }), 401}}},
		{"digest uri not the Request-URI", []step{{with(func(c *creds) { c.uri = "sip:1001@192.0.2.1:5062" }), 401}}},
		{"no qop", []step{{with(func(c *creds) { c.noQOP = true }), 401}}},
		{"nonce never issued", []step{{with(func(c *creds) { c.nonce = "00112233445566778899aabbccddeeff" }), 401}}},
		{"nc not increasing", []step{
			{with(func(c *creds) { c.pass = "guess"; c.nc = 2 }), 401},
			{with(func(c *creds) { c.nc = 2 }), 401},
			{with(func(c *creds) { c.nc = 1 }), 401},
			{with(func(c *creds) { c.nc = 3 }), 200},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rig := newNotifyRig(t)
			ruser := rig.u.ContactUser("1")
			chal := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync"})
			for i, s := range tt.steps {
				// Answer the first challenge each time, as a replay would.
				res := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", auth: s.c.answer(t, chal, ruser)})
				if code(res) != s.want {
					t.Fatalf("step %d: answer %d, want %d", i+1, code(res), s.want)
				}
			}
		})
	}
}

func TestNotifyReplayRefused(t *testing.T) {
	rig := newNotifyRig(t)
	ruser := rig.u.ContactUser("1")
	chal := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync"})
	auth := creds{alg: "SHA-256", user: "auth1001", pass: "secret1", nc: 1}.answer(t, chal, ruser)
	if res := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", auth: auth}); code(res) != 200 {
		t.Fatalf("first use: %d", code(res))
	}
	rig.advance(NotifyResyncInterval)
	// The same request again, and with the next nc: the nonce is spent.
	if res := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", auth: auth}); code(res) != 401 {
		t.Fatalf("replay: %d", code(res))
	}
	next := creds{alg: "SHA-256", user: "auth1001", pass: "secret1", nc: 2}.answer(t, chal, ruser)
	if res := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", auth: next}); code(res) != 401 {
		t.Fatalf("spent nonce, next nc: %d", code(res))
	}
	// An expired nonce is no nonce either.
	chal = rig.send(t, notifyMsg{ruser: ruser, event: "check-sync"})
	rig.advance(nonceLife + time.Second)
	auth = creds{alg: "SHA-256", user: "auth1001", pass: "secret1", nc: 1}.answer(t, chal, ruser)
	if res := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", auth: auth}); code(res) != 401 {
		t.Fatalf("expired nonce: %d", code(res))
	}
}

var (
	nonceRe = regexp.MustCompile(`nonce="[^"]*"`)
	tagRe   = regexp.MustCompile(`;tag=[^;\r\n>]*`)
)

// sameShape is res as text without what names the request or the
// challenge: Via, Call-ID, CSeq, tags and nonces.
func sameShape(res *sipmsg.Response) string {
	s := sansDialog(res.String())
	s = nonceRe.ReplaceAllString(s, `nonce="N"`)
	return tagRe.ReplaceAllString(s, ";tag=T")
}

func TestNotifyFailuresLookAlike(t *testing.T) {
	rig := newNotifyRig(t)
	ruser := rig.u.ContactUser("1")
	answers := map[string]string{}
	for _, tt := range []struct {
		name string
		c    creds
	}{
		{"no credentials", creds{}},
		{"wrong password", creds{alg: "SHA-256", user: "auth1001", pass: "guess", nc: 1}},
		{"unknown user", creds{alg: "SHA-256", user: "admin", pass: "secret1", nc: 1}},
		{"unknown realm", creds{alg: "MD5", user: "auth1001", pass: "secret1", realm: "asterisk", nc: 1}},
	} {
		chal := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync"})
		auth := ""
		if tt.c.alg != "" {
			auth = tt.c.answer(t, chal, ruser)
		}
		res := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", auth: auth})
		answers[tt.name] = sameShape(res)
	}
	for name, a := range answers {
		if a != answers["wrong password"] {
			t.Errorf("%s answered\n%s\nwrong password answered\n%s", name, a, answers["wrong password"])
		}
	}
}

func TestNotifyLockout(t *testing.T) {
	accts := []Account{
		{ID: "1", User: "1001", Password: "secret1", Registrar: "sip:pbx.example.net:5060"},
		{ID: "2", User: "1002", Password: "secret2", Registrar: "sip:pbx.example.net:5060"},
	}
	type attempt struct {
		acct, src, pass string
		want            int
	}
	fail := func(acct, src string) []attempt {
		var a []attempt
		for range lockoutFailures {
			a = append(a, attempt{acct, src, "guess", 401})
		}
		return a
	}
	for _, tt := range []struct {
		name  string
		steps []attempt
		wait  time.Duration // then
		after []attempt
	}{
		{"account locked from every source", fail("1", pbxSrc),
			0, []attempt{{"1", pbxSrc2, "secret1", 401}, {"2", pbxSrc2, "secret2", 200}}},
		{"source locked for every account", fail("1", pbxSrc),
			0, []attempt{{"2", pbxSrc, "secret2", 401}}},
		{"unlocked after the lockout", fail("1", pbxSrc),
			lockoutTime + time.Second, []attempt{{"1", pbxSrc, "secret1", 200}}},
		{"failures older than the window forgotten", fail("1", pbxSrc)[1:],
			lockoutWindow, []attempt{{"1", pbxSrc, "guess", 401}, {"1", pbxSrc, "secret1", 200}}},
		{"one short of the lockout", fail("1", pbxSrc)[1:],
			0, []attempt{{"1", pbxSrc, "secret1", 200}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rig := newNotifyRig(t, accts...)
			var ordinary string
			run := func(i int, a attempt) {
				ruser := rig.u.ContactUser(a.acct)
				chal := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", src: a.src})
				user := map[string]string{"1": "1001", "2": "1002"}[a.acct]
				auth := creds{alg: "SHA-256", user: user, pass: a.pass, nc: 1}.answer(t, chal, ruser)
				res := rig.send(t, notifyMsg{ruser: ruser, event: "check-sync", auth: auth, src: a.src})
				if code(res) != a.want {
					t.Fatalf("attempt %d (account %s from %s): %d, want %d", i+1, a.acct, a.src, code(res), a.want)
				}
				if a.want == 401 {
					if ordinary == "" {
						ordinary = sameShape(res)
					} else if s := sameShape(res); s != ordinary {
						t.Errorf("attempt %d answered\n%s\nlike no ordinary failure\n%s", i+1, s, ordinary)
					}
				}
				rig.advance(NotifyResyncInterval)
			}
			for i, a := range tt.steps {
				run(i, a)
			}
			rig.advance(tt.wait)
			for i, a := range tt.after {
				run(len(tt.steps)+i, a)
			}
		})
	}
}

func TestNotifyResyncRateLimit(t *testing.T) {
	rig := newNotifyRig(t)
	over := func(event string) notifyMsg {
		return notifyMsg{ruser: rig.u.ContactUser("2"), event: event, src: tlsPBXSrc, transport: "TLS"}
	}
	if res := rig.send(t, over("check-sync")); code(res) != 200 {
		t.Fatalf("first: %d", code(res))
	}
	res := rig.send(t, over("check-sync;reboot=false"))
	if code(res) != 503 || res.GetHeader("Retry-After").Value() != "61" {
		t.Fatalf("second: %v", res)
	}
	rig.advance(NotifyResyncInterval)
	// An unknown event after the interval: 489, and the slot is given back.
	if res := rig.send(t, over("presence")); code(res) != 489 {
		t.Fatalf("unknown event: %d", code(res))
	}
	if res := rig.send(t, over("check-sync")); code(res) != 200 {
		t.Fatalf("after the interval: %d", code(res))
	}
	rig.mu.Lock()
	defer rig.mu.Unlock()
	if want := "check-sync,presence,check-sync"; strings.Join(rig.events, ",") != want {
		t.Errorf("events passed on: %v, want %s", rig.events, want)
	}
}

func TestNotifyTablesBounded(t *testing.T) {
	var g digestGuard
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	for range 3 * maxNonces {
		g.challenges()
	}
	if len(g.nonces) > maxNonces {
		t.Errorf("%d nonces kept, at most %d", len(g.nonces), maxNonces)
	}
	g.mu.Lock()
	for i := range 3 * maxFailKeys {
		g.fail(fmt.Sprintf("ip 10.0.%d.%d", i/256, i%256), now)
	}
	n := len(g.fails)
	g.mu.Unlock()
	if n > maxFailKeys {
		t.Errorf("%d failure keys kept, at most %d", n, maxFailKeys)
	}
}

// FuzzNotify feeds arbitrary messages, as if from account 1's registrar,
// through sipgo's parser, the precheck and the NOTIFY handler (the digest
// check and the message-summary parser): nothing may panic, a request is
// answered at most once, and a message-summary reaches OnMessageWaiting
// only for account 1. "CONTACT" in the input stands for the account's
// Contact user.
func FuzzNotify(f *testing.F) {
	const auth = `Digest username="auth1001", realm="loopstart", nonce="00", uri="sip:CONTACT@192.0.2.1:5062", response="00", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c"`
	f.Add([]byte(notifyText("CONTACT", "message-summary", waitingBody, "")))
	f.Add([]byte(notifyText("CONTACT", "message-summary", "Messages-Waiting: no\r\nVoice-Message: 0/1 (0/0)\r\n", "")))
	f.Add([]byte(notifyText("CONTACT", "check-sync", "", auth)))
	f.Add([]byte(notifyText("CONTACT", "check-sync;reboot=true", "", strings.ReplaceAll(auth, "SHA-256", "MD5"))))
	rig := newNotifyRig(f)
	contact := []byte(rig.u.ContactUser("1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := sipmsg.ParseMessage(bytes.ReplaceAll(b, []byte("CONTACT"), contact))
		if err != nil {
			return
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok || req.Method != sipmsg.NOTIFY {
			return
		}
		req.SetSource(pbxSrc)
		req.SetTransport("UDP")
		tx := &recordTx{}
		rig.u.checked(rig.u.onNotify)(req, tx)
		if len(tx.res) > 1 {
			t.Fatalf("%d answers", len(tx.res))
		}
		rig.mu.Lock()
		defer rig.mu.Unlock()
		for _, m := range rig.mwi {
			if !strings.HasPrefix(m, "1 ") {
				t.Fatalf("message waiting for another account: %s", m)
			}
		}
		rig.mwi = rig.mwi[:0]
	})
}
