package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// testLogger logs to stderr with -v, nowhere otherwise.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// incomingRec collects incoming calls.
type incomingRec struct {
	calls chan *Call
	accts chan *Account
}

func newIncomingRec() *incomingRec {
	return &incomingRec{calls: make(chan *Call, 8), accts: make(chan *Account, 8)}
}

func (h *incomingRec) Incoming(a *Account, c *Call) {
	h.accts <- a
	h.calls <- c
}

func (h *incomingRec) next(t *testing.T) (*Account, *Call) {
	t.Helper()
	select {
	case a := <-h.accts:
		return a, <-h.calls
	case <-time.After(5 * time.Second):
		t.Fatal("no incoming call")
	}
	return nil, nil
}

func startUA(t *testing.T, h Handler, accts ...Account) *UA {
	t.Helper()
	u, err := New(Config{Listen: "127.0.0.1:0", UserAgent: "Loopstart/test", Accounts: accts, Logger: testLogger(), Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := u.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return u
}

func media(port uint16, codecs ...string) LocalMedia {
	return LocalMedia{Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), Codecs: codecs}
}

// nextEvent waits for one event; ok is false when the channel is closed.
func nextEvent(t *testing.T, c *Call) (Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-c.Events():
		return ev, ok
	case <-time.After(10 * time.Second):
		t.Fatalf("call %s: no event", c.ID())
	}
	return Event{}, false
}

// expectEvent skips progress events until one of kind arrives.
func expectEvent(t *testing.T, c *Call, kind EventKind) Event {
	t.Helper()
	for {
		ev, ok := nextEvent(t, c)
		if !ok {
			t.Fatalf("call %s: events closed while waiting for %v", c.ID(), kind)
		}
		if ev.Kind == kind {
			return ev
		}
		if ev.Kind != EventProgress {
			t.Fatalf("call %s: got %+v while waiting for %v", c.ID(), ev, kind)
		}
	}
}

func expectClosed(t *testing.T, c *Call) {
	t.Helper()
	if ev, ok := nextEvent(t, c); ok {
		t.Fatalf("call %s: event %+v after the final one", c.ID(), ev)
	}
}

func uri(user string, u *UA) string { return fmt.Sprintf("sip:%s@%s", user, u.Addr()) }

func TestCallAnswerHangup(t *testing.T) {
	tests := []struct {
		name          string
		callerCodecs  []string
		calleeCodecs  []string
		wantCodec     string
		wantPT        uint8
		calleeHangsUp bool
		transport     string
	}{
		{"caller hangs up, callee prefers pcmu", []string{"pcma", "pcmu"}, []string{"pcmu", "pcma"}, "pcmu", 0, false, ""},
		{"callee hangs up, callee prefers pcma", []string{"pcmu", "pcma"}, []string{"pcma", "pcmu"}, "pcma", 8, true, ""},
		{"single codec", []string{"pcma"}, nil, "pcma", 8, false, ""},
		{"tcp, caller hangs up", nil, nil, "pcmu", 0, false, "tcp"},
		{"tcp, callee hangs up", nil, nil, "pcmu", 0, true, "tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb := newIncomingRec()
			a := startUA(t, nil, Account{ID: "1", User: "1001", Display: "Alice", Transport: tt.transport})
			b := startUA(t, hb, Account{ID: "7", User: "1002"})
			ctx := context.Background()
			out, err := a.Dial(ctx, "1", uri("1002", b), media(40000, tt.callerCodecs...))
			if err != nil {
				t.Fatal(err)
			}
			if out.Incoming() || out.Peer() != "1002" || out.ID() == "" {
				t.Errorf("outgoing call: incoming=%v peer=%q id=%q", out.Incoming(), out.Peer(), out.ID())
			}
			acct, in := hb.next(t)
			if acct.ID != "7" || !in.Incoming() || in.ID() != out.ID() {
				t.Errorf("incoming on account %s, incoming=%v, id %q vs %q", acct.ID, in.Incoming(), in.ID(), out.ID())
			}
			if in.Peer() != "Alice <1001>" {
				t.Errorf("peer %q", in.Peer())
			}
			offerFirst := "pcmu"
			if len(tt.callerCodecs) > 0 {
				offerFirst = tt.callerCodecs[0]
			}
			if rm := in.Remote(); rm.Addr.Port() != 40000 || rm.Codec != offerFirst || rm.DTMFPT != 101 {
				t.Errorf("offer media before answer: %+v", rm)
			}
			if err := in.Ringing(); err != nil {
				t.Fatal(err)
			}
			if ev := expectEventKind(t, out, EventProgress); ev.Code != 180 {
				t.Errorf("progress %+v", ev)
			}
			if err := in.Answer(media(40002, tt.calleeCodecs...)); err != nil {
				t.Fatal(err)
			}
			if ev := expectEvent(t, out, EventAnswered); ev.Code != 200 {
				t.Errorf("answered %+v", ev)
			}
			want := RemoteMedia{Addr: netip.MustParseAddrPort("127.0.0.1:40002"), Codec: tt.wantCodec, PT: tt.wantPT, DTMFPT: 101, PTime: 20, Direction: SendRecv}
			if rm := out.Remote(); rm != want {
				t.Errorf("caller remote media %+v, want %+v", rm, want)
			}
			want.Addr = netip.MustParseAddrPort("127.0.0.1:40000")
			if rm := in.Remote(); rm != want {
				t.Errorf("callee remote media %+v, want %+v", rm, want)
			}
			expectEvent(t, in, EventAnswered) // the ACK arrived
			hanger, other := out, in
			if tt.calleeHangsUp {
				hanger, other = in, out
			}
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := hanger.Hangup(hctx); err != nil {
				t.Fatal(err)
			}
			if ev := expectEvent(t, hanger, EventEnded); ev.Reason != ReasonLocalHangup {
				t.Errorf("hanger ended %+v", ev)
			}
			if ev := expectEvent(t, other, EventEnded); ev.Reason != ReasonRemoteHangup {
				t.Errorf("other side ended %+v", ev)
			}
			expectClosed(t, hanger)
			expectClosed(t, other)
			if err := hanger.Hangup(hctx); err != nil {
				t.Errorf("second hangup: %v", err)
			}
		})
	}
}

