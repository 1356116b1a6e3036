package sip

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// testRegistrar is a tiny digest-checking registrar on sipgo's server.
type testRegistrar struct {
	t        *testing.T
	addr     string
	proxy    bool // challenge with 407 instead of 401
	qop      bool // offer qop=auth
	badCode  int  // answer to wrong credentials: 401 (default) or 403
	grant    int  // expires granted in the 200; 0 = what was asked
	failCode int  // when set, answer every REGISTER with this code
	users    map[string]string

	mu        sync.Mutex
	nonceN    int
	nonces    map[string]bool // issued nonce -> used
	requests  int             // REGISTERs received
	branches  map[string]bool
	replays   int      // REGISTERs that reused a nonce
	dupBranch int      // REGISTERs that reused a Via branch
	expires   []int    // Expires asked in authorized REGISTERs
	contacts  []string // Contact of authorized REGISTERs
	arrived   chan struct{}
	invites   []string // request URI and From of authorized INVITEs

	sua     *sipgo.UserAgent
	sub     subscribeAnswers // subscribe_test.go
	subs    chan subRecord   // authorized SUBSCRIBEs, as answered
	subTags int              // dialogs started
}

func startRegistrar(t *testing.T, r *testRegistrar) *testRegistrar {
	t.Helper()
	r.t = t
	r.nonces = map[string]bool{}
	r.branches = map[string]bool{}
	r.arrived = make(chan struct{}, 64)
	r.subs = make(chan subRecord, 64)
	if r.badCode == 0 {
		r.badCode = 401
	}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(r.onRegister)
	srv.OnInvite(r.onInvite)
	srv.OnSubscribe(r.onSubscribe)
	r.sua = ua
	pc, ln, _, err := listenPair("udp4", "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	r.addr = pc.LocalAddr().String()
	go srv.ServeUDP(pc)
	go srv.ServeTCP(ln)
	t.Cleanup(func() {
		ua.Close()
		pc.Close()
		ln.Close()
	})
	return r
}

func (r *testRegistrar) uri() string { return "sip:" + r.addr }

func (r *testRegistrar) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

func (r *testRegistrar) onRegister(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.arrived <- struct{}{} }()
	r.requests++
	if b, _ := req.Via().Params.Get("branch"); r.branches[b] {
		r.dupBranch++
	} else {
		r.branches[b] = true
	}
	reply := func(code int, reason string, hdrs ...sipmsg.Header) {
		res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		_ = tx.Respond(res)
	}
	if r.failCode != 0 {
		reply(r.failCode, "Failing On Purpose", sipmsg.NewHeader("Retry-After", "1"))
		return
	}
	authName, chalName, chalCode, chalReason := "Authorization", "WWW-Authenticate", 401, "Unauthorized"
	if r.proxy {
		authName, chalName, chalCode, chalReason = "Proxy-Authorization", "Proxy-Authenticate", 407, "Proxy Authentication Required"
	}
	challenge := func(code int, reason string) {
		r.nonceN++
		nonce := fmt.Sprintf("n%05d", r.nonceN)
		r.nonces[nonce] = false
		v := fmt.Sprintf(`Digest realm="test", nonce="%s", algorithm=MD5`, nonce)
		if r.qop {
			v += `, qop="auth"`
		}
		if code == 403 {
			reply(code, reason)
			return
		}
		reply(code, reason, sipmsg.NewHeader(chalName, v))
	}
	h := req.GetHeader(authName)
	if h == nil {
		challenge(chalCode, chalReason)
		return
	}
	p := parseDigest(h.Value())
	used, issued := r.nonces[p["nonce"]]
	if !issued || used {
		r.replays++
		challenge(chalCode, chalReason)
		return
	}
	r.nonces[p["nonce"]] = true
	pass, ok := r.users[p["username"]]
	badReason := chalReason
	if r.badCode == 403 {
		badReason = "Forbidden"
	}
	if !ok || p["response"] != digestResponse(p, pass, "REGISTER") || p["realm"] != "test" {
		challenge(r.badCode, badReason)
		return
	}
	if r.qop && (p["qop"] != "auth" || p["cnonce"] == "" || p["nc"] == "") {
		challenge(r.badCode, badReason)
		return
	}
	asked := -1
	if e := req.GetHeader("Expires"); e != nil {
		asked, _ = strconv.Atoi(e.Value())
	}
	ct := req.Contact()
	if ct == nil {
		reply(400, "No Contact")
		return
	}
	if v, ok := ct.Params.Get("expires"); ok {
		asked, _ = strconv.Atoi(v)
	}
	r.expires = append(r.expires, asked)
	r.contacts = append(r.contacts, ct.Address.String())
	grant := asked
	if r.grant > 0 && asked > 0 {
		grant = r.grant
	}
	out := &sipmsg.ContactHeader{Address: ct.Address, Params: sipmsg.NewParams()}
	out.Params.Add("expires", strconv.Itoa(grant))
	reply(200, "OK", out)
}

