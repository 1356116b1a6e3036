package sip

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestDialAccount: a call from one of the UA's accounts to another goes
// straight to the UA's own address over UDP, although both accounts name a
// TCP registrar that is not there; the offer takes the callee's mandatory
// SRTP.
func TestDialAccount(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	absent := "sip:" + l.Addr().String() + ";transport=tcp"
	l.Close()
	h := newIncomingRec()
	u := startUA(t, h,
		Account{ID: "1", User: "1001", Password: "secret1", Registrar: absent, Transport: "tcp"},
		Account{ID: "2", User: "1002", Password: "secret2", Registrar: absent, Transport: "tcp", SRTP: SRTPMandatory})
	out, err := u.DialAccount(context.Background(), "1", "2", media(40010))
	if err != nil {
		t.Fatal(err)
	}
	acct, in := h.next(t)
	if acct.ID != "2" || in.Peer() != "1001" {
		t.Fatalf("incoming on %s from %q", acct.ID, in.Peer())
	}
	if err := in.Answer(media(40012)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	expectEvent(t, in, EventAnswered)
	if !out.Remote().SRTP.Enabled() || !in.Remote().SRTP.Enabled() {
		t.Errorf("no SRTP keys: %+v / %+v", out.Remote().SRTP, in.Remote().SRTP)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := out.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, in, EventEnded)
}

func TestDialAccountErrors(t *testing.T) {
	u := startUA(t, nil, Account{ID: "1", User: "101"}, Account{ID: "2", User: "102"})
	for _, tc := range []struct {
		name, from, to string
	}{
		{"unknown caller", "9", "2"},
		{"unknown callee", "1", "9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := u.DialAccount(context.Background(), tc.from, tc.to, media(40020)); !errors.Is(err, ErrUnknownAccount) {
				t.Errorf("err %v, want ErrUnknownAccount", err)
			}
		})
	}
	idle, err := New(Config{Listen: "127.0.0.1:0", Accounts: []Account{{ID: "1", User: "101"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idle.DialAccount(context.Background(), "1", "1", media(40020)); !errors.Is(err, ErrNotStarted) {
		t.Errorf("not started: %v", err)
	}
}

func TestStricterSRTP(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"", "", ""},
		{"", SRTPOptional, SRTPOptional},
		{SRTPMandatory, SRTPOptional, SRTPMandatory},
		{SRTPOptional, SRTPMandatory, SRTPMandatory},
		{SRTPOptional, "", SRTPOptional},
	} {
		if got := stricterSRTP(tc.a, tc.b); got != tc.want {
			t.Errorf("stricterSRTP(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}
