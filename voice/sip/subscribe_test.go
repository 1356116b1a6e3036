package sip

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// subscribeAnswers says how the test registrar answers SUBSCRIBE.
type subscribeAnswers struct {
	grant  int  // Expires in the 200; 0 = what was asked
	fail   int  // when set, answer every authorized SUBSCRIBE with this code
	forget bool // answer the next SUBSCRIBE in a dialog 481, once
}

// subRecord is one authorized SUBSCRIBE and the registrar's answer.
type subRecord struct {
	ruri, callID, fromTag, toTag string
	event, accept, contact       string
	expires                      int
	cseq                         uint32
	code                         int
	dialogTag                    string // the registrar's tag for the dialog
}

// onSubscribe plays a notifier behind a digest-checking proxy: every
// SUBSCRIBE is challenged, an authorized one is answered as r.sub says.
func (r *testRegistrar) onSubscribe(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	reply := func(code int, reason string, hdrs ...sipmsg.Header) *sipmsg.Response {
		res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		return res
	}
	r.mu.Lock()
	ok := false
	if h := req.GetHeader("Authorization"); h != nil {
		p := parseDigest(h.Value())
		used, issued := r.nonces[p["nonce"]]
		ok = issued && !used && p["response"] == digestResponse(p, r.users[p["username"]], "SUBSCRIBE")
		r.nonces[p["nonce"]] = true
	}
	if !ok {
		r.nonceN++
		nonce := fmt.Sprintf("s%05d", r.nonceN)
		r.nonces[nonce] = false
		r.mu.Unlock()
		_ = tx.Respond(reply(401, "Unauthorized",
			sipmsg.NewHeader("WWW-Authenticate", fmt.Sprintf(`Digest realm="test", nonce="%s", algorithm=MD5`, nonce))))
		return
	}
	rec := subRecord{ruri: req.Recipient.String(), callID: req.CallID().Value(), cseq: req.CSeq().SeqNo}
	rec.fromTag, _ = req.From().Params.Get("tag")
	rec.toTag, _ = req.To().Params.Get("tag")
	for name, v := range map[string]*string{"Event": &rec.event, "Accept": &rec.accept, "Contact": &rec.contact} {
		if h := req.GetHeader(name); h != nil {
			*v = h.Value()
		}
	}
	rec.contact = strings.Trim(rec.contact, "<>")
	rec.expires = -1
	if h := req.GetHeader("Expires"); h != nil {
		rec.expires, _ = strconv.Atoi(h.Value())
	}
	rec.code = 200
	switch {
	case r.sub.fail != 0:
		rec.code = r.sub.fail
	case rec.toTag != "" && r.sub.forget:
		rec.code = 481
		r.sub.forget = false
	}
	grant := rec.expires
	if r.sub.grant > 0 && grant > 0 {
		grant = r.sub.grant
	}
	rec.dialogTag = rec.toTag
	if rec.dialogTag == "" && rec.code == 200 {
		r.subTags++
		rec.dialogTag = fmt.Sprintf("mwi%d", r.subTags)
	}
	r.mu.Unlock()
	res := reply(rec.code, "As Told")
	if rec.code == 200 {
		if rec.toTag == "" {
			res.To().Params.Add("tag", rec.dialogTag)
		}
		exp := sipmsg.ExpiresHeader(grant)
		res.AppendHeader(&exp)
		res.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "mwi", Host: "127.0.0.1", Port: r.port()}})
	}
	_ = tx.Respond(res)
	r.subs <- rec
}

func (r *testRegistrar) port() int {
	_, p, _ := splitListen(r.addr)
	return p
}

// nextSub returns the next SUBSCRIBE the registrar answered.
func (r *testRegistrar) nextSub(t *testing.T) subRecord {
	t.Helper()
	select {
	case rec := <-r.subs:
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no SUBSCRIBE arrived")
	}
	return subRecord{}
}

// noSub checks that no SUBSCRIBE arrived.
func (r *testRegistrar) noSub(t *testing.T) {
	t.Helper()
	select {
	case rec := <-r.subs:
		t.Fatalf("unexpected SUBSCRIBE %+v", rec)
	default:
	}
}

var notifyCSeq uint32 = 100

// notifyText is a NOTIFY in rec's dialog.
func (rec subRecord) notifyText(state, body string) string {
	notifyCSeq++
	extra := ""
	if body != "" {
		extra = "Content-Type: application/simple-message-summary\r\n"
	}
	return fmt.Sprintf("NOTIFY %s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-sn%d\r\n"+
		"From: <%s>;tag=%s\r\n"+
		"To: <sip:1001@127.0.0.1>;tag=%s\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: %d NOTIFY\r\n"+
		"Max-Forwards: 70\r\n"+
		"Event: message-summary\r\n"+
		"Subscription-State: %s\r\n%s"+
		"Content-Length: %d\r\n\r\n%s",
		rec.contact, notifyCSeq, rec.ruri, rec.dialogTag, rec.fromTag, rec.callID, notifyCSeq, state, extra, len(body), body)
}