// onInvite plays a proxy that wants digest credentials and then finds the
// callee busy.
func (r *testRegistrar) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	reply := func(code int, reason string, hdrs ...sipmsg.Header) {
		res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		_ = tx.Respond(res)
	}
	authName, chalName, chalCode := "Authorization", "WWW-Authenticate", 401
	if r.proxy {
		authName, chalName, chalCode = "Proxy-Authorization", "Proxy-Authenticate", 407
	}
	r.mu.Lock()
	h := req.GetHeader(authName)
	ok := false
	if h != nil {
		p := parseDigest(h.Value())
		used, issued := r.nonces[p["nonce"]]
		ok = issued && !used && p["response"] == digestResponse(p, r.users[p["username"]], "INVITE")
		r.nonces[p["nonce"]] = true
	}
	if !ok {
		r.nonceN++
		nonce := fmt.Sprintf("i%05d", r.nonceN)
		r.nonces[nonce] = false
		r.mu.Unlock()
		v := fmt.Sprintf(`Digest realm="test", nonce="%s", algorithm=MD5`, nonce)
		if r.qop {
			v += `, qop="auth"`
		}
		reply(chalCode, "Authenticate", sipmsg.NewHeader(chalName, v))
		return
	}
	r.invites = append(r.invites, req.Recipient.String()+" "+req.From().Address.String())
	r.mu.Unlock()
	reply(180, "Ringing")
	reply(486, "Busy Here")
}

// parseDigest splits a Digest credentials header value.
func parseDigest(v string) map[string]string {
	out := map[string]string{}
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "Digest"))
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		out[strings.ToLower(k)] = strings.Trim(val, `"`)
	}
	return out
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// digestResponse computes RFC 2617 MD5 digest, with or without qop=auth.
func digestResponse(p map[string]string, password, method string) string {
	ha1 := md5hex(p["username"] + ":" + p["realm"] + ":" + password)
	ha2 := md5hex(method + ":" + p["uri"])
	if p["qop"] == "auth" {
		return md5hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	}
	return md5hex(ha1 + ":" + p["nonce"] + ":" + ha2)
}

// fakeClock stands in for time.After in registration loops.
type fakeClock struct{ waits chan fakeWait }

type fakeWait struct {
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{waits: make(chan fakeWait, 16)} }

func (f *fakeClock) after(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	f.waits <- fakeWait{d, ch}
	return ch
}

// next returns the next wait a registration loop asked for.
func (f *fakeClock) next(t *testing.T) fakeWait {
	t.Helper()
	select {
	case w := <-f.waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("registration loop did not wait")
	}
	return fakeWait{}
}

