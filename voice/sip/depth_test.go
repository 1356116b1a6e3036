package sip

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestParseRSeq(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
		bad  bool
	}{
		{"1", 1, false},
		{" 4711 ", 4711, false},
		{"4294967295", 4294967295, false},
		{"4294967296", 0, true},
		{"0", 0, true},
		{"", 0, true},
		{"-1", 0, true},
		{"12a", 0, true},
		{"99999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := parseRSeq(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseRSeq(%q) = %d, %v; want %d (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
		if err != nil && !errors.Is(err, errBadRSeq) {
			t.Errorf("parseRSeq(%q) error %v is not errBadRSeq", tt.in, err)
		}
	}
}

func TestParseRAck(t *testing.T) {
	tests := []struct {
		in   string
		want rack
		bad  bool
	}{
		{"776656 1 INVITE", rack{776656, 1, "INVITE"}, false},
		{"  5   17  INVITE ", rack{5, 17, "INVITE"}, false},
		{"1 1", rack{}, true},
		{"1 1 INVITE x", rack{}, true},
		{"0 1 INVITE", rack{}, true},
		{"1 0 INVITE", rack{}, true},
		{"1 1 INV:ITE", rack{}, true},
		{"x 1 INVITE", rack{}, true},
	}
	for _, tt := range tests {
		got, err := parseRAck(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseRAck(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestParseSessionExpires(t *testing.T) {
	tests := []struct {
		in   string
		want sessionExpires
		bad  bool
	}{
		{"1800", sessionExpires{1800 * time.Second, ""}, false},
		{"90;refresher=uac", sessionExpires{90 * time.Second, "uac"}, false},
		{"4000 ; refresher = UAS ;x=y", sessionExpires{4000 * time.Second, "uas"}, false},
		{"1800;foo", sessionExpires{1800 * time.Second, ""}, false},
		{"1800;refresher=both", sessionExpires{}, true},
		{"0", sessionExpires{}, true},
		{"", sessionExpires{}, true},
		{";refresher=uac", sessionExpires{}, true},
		{"86401", sessionExpires{}, true},
		{"1e3", sessionExpires{}, true},
	}
	for _, tt := range tests {
		got, err := parseSessionExpires(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseSessionExpires(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.bad)
		}
		if err == nil {
			back, err := parseSessionExpires(got.String())
			if err != nil || back != got {
				t.Errorf("%q: String %q reads back as %+v, %v", tt.in, got.String(), back, err)
			}
		}
	}
	for in, want := range map[string]time.Duration{"90": 90 * time.Second, "120;x=1": 120 * time.Second} {
		if got, err := parseMinSE(in); err != nil || got != want {
			t.Errorf("parseMinSE(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseMinSE("soon"); err == nil {
		t.Error("parseMinSE(soon) took it")
	}
}

func TestOptionTags(t *testing.T) {
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", Host: "x"})
	req.AppendHeader(sipmsg.NewHeader("k", "path, 100REL"))
	req.AppendHeader(sipmsg.NewHeader("Require", "timer"))
	tests := []struct {
		tag           string
		supp, require bool
	}{
		{tag100rel, true, false},
		{tagTimer, true, true},
		{"path", true, false},
		{tagReplaces, false, false},
	}
	for _, tt := range tests {
		if got := supports(req, tt.tag); got != tt.supp {
			t.Errorf("supports(%s) = %v", tt.tag, got)
		}
		if got := requires(req, tt.tag); got != tt.require {
			t.Errorf("requires(%s) = %v", tt.tag, got)
		}
	}
	for _, tag := range []string{"100rel", "Timer", "replaces"} {
		if !supportedTag(tag) {
			t.Errorf("supportedTag(%s) = false", tag)
		}
	}
	if supportedTag("gruu") {
		t.Error("supportedTag(gruu) = true")
	}
}

func TestRedirectTargets(t *testing.T) {
	raw := "SIP/2.0 302 Moved Temporarily\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-1\r\n" +
		"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: r1\r\nCSeq: 1 INVITE\r\n" +
		"Contact: <sip:low@10.0.0.1>;q=0.1, <sip:first@10.0.0.2>\r\n" +
		"Contact: <tel:+15551234>;q=1\r\n" +
		"m: <sip:mid@10.0.0.3>;q=0.5, <sips:second@10.0.0.4>;q=1.0\r\n" +
		"Contact: <sip:badq@10.0.0.5>;q=7\r\nContent-Length: 0\r\n\r\n"
	msg, err := sipmsg.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	res := msg.(*sipmsg.Response)
	var got []string
	for _, u := range redirectTargets(res) {
		got = append(got, u.User)
	}
	want := "first second badq mid low"
	if strings.Join(got, " ") != want {
		t.Errorf("targets %v, want %s", got, want)
	}
}

func TestRedirectBounded(t *testing.T) {
	u := &UA{log: testLogger()}
	c := &Call{ua: u, id: "r"}
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "a", Host: "10.0.0.1"})
	var r redirects
	// Each target redirects to a new one: the chain ends at maxRedirects.
	for i := 0; ; i++ {
		res := sipmsg.NewResponse(302, "Moved Temporarily")
		res.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "t" + string(rune('a'+i)), Host: "10.0.0.9"}})
		// and back to the first target, a loop that must be skipped
		res.AppendHeader(&sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "a", Host: "10.0.0.1"}})
		if !c.redirect(req, res, &r) {
			if i != maxRedirects {
				t.Fatalf("gave up after %d redirections, want %d", i, maxRedirects)
			}
			break
		}
		if req.Recipient.User == "a" {
			t.Fatal("followed a redirection back to the first target")
		}
		if i > maxRedirects {
			t.Fatal("redirections not bounded")
		}
	}
}