// notify sends a NOTIFY in rec's dialog from the registrar's address and
// returns the UA's answer.
func (r *testRegistrar) notify(t *testing.T, rec subRecord, state, body string) *sipmsg.Response {
	t.Helper()
	msg, err := sipmsg.ParseMessage([]byte(rec.notifyText(state, body)))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sipmsg.Request)
	req.RemoveHeader("Via") // the client writes its own
	client, err := sipgo.NewClient(r.sua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(r.addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// subRig is a UA with one subscribing account, its timers on fake clocks.
type subRig struct {
	reg            *testRegistrar
	u              *UA
	regClk, subClk *fakeClock
	mwi            chan string
}

func newSubRig(t *testing.T, reg *testRegistrar, mailbox string) *subRig {
	t.Helper()
	rig := &subRig{reg: reg, regClk: newFakeClock(), subClk: newFakeClock(), mwi: make(chan string, 16)}
	u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(),
		Accounts: []Account{{ID: "1", User: "1001", Password: "secret1", Registrar: reg.uri(), MWISubscribe: true, Mailbox: mailbox}},
		OnMessageWaiting: func(id string, mw MessageWaiting) {
			rig.mwi <- fmt.Sprintf("%s %v %d/%d", id, mw.Waiting, mw.New, mw.Old)
		}})
	if err != nil {
		t.Fatal(err)
	}
	u.after, u.subAfter = rig.regClk.after, rig.subClk.after
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	rig.u = u
	return rig
}

// subscribed waits for the first registration and subscription and
// returns the SUBSCRIBE and the refresh wait.
func (rig *subRig) subscribed(t *testing.T) (subRecord, fakeWait) {
	t.Helper()
	rig.regClk.next(t)
	rec := rig.reg.nextSub(t)
	if rec.code != 200 {
		t.Fatalf("subscribe answered %d", rec.code)
	}
	return rec, rig.subClk.next(t)
}

func (rig *subRig) state() (string, time.Time) {
	s := rig.u.subs[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.expires
}

func TestSubscribeRefreshNotifyUnsubscribe(t *testing.T) {
	tests := []struct {
		name, mailbox, wantURI string
	}{
		{"address of record", "", "sip:1001@127.0.0.1"},
		{"mailbox", "sip:*97@127.0.0.1", "sip:*97@127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
			reg.sub.grant = 600
			rig := newSubRig(t, reg, tt.mailbox)
			first, w := rig.subscribed(t)
			if first.ruri != tt.wantURI || first.event != "message-summary" || first.accept != "application/simple-message-summary" ||
				first.expires != 3600 || first.toTag != "" || first.contact != "sip:"+rig.u.ContactUser("1")+"@"+rig.u.Addr().String() {
				t.Errorf("first SUBSCRIBE %+v", first)
			}
			if w.d != refreshDelay(600*time.Second) {
				t.Errorf("refresh after %v, want %v", w.d, refreshDelay(600*time.Second))
			}
			if st, _ := rig.state(); st != subPending {
				t.Errorf("state %q after the 2xx, want pending", st)
			}

			w.ch <- time.Now()
			refresh := rig.reg.nextSub(t)
			if refresh.callID != first.callID || refresh.fromTag != first.fromTag || refresh.toTag != first.dialogTag ||
				refresh.cseq <= first.cseq || refresh.ruri != fmt.Sprintf("sip:mwi@127.0.0.1:%d", reg.port()) || refresh.code != 200 {
				t.Errorf("refresh %+v\nnot in the dialog of %+v", refresh, first)
			}
			rig.subClk.next(t)

			res := reg.notify(t, refresh, "active;expires=500", "Messages-Waiting: yes\r\nVoice-Message: 2/1\r\n")
			if res.StatusCode != 200 {
				t.Fatalf("NOTIFY answered %d", res.StatusCode)
			}
			if got := <-rig.mwi; got != "1 true 2/1" {
				t.Errorf("message waiting %q", got)
			}
			if st, until := rig.state(); st != subActive || time.Until(until) > 500*time.Second {
				t.Errorf("state %q until %v after the NOTIFY", st, until)
			}

			closeUA(t, rig.u)
			bye := rig.reg.nextSub(t)
			if bye.callID != first.callID || bye.toTag != first.dialogTag || bye.expires != 0 || bye.cseq <= refresh.cseq {
				t.Errorf("unsubscribe %+v", bye)
			}
			reg.mu.Lock()
			defer reg.mu.Unlock()
			if reg.replays != 0 {
				t.Errorf("%d replayed nonces", reg.replays)
			}
		})
	}
}