// expectEventKind waits for the next event and checks its kind.
func expectEventKind(t *testing.T, c *Call, kind EventKind) Event {
	t.Helper()
	ev, ok := nextEvent(t, c)
	if !ok || ev.Kind != kind {
		t.Fatalf("call %s: got %+v (open=%v), want %v", c.ID(), ev, ok, kind)
	}
	return ev
}

func TestCallCancelWhileRinging(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "1", User: "1002"})
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if err := in.Ringing(); err != nil {
		t.Fatal(err)
	}
	expectEventKind(t, out, EventProgress)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := expectEvent(t, out, EventEnded); ev.Reason != ReasonCancelled {
		t.Errorf("caller: %+v", ev)
	}
	if ev := expectEvent(t, in, EventEnded); ev.Reason != ReasonCancelled {
		t.Errorf("callee: %+v", ev)
	}
	expectClosed(t, out)
	expectClosed(t, in)
	if err := in.Answer(media(40002)); !errors.Is(err, ErrCallState) {
		t.Errorf("answer after cancel: %v", err)
	}
}

func TestCallRejected(t *testing.T) {
	tests := []struct {
		name         string
		callerCodecs []string
		calleeCodecs []string
		code         int
		reason       string
	}{
		{"busy", nil, nil, 486, "Busy Here"},
		{"no common codec", []string{"pcma"}, []string{"pcmu"}, 488, ""},
		{"decline", nil, nil, 603, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hb := newIncomingRec()
			a := startUA(t, nil, Account{ID: "1", User: "1001"})
			b := startUA(t, hb, Account{ID: "1", User: "1002"})
			out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000, tt.callerCodecs...))
			if err != nil {
				t.Fatal(err)
			}
			_, in := hb.next(t)
			if tt.code == 488 {
				if err := in.Answer(media(40002, tt.calleeCodecs...)); !errors.Is(err, ErrNoCommonCodec) {
					t.Fatalf("answer: %v, want ErrNoCommonCodec", err)
				}
			}
			if err := in.Reject(tt.code, tt.reason); err != nil {
				t.Fatal(err)
			}
			ev := expectEvent(t, out, EventFailed)
			if ev.Code != tt.code {
				t.Errorf("caller: %+v, want code %d", ev, tt.code)
			}
			if tt.reason != "" && ev.Reason != tt.reason {
				t.Errorf("caller reason %q, want %q", ev.Reason, tt.reason)
			}
			if ev := expectEvent(t, in, EventEnded); ev.Code != tt.code {
				t.Errorf("callee: %+v", ev)
			}
			expectClosed(t, out)
			expectClosed(t, in)
		})
	}
}