func TestGlareBackoff(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		if d := glareBackoff(true, rnd); d < 2100*time.Millisecond || d > 4*time.Second || d%(10*time.Millisecond) != 0 {
			t.Fatalf("owner back-off %v outside 2.1..4 s in 10 ms steps", d)
		}
		if d := glareBackoff(false, rnd); d < 0 || d > 2*time.Second || d%(10*time.Millisecond) != 0 {
			t.Fatalf("non-owner back-off %v outside 0..2 s in 10 ms steps", d)
		}
	}
}

// TestRetry422 raises our INVITE's Session-Expires to a 422's Min-SE,
// a bounded number of times, and never for a Min-SE not above it.
func TestRetry422(t *testing.T) {
	u := &UA{log: testLogger()}
	c := &Call{ua: u, id: "s"}
	c.st.asked, c.st.minSE = DefaultSessionExpires, MinSessionExpires
	req := sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", Host: "x"})
	for _, h := range sessionOfferHeaders(c.st.asked, c.st.minSE) {
		req.AppendHeader(h)
	}
	res := func(code int, minSE string) *sipmsg.Response {
		r := sipmsg.NewResponse(code, "x")
		if minSE != "" {
			r.AppendHeader(sipmsg.NewHeader("Min-SE", minSE))
		}
		return r
	}
	var tries int
	steps := []struct {
		res  *sipmsg.Response
		want bool
		se   string
	}{
		{res(486, "3600"), false, "1800"},
		{res(422, ""), false, "1800"},
		{res(422, "1800"), false, "1800"}, // not above what we asked
		{res(422, "3600"), true, "3600"},
		{res(422, "bogus"), false, "3600"},
		{res(422, "7200"), true, "7200"},
		{res(422, "9000"), false, "7200"}, // max422 reached
	}
	for i, s := range steps {
		if got := c.retry422(req, s.res, &tries); got != s.want {
			t.Errorf("step %d: retry422 = %v, want %v", i, got, s.want)
		}
		if h := req.GetHeader("Session-Expires"); h == nil || h.Value() != s.se {
			t.Errorf("step %d: Session-Expires %v, want %s", i, h, s.se)
		}
		if n := len(req.GetHeaders("Session-Expires")); n != 1 {
			t.Errorf("step %d: %d Session-Expires headers", i, n)
		}
	}
	if h := req.GetHeader("Min-SE"); h == nil || h.Value() != "7200" {
		t.Errorf("Min-SE %v, want 7200", h)
	}
}

// manualClock is an in-call clock the test advances: each wait asked for
// is reported on asked and fires when the test sends on fire.
type manualClock struct {
	mu    sync.Mutex
	asked chan time.Duration
	fires []chan time.Time
}

func newManualClock() *manualClock { return &manualClock{asked: make(chan time.Duration, 16)} }

func (m *manualClock) after(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	m.mu.Lock()
	m.fires = append(m.fires, ch)
	m.mu.Unlock()
	m.asked <- d
	return ch
}