func TestSubscribeTerminated(t *testing.T) {
	tests := []struct {
		state     string
		wantRetry time.Duration // 0: a new subscription at once
	}{
		{"terminated;reason=deactivated", 0},
		{"terminated;reason=timeout", 0},
		{"terminated", 0},
		{"terminated;reason=rejected", 30 * time.Second},
		{"terminated;reason=noresource", 30 * time.Second},
		{"terminated;reason=giveup;retry-after=60", 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			reg := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
			rig := newSubRig(t, reg, "")
			defer closeUA(t, rig.u)
			first, _ := rig.subscribed(t)
			if res := reg.notify(t, first, tt.state, "Messages-Waiting: no\r\n"); res.StatusCode != 200 {
				t.Fatalf("NOTIFY answered %d", res.StatusCode)
			}
			if got := <-rig.mwi; got != "1 false 0/0" {
				t.Errorf("message waiting %q", got)
			}
			w := rig.subClk.next(t)
			if tt.wantRetry != 0 {
				if w.d != tt.wantRetry {
					t.Errorf("retry after %v, want %v", w.d, tt.wantRetry)
				}
				reg.noSub(t)
				w.ch <- time.Now()
				rig.subClk.next(t)
			}
			again := reg.nextSub(t)
			if again.callID == first.callID || again.toTag != "" || again.code != 200 {
				t.Errorf("after %q: %+v, want a new subscription", tt.state, again)
			}
			// The old dialog is gone: its NOTIFYs take the out-of-dialog
			// rule, and only the new one is matched.
			if rig.u.subscriptionFor(mustRequest(t, first.notifyText("active", ""))) != nil {
				t.Error("the ended dialog still matches")
			}
			if rig.u.subscriptionFor(mustRequest(t, again.notifyText("active", ""))) == nil {
				t.Error("the new dialog does not match")
			}
		})
	}
}

