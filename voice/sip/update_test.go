package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// sendUpdate sends an in-dialog UPDATE from c, with an SDP offer of local
// in direction dir when offer is true, and returns the final answer.
func sendUpdate(t *testing.T, c *Call, offer bool, local LocalMedia, dir Direction) *sipmsg.Response {
	t.Helper()
	req := sipmsg.NewRequest(sipmsg.UPDATE, c.remoteTarget())
	req.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	if offer {
		local.Direction = dir
		c.mu.Lock()
		c.sdpVersion++
		ver := c.sdpVersion
		c.mu.Unlock()
		body, _, err := buildOfferSRTP(local, c.sessID, ver)
		if err != nil {
			t.Fatal(err)
		}
		ct := sipmsg.ContentTypeHeader(typeSDP)
		req.AppendHeader(&ct)
		req.SetBody(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.inDialog(ctx, req)
	if err != nil {
		t.Fatalf("UPDATE: %v", err)
	}
	return res
}

// TestUpdateAnswered: in an answered call an UPDATE with an offer
// renegotiates the media (hold and resume, both ways) with the answer in
// the 200; one without a body is answered 200 with no SDP.
func TestUpdateAnswered(t *testing.T) {
	out, in, _, _ := answeredPair(t)
	tests := []struct {
		name       string
		from, to   *Call
		offer      bool
		dir        Direction
		wantFar    Direction // what the UPDATEd side sees
		wantAnswer string    // the 200's SDP direction attribute, "" for no SDP
	}{
		{"caller holds", out, in, true, SendOnly, SendOnly, "a=recvonly"},
		{"caller resumes", out, in, true, SendRecv, SendRecv, "a=sendrecv"},
		{"callee holds", in, out, true, SendOnly, SendOnly, "a=recvonly"},
		{"callee resumes", in, out, true, SendRecv, SendRecv, "a=sendrecv"},
		{"refresh without SDP", out, in, false, SendRecv, SendRecv, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sendUpdate(t, tt.from, tt.offer, media(40010), tt.dir)
			if res.StatusCode != 200 {
				t.Fatalf("UPDATE answered %d %s", res.StatusCode, res.Reason)
			}
			body := string(res.Body())
			if tt.wantAnswer == "" {
				if body != "" {
					t.Errorf("an UPDATE without SDP got SDP back:\n%s", body)
				}
				return
			}
			if !strings.Contains(body, tt.wantAnswer+"\r\n") {
				t.Errorf("answer without %s:\n%s", tt.wantAnswer, body)
			}
			if ev := expectEvent(t, tt.to, EventMediaChanged); ev.Reason != "UPDATE" {
				t.Errorf("media change reason %q", ev.Reason)
			}
			if got := tt.to.Remote().Direction; got != tt.wantFar {
				t.Errorf("far direction %v, want %v", got, tt.wantFar)
			}
			if got := tt.to.Remote().Addr.Port(); got != 40010 {
				t.Errorf("far media port %d after the UPDATE, want 40010", got)
			}
		})
	}
}

// TestUpdateSessionRefresh: an UPDATE without SDP refreshes a session
// timer: the 200 states the interval and the count restarts.
func TestUpdateSessionRefresh(t *testing.T) {
	out, _, ca, cb := timedPair(t)
	ca.nextWait(t)
	cb.nextWait(t) // the callee waits for the caller's refresh
	req := sipmsg.NewRequest(sipmsg.UPDATE, out.remoteTarget())
	req.AppendHeader(&sipmsg.ContactHeader{Address: out.ua.contactFor(out.acct, out.leg.transport)})
	req.AppendHeader(sipmsg.NewHeader("Supported", tagTimer))
	req.AppendHeader(sipmsg.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uac", int(DefaultSessionExpires/time.Second))))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := out.inDialog(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("UPDATE answered %d", res.StatusCode)
	}
	if h := res.GetHeader("Session-Expires"); h == nil || !strings.HasPrefix(h.Value(), "1800") {
		t.Errorf("200 to a refreshing UPDATE has Session-Expires %v", h)
	}
	// The refresh restarted the callee's count: it waits again.
	if d := cb.nextWait(t); d != DefaultSessionExpires-32*time.Second {
		t.Errorf("after the refresh the callee waits %v, want %v", d, DefaultSessionExpires-32*time.Second)
	}
}

// TestUpdateEarly: before the answer an UPDATE without SDP gets 200, one
// with an offer 488, and the call rings on.
func TestUpdateEarly(t *testing.T) {
	hb := newIncomingRec()
	a := startUA(t, nil, Account{ID: "1", User: "1001"})
	b := startUA(t, hb, Account{ID: "7", User: "1002"})
	out, err := a.Dial(context.Background(), "1", uri("1002", b), media(40000))
	if err != nil {
		t.Fatal(err)
	}
	_, in := hb.next(t)
	if err := in.Ringing(); err != nil {
		t.Fatal(err)
	}
	if ev := expectEvent(t, out, EventProgress); ev.Code != 180 {
		t.Fatalf("progress %d, want 180", ev.Code)
	}
	if res := sendUpdate(t, in, false, media(40012), SendRecv); res.StatusCode != 200 {
		t.Errorf("early UPDATE without SDP answered %d, want 200", res.StatusCode)
	}
	if res := sendUpdate(t, in, true, media(40012), SendRecv); res.StatusCode != 488 {
		t.Errorf("early UPDATE with an offer answered %d, want 488", res.StatusCode)
	}
	if err := in.Answer(media(40002)); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, out, EventAnswered)
	if got := out.Remote().Addr.Port(); got != 40002 {
		t.Errorf("caller's far media port %d, want the answer's 40002", got)
	}
}

// TestUpdateUnknownDialog: an UPDATE for no dialog gets 481.
func TestUpdateUnknownDialog(t *testing.T) {
	u := startUA(t, newIncomingRec(), Account{ID: "1", User: "1001"})
	msg := strings.ReplaceAll(rawInvite("1001", "Contact: <sip:raw@LOCAL>\n", ""), "INVITE", "UPDATE")
	msg = strings.Replace(msg, "To: <sip:1001@127.0.0.1>", "To: <sip:1001@127.0.0.1>;tag=nosuchdialog", 1)
	codes, _ := rawExchange(t, u, msg)
	if len(codes) == 0 || !strings.HasPrefix(codes[len(codes)-1], "SIP/2.0 481") {
		t.Fatalf("answers %v, want 481", codes)
	}
}