// fireLast fires the newest wait.
func (m *manualClock) fireLast() {
	m.mu.Lock()
	ch := m.fires[len(m.fires)-1]
	m.mu.Unlock()
	ch <- time.Now()
}

func (m *manualClock) nextWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-m.asked:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no timer started")
	}
	return 0
}

// timedPair is an answered call between two UAs whose in-call timers run
// on manual clocks: the caller's (ca) and the callee's (cb).
func timedPair(t *testing.T) (out, in *Call, ca, cb *manualClock) {
	t.Helper()
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "7", User: "1002"})
	ca, cb = newManualClock(), newManualClock()
	a.callAfter, b.callAfter = ca.after, cb.after
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in = hb.next(t)
	if err := in.Answer(media(40002)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	expectEvent(t, in, EventAnswered)
	return out, in, ca, cb
}

// TestSessionTimerRefresh: the caller supports timer, so the callee's 200
// makes it the refresher; at half the interval it re-INVITEs and the call
// goes on with the callee's count restarted.
func TestSessionTimerRefresh(t *testing.T) {
	out, in, ca, cb := timedPair(t)
	if d := ca.nextWait(t); d != DefaultSessionExpires/2 {
		t.Errorf("refresher waits %v, want %v", d, DefaultSessionExpires/2)
	}
	if d := cb.nextWait(t); d != DefaultSessionExpires-32*time.Second {
		t.Errorf("the other side waits %v, want %v", d, DefaultSessionExpires-32*time.Second)
	}
	ca.fireLast() // half the interval: the caller refreshes
	expectEvent(t, in, EventMediaChanged)
	if d := ca.nextWait(t); d != DefaultSessionExpires/2 {
		t.Errorf("after the refresh the refresher waits %v", d)
	}
	if d := cb.nextWait(t); d != DefaultSessionExpires-32*time.Second {
		t.Errorf("after the refresh the other side waits %v", d)
	}
	select {
	case <-out.Done():
		t.Fatal("the call ended at a refresh")
	default:
	}
	if err := out.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSessionTimerExpiry: the callee's count runs out without a refresh
// (the caller's refresh never comes): it sends BYE and both sides end.
func TestSessionTimerExpiry(t *testing.T) {
	out, in, ca, cb := timedPair(t)
	ca.nextWait(t)
	cb.nextWait(t)
	cb.fireLast()
	ev := expectEvent(t, in, EventEnded)
	if ev.Reason != ReasonSessionExpired {
		t.Errorf("callee ended with %q, want %q", ev.Reason, ReasonSessionExpired)
	}
	if ev := expectEvent(t, out, EventEnded); ev.Reason != ReasonRemoteHangup {
		t.Errorf("caller ended with %q, want %q", ev.Reason, ReasonRemoteHangup)
	}
}

// TestSessionTooSmall: an INVITE asking for less than 90 s gets 422 with
// Min-SE.
func TestSessionTooSmall(t *testing.T) {
	u := startUA(t, newIncomingRec(), Account{ID: "1", User: "1001"})
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	codes, last := rawExchange(t, u, rawInvite("1001", "Contact: <sip:raw@LOCAL>\nSupported: timer\nSession-Expires: 60\nContent-Type: application/sdp\n", sdp))
	if len(codes) == 0 || !strings.HasPrefix(codes[len(codes)-1], "SIP/2.0 422") {
		t.Fatalf("answers %v, want 422", codes)
	}
	if !strings.Contains(last, "Min-SE: 90\r\n") {
		t.Errorf("422 without Min-SE: 90:\n%s", last)
	}
}

// TestGlare: both sides re-INVITE at once; each gets 491, backs off and
// tries again, and both re-INVITEs go through.
func TestGlare(t *testing.T) {
	out, in, _, _ := answeredPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Hold the callee's answer until both re-INVITEs are out: the
	// caller's re-INVITE marks it pending before it is sent, so a second
	// one from the callee meets it.
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for _, c := range []*Call{out, in} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Reinvite(ctx, c.Local(), SendRecv)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("re-INVITE: %v", err)
		}
	}
}