func mustRequest(t *testing.T, text string) *sipmsg.Request {
	t.Helper()
	msg, err := sipmsg.ParseMessage([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sipmsg.Request)
}

func TestSubscribeGoneOnRefresh(t *testing.T) {
	reg := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
	rig := newSubRig(t, reg, "")
	defer closeUA(t, rig.u)
	first, w := rig.subscribed(t)
	reg.mu.Lock()
	reg.sub.forget = true
	reg.mu.Unlock()
	w.ch <- time.Now()
	if refresh := reg.nextSub(t); refresh.code != 481 || refresh.callID != first.callID {
		t.Errorf("refresh %+v, want a 481 in the first dialog", refresh)
	}
	again := reg.nextSub(t)
	if again.callID == first.callID || again.toTag != "" || again.code != 200 {
		t.Errorf("after the 481: %+v, want a new subscription", again)
	}
	if w := rig.subClk.next(t); w.d != refreshDelay(SubscribeExpires) {
		t.Errorf("next refresh after %v", w.d)
	}
}

func TestSubscribeAfterRegistrationRegained(t *testing.T) {
	reg := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
	rig := newSubRig(t, reg, "")
	defer closeUA(t, rig.u)
	rw := rig.regClk.next(t)
	first := reg.nextSub(t)
	rig.subClk.next(t) // the refresh wait, never fired

	reg.mu.Lock()
	reg.failCode = 503
	reg.mu.Unlock()
	rw.ch <- time.Now() // the registration refresh fails
	rw = rig.regClk.next(t)
	if st := rig.u.Registrations()[0]; st.State != RegFailed {
		t.Fatalf("registration %+v, want failed", st)
	}
	reg.noSub(t)

	reg.mu.Lock()
	reg.failCode = 0
	reg.mu.Unlock()
	rw.ch <- time.Now() // registered again
	rig.regClk.next(t)
	again := reg.nextSub(t)
	if again.callID != first.callID || again.toTag != first.dialogTag || again.code != 200 {
		t.Errorf("after the registration came back: %+v, want a refresh in %+v", again, first)
	}
	if w := rig.subClk.next(t); w.d != refreshDelay(SubscribeExpires) {
		t.Errorf("next refresh after %v", w.d)
	}
}

func TestSubscribeBackoff(t *testing.T) {
	reg := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
	reg.sub.fail = 403
	rig := newSubRig(t, reg, "")
	defer closeUA(t, rig.u)
	rig.regClk.next(t)
	for _, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		if rec := reg.nextSub(t); rec.code != 403 {
			t.Fatalf("answer %d", rec.code)
		}
		w := rig.subClk.next(t)
		if w.d != want {
			t.Errorf("back-off %v, want %v", w.d, want)
		}
		w.ch <- time.Now()
	}
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 5: 8 * time.Minute, 6: 10 * time.Minute, 100: 10 * time.Minute} {
		if got := subscribeBackoffAfter(n); got != want {
			t.Errorf("subscribeBackoffAfter(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestSubscriptionNotifyTrust checks that a NOTIFY in the subscription's
// dialog is taken from any address, and one with a tag or Call-ID of no
// subscription of ours takes the out-of-dialog rule.
func TestSubscriptionNotifyTrust(t *testing.T) {
	reg := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
	rig := newSubRig(t, reg, "")
	defer closeUA(t, rig.u)
	rec, _ := rig.subscribed(t)
	wrongTag, wrongCall := rec, rec
	wrongTag.fromTag = "guessed"
	wrongCall.callID = "guessed@test"
	tests := []struct {
		name    string
		rec     subRecord
		event   string
		want    int
		waiting bool
	}{
		{"in the dialog, from a stranger", rec, "message-summary", 200, true},
		{"in the dialog, another event", rec, "presence", 489, false},
		{"wrong To tag", wrongTag, "message-summary", 404, false},
		{"wrong Call-ID", wrongCall, "message-summary", 404, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(tt.rec.notifyText("active", "Messages-Waiting: yes\r\n"), "Event: message-summary", "Event: "+tt.event, 1)
			req := mustRequest(t, text)
			req.SetSource(strangerIP)
			req.SetTransport("UDP")
			tx := &recordTx{}
			rig.u.checked(rig.u.onNotify)(req, tx)
			if c := code(tx.final()); c != tt.want {
				t.Errorf("answer %d, want %d", c, tt.want)
			}
			select {
			case got := <-rig.mwi:
				if !tt.waiting || got != "1 true 0/0" {
					t.Errorf("message waiting %q", got)
				}
			default:
				if tt.waiting {
					t.Error("not delivered")
				}
			}
		})
	}
}

func TestSubscriptionState(t *testing.T) {
	tests := []struct {
		in, state, reason string
		expires           time.Duration
	}{
		{"active;expires=3600", "active", "", time.Hour},
		{"Pending ; expires = 60", "pending", "", time.Minute},
		{"terminated;reason=noresource", "terminated", "noresource", 0},
		{`terminated;reason="Rejected";retry-after=10`, "terminated", "rejected", 0},
		{"active;expires=-5", "active", "", 0},
		{"active;expires=junk", "active", "", 0},
		{"", "", "", 0},
	}
	for _, tt := range tests {
		state, expires, reason := subscriptionState(tt.in)
		if state != tt.state || expires != tt.expires || reason != tt.reason {
			t.Errorf("subscriptionState(%q) = %q, %v, %q; want %q, %v, %q", tt.in, state, expires, reason, tt.state, tt.expires, tt.reason)
		}
	}
}

func TestSubscribeConfig(t *testing.T) {
	tests := []struct {
		name string
		acct Account
		err  string
	}{
		{"registrar and mailbox", Account{ID: "1", User: "1001", Registrar: "sip:192.0.2.10", MWISubscribe: true, Mailbox: "sip:*97@192.0.2.10"}, ""},
		{"sips mailbox", Account{ID: "1", User: "1001", Registrar: "sips:192.0.2.10", MWISubscribe: true, Mailbox: "sips:vm@pbx.example"}, ""},
		{"no registrar", Account{ID: "1", User: "1001", MWISubscribe: true}, "needs a registrar"},
		{"tel mailbox", Account{ID: "1", User: "1001", Registrar: "sip:192.0.2.10", Mailbox: "tel:+15551234"}, "want a sip: or sips: URI"},
		{"no host", Account{ID: "1", User: "1001", Registrar: "sip:192.0.2.10", Mailbox: "sip:"}, "mailbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := New(Config{Listen: "127.0.0.1:0", Accounts: []Account{tt.acct}})
			switch {
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			case tt.err == "" && len(u.subs) != 1:
				t.Errorf("%d subscriptions", len(u.subs))
			}
		})
	}
}

func FuzzSubscriptionState(f *testing.F) {
	f.Add("active;expires=3600")
	f.Add(`terminated;reason="giveup";retry-after=30`)
	f.Add("pending;expires=99999999999999999999")
	f.Fuzz(func(t *testing.T, v string) {
		state, expires, reason := subscriptionState(v)
		if expires < 0 || expires > math.MaxInt32*time.Second {
			t.Fatalf("expires %v from %q", expires, v)
		}
		if strings.Contains(state, ";") || state != strings.ToLower(state) || reason != strings.ToLower(reason) {
			t.Fatalf("state %q reason %q from %q", state, reason, v)
		}
	})
}