// startRegUA starts a UA whose registration timers are driven by clk.
func startRegUA(t *testing.T, clk *fakeClock, accts ...Account) *UA {
	t.Helper()
	u, err := New(Config{Listen: "127.0.0.1:0", UserAgent: "Loopstart/test", Accounts: accts, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	u.after = clk.after
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return u
}

func closeUA(t *testing.T, u *UA) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterSuccessRefreshUnregister(t *testing.T) {
	tests := []struct {
		name      string
		proxy     bool
		qop       bool
		transport string
	}{
		{"401 without qop", false, false, "udp"},
		{"401 with qop", false, true, "udp"},
		{"407 without qop", true, false, "udp"},
		{"407 with qop", true, true, "udp"},
		{"401 with qop over tcp", false, true, "tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startRegistrar(t, &testRegistrar{proxy: tt.proxy, qop: tt.qop, grant: 2, users: map[string]string{"auth1001": "secret1"}})
			clk := newFakeClock()
			u := startRegUA(t, clk,
				Account{ID: "1", User: "1001", AuthUser: "auth1001", Password: "secret1", Registrar: reg.uri(), Transport: tt.transport, Expires: 120 * time.Second},
				Account{ID: "2", User: "1002"}) // direct mode, never registers
			w := clk.next(t)
			if w.d != time.Second { // 2 s granted: refresh after half
				t.Errorf("refresh wait %v, want 1s", w.d)
			}
			st := u.Registrations()
			if len(st) != 2 || st[0].State != RegRegistered || st[0].LastCode != 200 || st[0].LastError != "" || st[1].State != RegNone {
				t.Fatalf("status %+v", st)
			}
			if left := time.Until(st[0].Expires); left < time.Second || left > 3*time.Second {
				t.Errorf("expires in %v", left)
			}
			w.ch <- time.Now() // refresh now
			if w := clk.next(t); w.d != time.Second {
				t.Errorf("second refresh wait %v", w.d)
			}
			closeUA(t, u)

			reg.mu.Lock()
			defer reg.mu.Unlock()
			if want := []int{120, 120, 0}; fmt.Sprint(reg.expires) != fmt.Sprint(want) {
				t.Errorf("expires asked %v, want %v", reg.expires, want)
			}
			// Each REGISTER (first, refresh, unregister) is challenged once.
			if reg.requests != 6 || reg.replays != 0 || reg.dupBranch != 0 {
				t.Errorf("requests %d, replayed nonces %d, reused branches %d", reg.requests, reg.replays, reg.dupBranch)
			}
			// The Contact user is random, not the account's user.
			cu := u.ContactUser("1")
			if len(cu) != 16 || strings.Trim(cu, "0123456789abcdef") != "" {
				t.Errorf("contact user %q, want 16 hex digits", cu)
			}
			wantContact := "sip:" + cu + "@" + u.Addr().String()
			if tt.transport == "tcp" {
				wantContact += ";transport=tcp"
			}
			if reg.contacts[0] != wantContact {
				t.Errorf("contact %q, want %q", reg.contacts[0], wantContact)
			}
			if st := u.Registrations(); st[0].State != RegUnregistered {
				t.Errorf("after close: %+v", st[0])
			}
		})
	}
}

func TestRegisterWrongPassword(t *testing.T) {
	for _, badCode := range []int{401, 403} {
		t.Run(strconv.Itoa(badCode), func(t *testing.T) {
			reg := startRegistrar(t, &testRegistrar{qop: true, badCode: badCode, users: map[string]string{"1001": "secret1"}})
			clk := newFakeClock()
			u := startRegUA(t, clk, Account{ID: "1", User: "1001", Password: "wrong", Registrar: reg.uri()})
			defer closeUA(t, u)
			wantWaits := []time.Duration{30 * time.Second, 60 * time.Second, 120 * time.Second}
			for i, want := range wantWaits {
				w := clk.next(t)
				if w.d != want {
					t.Errorf("back-off %d: %v, want %v", i+1, w.d, want)
				}
				if n := reg.count(); n != 2*(i+1) {
					t.Errorf("after attempt %d the registrar saw %d REGISTERs, want %d", i+1, n, 2*(i+1))
				}
				st := u.Registrations()[0]
				reason := "Unauthorized"
				if badCode == 403 {
					reason = "Forbidden"
				}
				wantErr := fmt.Sprintf("registration of 1001 at %s rejected: wrong user name or password (%d %s)", reg.uri(), badCode, reason)
				if st.State != RegFailed || st.LastCode != badCode || st.LastError != wantErr {
					t.Errorf("status %+v\nwant error %q", st, wantErr)
				}
				if i < len(wantWaits)-1 {
					w.ch <- time.Now()
				}
			}
		})
	}
}

func TestRegisterBackoffValues(t *testing.T) {
	tests := []struct {
		kind failKind
		n    int
		want time.Duration
	}{
		{failRejected, 1, 30 * time.Second},
		{failRejected, 2, time.Minute},
		{failRejected, 7, 30 * time.Minute},
		{failRejected, 100, 30 * time.Minute},
		{failNetwork, 1, 5 * time.Second},
		{failNetwork, 3, 20 * time.Second},
		{failNetwork, 50, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := backoff(tt.kind, tt.n); got != tt.want {
			t.Errorf("backoff(%d, %d) = %v, want %v", tt.kind, tt.n, got, tt.want)
		}
	}
	refresh := []struct{ granted, want time.Duration }{
		{3600 * time.Second, 3060 * time.Second},
		{300 * time.Second, 255 * time.Second},
		{120 * time.Second, 90 * time.Second},
		{60 * time.Second, 30 * time.Second},
		{2 * time.Second, time.Second},
		{time.Second, time.Second},
	}
	for _, tt := range refresh {
		if got := refreshDelay(tt.granted); got != tt.want {
			t.Errorf("refreshDelay(%v) = %v, want %v", tt.granted, got, tt.want)
		}
	}
}

func TestRegisterServerError(t *testing.T) {
	reg := startRegistrar(t, &testRegistrar{failCode: 500})
	clk := newFakeClock()
	u := startRegUA(t, clk, Account{ID: "1", User: "1001", Password: "x", Registrar: reg.uri()})
	defer closeUA(t, u)
	if w := clk.next(t); w.d != 5*time.Second {
		t.Errorf("back-off %v, want 5s", w.d)
	}
	st := u.Registrations()[0]
	if st.State != RegFailed || st.LastCode != 500 || !strings.Contains(st.LastError, "500 Failing On Purpose") {
		t.Errorf("%+v", st)
	}
}

// TestRegisterNoStorm checks on the real clock that a refused registration
// is not retried at once.
func TestRegisterNoStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on the real clock")
	}
	reg := startRegistrar(t, &testRegistrar{badCode: 403, users: map[string]string{"1001": "secret1"}})
	u, err := New(Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "1001", Password: "bad", Registrar: reg.uri()}}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer closeUA(t, u)
	deadline := time.Now().Add(5 * time.Second)
	for u.Registrations()[0].State != RegFailed {
		if time.Now().After(deadline) {
			t.Fatal("never failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if n := reg.count(); n != 2 {
		t.Errorf("%d REGISTERs within a second of the failure, want 2", n)
	}
}

func TestDialThroughRegistrarWithAuth(t *testing.T) {
	for _, proxy := range []bool{false, true} {
		t.Run(fmt.Sprintf("proxy %v", proxy), func(t *testing.T) {
			reg := startRegistrar(t, &testRegistrar{proxy: proxy, qop: true, users: map[string]string{"1001": "secret1"}})
			clk := newFakeClock()
			u := startRegUA(t, clk, Account{ID: "1", User: "1001", Password: "secret1", Registrar: reg.uri()})
			defer closeUA(t, u)
			clk.next(t) // registered
			c, err := u.Dial(context.Background(), "1", "1003", media(40000))
			if err != nil {
				t.Fatal(err)
			}
			// The 180 may be overtaken by the 486 (sipgo handles datagrams
			// concurrently), so progress is not asserted here.
			if ev := expectEvent(t, c, EventFailed); ev.Code != 486 || ev.Reason != "Busy Here" {
				t.Errorf("%+v", ev)
			}
			expectClosed(t, c)
			reg.mu.Lock()
			defer reg.mu.Unlock()
			want := fmt.Sprintf("sip:1003@%s sip:1001@127.0.0.1", reg.addr)
			if len(reg.invites) != 1 || reg.invites[0] != want {
				t.Errorf("authorized invites %q, want %q", reg.invites, want)
			}
		})
	}
}

func TestRegisterUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nobody listens there now: connection refused
	clk := newFakeClock()
	u := startRegUA(t, clk, Account{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + closed + ";transport=tcp"})
	defer closeUA(t, u)
	w := clk.next(t)
	if w.d != 5*time.Second {
		t.Errorf("back-off %v, want 5s", w.d)
	}
	st := u.Registrations()[0]
	if st.State != RegFailed || st.LastCode != 0 || !strings.Contains(st.LastError, "registration of 1001 at sip:"+closed+";transport=tcp failed: ") {
		t.Errorf("%+v", st)
	}
	w.ch <- time.Now()
	if w := clk.next(t); w.d != 10*time.Second {
		t.Errorf("second back-off %v, want 10s", w.d)
	}
}