func TestCallUnknownUser(t *testing.T) {
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, newIncomingRec(), Account{ID: "1", User: "1002"})
	out, err := a.Dial(context.Background(), "1", uri("4711", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	if ev := expectEvent(t, out, EventFailed); ev.Code != 404 {
		t.Errorf("%+v", ev)
	}
}

// TestDirectModeSelfCall is direct mode (`make run` without a config): two
// ports of one gateway
// call each other through its own SIP stack.
func TestDirectModeSelfCall(t *testing.T) {
	for _, calleeHangsUp := range []bool{false, true} {
		t.Run(fmt.Sprintf("callee hangs up %v", calleeHangsUp), func(t *testing.T) {
			h := newIncomingRec()
			u := startUA(t, h, Account{ID: "1", User: "101"}, Account{ID: "2", User: "102"})
			out, err := u.Dial(context.Background(), "1", "102", media(40000))
			if err != nil {
				t.Fatal(err)
			}
			acct, in := h.next(t)
			if acct.ID != "2" || in.Peer() != "101" {
				t.Fatalf("incoming on %s from %q", acct.ID, in.Peer())
			}
			if err := in.Ringing(); err != nil {
				t.Fatal(err)
			}
			if err := in.Answer(media(40002)); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, out, EventAnswered)
			expectEvent(t, in, EventAnswered)
			if out.Remote().Addr.Port() != 40002 || in.Remote().Addr.Port() != 40000 {
				t.Errorf("media %+v / %+v", out.Remote(), in.Remote())
			}
			hanger, other := out, in
			if calleeHangsUp {
				hanger, other = in, out
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := hanger.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			if ev := expectEvent(t, other, EventEnded); ev.Reason != ReasonRemoteHangup {
				t.Errorf("%+v", ev)
			}
			expectEvent(t, hanger, EventEnded)
		})
	}
}

func TestHangupUnansweredIncoming(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "1", User: "1002"})
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := expectEvent(t, out, EventFailed); ev.Code != 480 {
		t.Errorf("%+v", ev)
	}
}

func TestCloseEndsCalls(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	u, err := New(Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "1002"}}, Logger: testLogger(), Handler: hb})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := a.Dial(ctx, "1", uri("1002", u), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if err := in.Answer(media(40002)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	expectEvent(t, in, EventAnswered)
	if err := u.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ev := expectEvent(t, out, EventEnded); ev.Reason != ReasonRemoteHangup {
		t.Errorf("%+v", ev)
	}
	expectEvent(t, in, EventEnded)
	if _, err := u.Dial(ctx, "1", "1001", media(40000)); !errors.Is(err, ErrClosed) {
		t.Errorf("dial after close: %v", err)
	}
}

func TestStartPortInUse(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	u, err := New(Config{Listen: pc.LocalAddr().String(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	err = u.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("start on a busy port: %v", err)
	}
}

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad listen", Config{Listen: "nowhere"}, "listen address"},
		{"empty user", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1"}}}, "empty user"},
		{"dup id", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a"}, {ID: "1", User: "b"}}}, "duplicate id"},
		{"dup user", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a"}, {ID: "2", User: "a"}}}, "used by another"},
		{"bad registrar", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a", Registrar: "http://x"}}}, "registrar"},
		{"ws", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a", Registrar: "sip:x;transport=ws"}}}, "not supported"},
		{"tls direct", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a", Transport: "tls"}}}, "needs a registrar"},
		{"sips over tcp", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a", Registrar: "sips:x", Transport: "tcp"}}}, "needs transport tls"},
		{"bad srtp", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a", SRTP: "always"}}}, "want off, optional or mandatory"},
		{"missing ca file", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a", Registrar: "sips:x", CAFile: "/nonexistent/ca.pem"}}}, "ca-file"},
		{"empty ca file", Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "a", Registrar: "sips:x", CAFile: "/dev/null"}}}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