// TestGlareBackoffRetry: the far end has a re-INVITE of its own pending,
// so ours gets 491; the caller (it chose the Call-ID) waits 2.1 to 4 s
// and sends it again, which goes through.
func TestGlareBackoffRetry(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "7", User: "1002"})
	ca := newManualClock()
	a.callAfter = ca.after
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if err := in.Answer(media(40002)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	expectEvent(t, in, EventAnswered)
	if d := ca.nextWait(t); d != DefaultSessionExpires/2 {
		t.Fatalf("first wait %v is not the session refresh", d)
	}
	in.mu.Lock()
	in.reinviting++ // as if its own re-INVITE waited for an answer
	in.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- out.Reinvite(context.Background(), out.Local(), SendOnly) }()
	if d := ca.nextWait(t); d < 2100*time.Millisecond || d > 4*time.Second {
		t.Errorf("caller backs off %v, want 2.1..4 s", d)
	}
	in.mu.Lock()
	in.reinviting--
	in.mu.Unlock()
	ca.fireLast()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("re-INVITE not retried")
	}
	expectEvent(t, in, EventMediaChanged)
	if got := in.Remote().Direction; got != SendOnly {
		t.Errorf("callee sees %s after the retry, want sendonly", got)
	}
}

// TestPRACKBothWays: the caller offers 100rel, so the callee's 183 with
// SDP goes reliably; the caller PRACKs it and has early media; the 200
// follows the PRACK.
func TestPRACKBothWays(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "7", User: "1002"})
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if !in.reliable(true) || in.reliable(false) {
		t.Fatalf("reliable(sdp)=%v reliable(none)=%v, want true, false", in.reliable(true), in.reliable(false))
	}
	if err := in.Progress(media(40002)); err != nil {
		t.Fatal(err)
	}
	ev := expectEventKind(t, out, EventProgress)
	for ev.Code != 183 {
		ev = expectEventKind(t, out, EventProgress)
	}
	Eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal(what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	Eventually("no early media", out.EarlyMedia)
	if rm := out.Remote(); rm.Addr.Port() != 40002 {
		t.Errorf("early media from %v, want port 40002", rm.Addr)
	}
	Eventually("the reliable 183 was never PRACKed", func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return in.rel.pending == nil && in.rel.rseq != 0
	})
	out.mu.Lock()
	acked, sent := out.rel.acked, in.rel.rseq
	out.mu.Unlock()
	if acked != sent {
		t.Errorf("caller PRACKed RSeq %d, callee sent %d", acked, sent)
	}
	if err := in.Answer(media(40002)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	if out.EarlyMedia() {
		t.Error("EarlyMedia still true after the answer")
	}
	if err := out.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRedirectFollowed: the callee redirects with 302 to a third UA; the
// caller follows and that one answers.
func TestRedirectFollowed(t *testing.T) {
	hb, hc := newIncomingRec(), newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "7", User: "1002"})
	c := startUA(t, hc, Account{ID: "9", User: "1003"})
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if err := in.Redirect(uri("1003", c)); err != nil {
		t.Fatal(err)
	}
	_, in2 := hc.next(t)
	if err := in2.Answer(media(40004)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	if rm := out.Remote(); rm.Addr.Port() != 40004 {
		t.Errorf("answered from %v, want the redirected target's port 40004", rm.Addr)
	}
	expectEvent(t, in2, EventAnswered)
	if err := out.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, in2, EventEnded)
}

func FuzzParseRSeqRAck(f *testing.F) {
	for _, s := range []string{"1", "4294967295", "776656 1 INVITE", " 5 17 INVITE ", "", "x y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseRSeq(s); err == nil && n == 0 {
			t.Fatalf("parseRSeq(%q) = 0 without error", s)
		}
		if r, err := parseRAck(s); err == nil {
			if r.rseq == 0 || r.cseq == 0 || r.method == "" {
				t.Fatalf("parseRAck(%q) = %+v", s, r)
			}
		}
	})
}

func FuzzParseSessionExpires(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uac", "4000 ; refresher = UAS ;x=y", "0", ";", "1;refresher"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		se, err := parseSessionExpires(s)
		if err != nil {
			return
		}
		if se.interval <= 0 || se.interval > maxSessionExpires {
			t.Fatalf("parseSessionExpires(%q) interval %v", s, se.interval)
		}
		back, err := parseSessionExpires(se.String())
		if err != nil || back != se {
			t.Fatalf("%q: %q reads back as %+v, %v", s, se.String(), back, err)
		}
		_, _ = parseMinSE(s)
	})
}
