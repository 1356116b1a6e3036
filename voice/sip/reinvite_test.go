package sip

import (
	"context"
	"testing"
	"time"
)

func TestAnswerDirection(t *testing.T) {
	tests := []struct {
		offer, local, want Direction
	}{
		{SendRecv, "", SendRecv},
		{SendOnly, "", RecvOnly},
		{RecvOnly, "", SendOnly},
		{Inactive, "", Inactive},
		{SendRecv, SendOnly, SendOnly},
		{SendOnly, SendOnly, Inactive},
		{SendOnly, Inactive, Inactive},
		{RecvOnly, SendOnly, SendOnly},
	}
	for _, tt := range tests {
		if got := answerDirection(tt.offer, tt.local); got != tt.want {
			t.Errorf("answerDirection(%s, %q) = %s, want %s", tt.offer, tt.local, got, tt.want)
		}
	}
}

// answeredPair sets up an answered call between two UAs.
func answeredPair(t *testing.T) (out, in *Call, a, b *UA) {
	t.Helper()
	hb := newIncomingRec()
	a = startUA(t, nil, Account{ID: "1", User: "1001"})
	b = startUA(t, hb, Account{ID: "7", User: "1002"})
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
	return out, in, a, b
}

// TestReinviteHold holds and resumes each side of a call in turn: the
// held side sees the far end holding, the holder the answer's direction.
func TestReinviteHold(t *testing.T) {
	out, in, _, _ := answeredPair(t)
	tests := []struct {
		name      string
		from, to  *Call
		dir       Direction
		wantFar   Direction // what the re-INVITEd side sees
		wantReply Direction // what the sender gets back
	}{
		{"caller holds", out, in, SendOnly, SendOnly, RecvOnly},
		{"caller resumes", out, in, SendRecv, SendRecv, SendRecv},
		{"callee holds", in, out, SendOnly, SendOnly, RecvOnly},
		{"caller holds back", out, in, Inactive, Inactive, Inactive},
		{"callee resumes, caller still holds", in, out, SendRecv, SendRecv, Inactive},
		{"caller resumes last", out, in, SendRecv, SendRecv, SendRecv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tt.from.Reinvite(ctx, tt.from.Local(), tt.dir); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, tt.to, EventMediaChanged)
			if got := tt.to.Remote().Direction; got != tt.wantFar {
				t.Errorf("re-INVITEd side sees %s, want %s", got, tt.wantFar)
			}
			if got := tt.from.Remote().Direction; got != tt.wantReply {
				t.Errorf("sender got %s, want %s", got, tt.wantReply)
			}
			if hold := tt.to.Remote().Holding(); hold != (tt.dir != SendRecv) {
				t.Errorf("Holding() = %v", hold)
			}
		})
	}
}

// TestRefer transfers a call: the REFER is accepted and reported, and the
// transferee's NOTIFYs reach the transferor as EventTransfer.
func TestRefer(t *testing.T) {
	out, in, _, b := answeredPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	target := "<sip:1003@" + b.Addr().String() + "?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>"
	if err := in.Refer(ctx, target); err != nil {
		t.Fatal(err)
	}
	ev := expectEvent(t, out, EventReferred)
	got, by := out.ReferTo()
	if ev.Reason != got || got != "sip:1003@"+b.Addr().String() || by == "" {
		t.Errorf("refer-to %q (event %q), referred-by %q", got, ev.Reason, by)
	}
	if ev := expectEvent(t, in, EventTransfer); ev.Code != 100 {
		t.Errorf("first notify %+v", ev)
	}
	if err := out.NotifyTransfer(ctx, 200, ""); err != nil {
		t.Fatal(err)
	}
	if ev := expectEvent(t, in, EventTransfer); ev.Code != 200 {
		t.Errorf("final notify %+v", ev)
	}
}

func TestParseReferTo(t *testing.T) {
	tests := []struct {
		in, target, replaces string
		bad                  bool
	}{
		{in: "<sip:c@h>", target: "sip:c@h"},
		{in: "sip:c@h;x=y", target: "sip:c@h"},
		{in: `"C" <sip:c@h:5070?Replaces=id%40x%3Bto-tag%3Da%3Bfrom-tag%3Db>`, target: "sip:c@h:5070", replaces: "id@x;to-tag=a;from-tag=b"},
		{in: "<sip:c@h?Replaces=id>", bad: true},
		{in: "<tel:123>", bad: true},
		{in: "<sip:c@h", bad: true},
	}
	for _, tt := range tests {
		target, rep, err := ParseReferTo(tt.in)
		if (err != nil) != tt.bad || target != tt.target || rep != tt.replaces {
			t.Errorf("ParseReferTo(%q) = %q, %q, %v", tt.in, target, rep, err)
		}
	}
}

func TestParseSipfrag(t *testing.T) {
	tests := []struct {
		in     string
		code   int
		reason string
		bad    bool
	}{
		{in: "SIP/2.0 200 OK\r\n", code: 200, reason: "OK"},
		{in: "SIP/2.0 100 Trying", code: 100, reason: "Trying"},
		{in: "SIP/2.0 486 Busy Here\r\nVia: x\r\n", code: 486, reason: "Busy Here"},
		{in: "INVITE sip:x SIP/2.0", bad: true},
		{in: "SIP/2.0 99 Low", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		code, reason, err := ParseSipfrag([]byte(tt.in))
		if (err != nil) != tt.bad || code != tt.code || reason != tt.reason {
			t.Errorf("ParseSipfrag(%q) = %d, %q, %v", tt.in, code, reason, err)
		}
	}
}

func FuzzParseReferTo(f *testing.F) {
	f.Add("<sip:c@h?Replaces=id%40x%3Bto-tag%3Da%3Bfrom-tag%3Db>")
	f.Add("sip:c@h;x=y")
	f.Fuzz(func(t *testing.T, s string) {
		target, rep, err := ParseReferTo(s)
		if err == nil && target == "" {
			t.Errorf("no error and no target for %q", s)
		}
		if rep != "" {
			if _, _, _, err := ParseReplaces(rep); err != nil {
				t.Errorf("replaces %q accepted but does not parse: %v", rep, err)
			}
		}
	})
}

func FuzzParseSipfrag(f *testing.F) {
	f.Add([]byte("SIP/2.0 200 OK\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		code, _, err := ParseSipfrag(b)
		if err == nil && (code < 100 || code > 699) {
			t.Errorf("code %d accepted", code)
		}
	})
}
