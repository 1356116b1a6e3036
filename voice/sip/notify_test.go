package sip

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"
)

func rawNotify(user, event, auth string) string {
	if auth != "" {
		auth = "Authorization: " + auth + "\n"
	}
	return fmt.Sprintf("NOTIFY sip:%s@127.0.0.1 SIP/2.0\n"+
		"Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-n%d\n"+
		"From: <sip:pbx@127.0.0.1>;tag=pbx1\n"+
		"To: <sip:%s@127.0.0.1>\n"+
		"Call-ID: notify-%d@test\n"+
		"CSeq: 1 NOTIFY\n"+
		"Max-Forwards: 70\n"+
		"Contact: <sip:pbx@LOCAL>\n"+
		"Event: %s\n"+
		"%s"+
		"Content-Length: 0\n\n", user, time.Now().UnixNano(), user, time.Now().UnixNano(), event, auth)
}

// header returns the value of a header in a raw SIP message.
func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestNotifyCheckSyncAuth(t *testing.T) {
	var mu sync.Mutex
	var events []string
	u, err := New(Config{Listen: "127.0.0.1:0", UserAgent: "Loopstart/test", Logger: testLogger(),
		Accounts: []Account{
			// Registrar on our source address: trusted by address.
			{ID: "1", User: "1001", Password: "p1", Registrar: "sip:127.0.0.1:5999"},
			// A registrar host name that (by the test resolver) is elsewhere: digest.
			{ID: "2", User: "1002", AuthUser: "auth1002", Password: "secret2", Registrar: "sip:localhost:5999"},
			// No registrar, no password: never.
			{ID: "3", User: "1003"},
		},
		OnNotify: func(ev string) bool {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
			return strings.HasPrefix(ev, "check-sync")
		}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	var clk sync.Mutex
	u.notify.now = func() time.Time { clk.Lock(); defer clk.Unlock(); return now }
	advance := func(d time.Duration) { clk.Lock(); now = now.Add(d); clk.Unlock() }
	u.notify.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.0.2.10")}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close(context.Background()) })

	final := func(msg string) (string, string) {
		codes, last := rawExchange(t, u, msg)
		if len(codes) == 0 {
			t.Fatal("no response")
		}
		return codes[len(codes)-1], last
	}
	answer := func(chalText, user, pass string) string {
		chal, err := digest.ParseChallenge(chalText)
		if err != nil {
			t.Fatalf("challenge %q: %v", chalText, err)
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "NOTIFY", URI: "sip:1002@127.0.0.1", Username: user, Password: pass, Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}

	// From the registrar's address.
	if code, _ := final(rawNotify("1001", "check-sync", "")); !strings.HasPrefix(code, "SIP/2.0 200") {
		t.Fatalf("registrar NOTIFY: %s", code)
	}
	// A second one within the interval is rate limited.
	code, last := final(rawNotify("1001", "check-sync;reboot=false", ""))
	if !strings.HasPrefix(code, "SIP/2.0 503") || header(last, "Retry-After") != "61" {
		t.Fatalf("second NOTIFY: %s (Retry-After %q)", code, header(last, "Retry-After"))
	}
	advance(NotifyResyncInterval)
	// An unknown event after the interval: 489, and the slot is given back.
	if code, _ := final(rawNotify("1001", "presence", "")); !strings.HasPrefix(code, "SIP/2.0 489") {
		t.Fatalf("unknown event: %s", code)
	}
	if code, _ := final(rawNotify("1001", "check-sync", "")); !strings.HasPrefix(code, "SIP/2.0 200") {
		t.Fatalf("after the interval: %s", code)
	}

	// Not from the registrar: challenged.
	advance(NotifyResyncInterval)
	code, last = final(rawNotify("1002", "check-sync", ""))
	chal := header(last, "WWW-Authenticate")
	if !strings.HasPrefix(code, "SIP/2.0 401") || !strings.Contains(chal, `realm="loopstart"`) {
		t.Fatalf("unauthenticated NOTIFY: %s %q", code, chal)
	}
	if code, _ := final(rawNotify("1002", "check-sync", answer(chal, "auth1002", "wrong"))); !strings.HasPrefix(code, "SIP/2.0 403") {
		t.Fatalf("wrong password: %s", code)
	}
	if code, _ := final(rawNotify("1002", "check-sync", answer(chal, "1002", "secret2"))); !strings.HasPrefix(code, "SIP/2.0 403") {
		t.Fatalf("wrong user: %s", code)
	}
	if code, _ := final(rawNotify("1002", "check-sync", answer(chal, "auth1002", "secret2"))); !strings.HasPrefix(code, "SIP/2.0 200") {
		t.Fatalf("right credentials: %s", code)
	}
	// An old nonce is stale: challenged again, not refused.
	advance(10 * time.Minute)
	code, last = final(rawNotify("1002", "check-sync", answer(chal, "auth1002", "secret2")))
	if !strings.HasPrefix(code, "SIP/2.0 401") || !strings.Contains(strings.ToLower(header(last, "WWW-Authenticate")), "stale=true") {
		t.Fatalf("stale nonce: %s %q", code, header(last, "WWW-Authenticate"))
	}
	// A forged nonce is refused.
	forged := strings.Replace(answer(chal, "auth1002", "secret2"), "nonce=\"", "nonce=\"0", 1)
	if code, _ := final(rawNotify("1002", "check-sync", forged)); !strings.HasPrefix(code, "SIP/2.0 403") {
		t.Fatalf("forged nonce: %s", code)
	}

	// No registrar and no password: refused.
	if code, _ := final(rawNotify("1003", "check-sync", "")); !strings.HasPrefix(code, "SIP/2.0 403") {
		t.Fatalf("direct account: %s", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "check-sync,presence,check-sync,check-sync"; strings.Join(events, ",") != want {
		t.Errorf("events passed on: %v, want %s", events, want)
	}
}
