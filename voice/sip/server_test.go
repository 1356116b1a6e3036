package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// rawExchange sends one datagram to the UA and returns the status lines and
// full text of the responses up to the first final one.
func rawExchange(t *testing.T, u *UA, msg string) (codes []string, last string) {
	t.Helper()
	c, err := net.Dial("udp4", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg = strings.ReplaceAll(msg, "LOCAL", local)
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return codes, last
		}
		last = string(buf[:n])
		line, _, _ := strings.Cut(last, "\r\n")
		codes = append(codes, line)
		f := strings.Fields(line)
		if len(f) > 1 && f[1] >= "200" {
			return codes, last
		}
	}
}

func rawInvite(user, headersExtra, body string) string {
	return fmt.Sprintf("INVITE sip:%s@127.0.0.1 SIP/2.0\n"+
		"Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-%d\n"+
		"From: <sip:raw@127.0.0.1>;tag=abc\n"+
		"To: <sip:%s@127.0.0.1>\n"+
		"Call-ID: raw-%d@test\n"+
		"CSeq: 1 INVITE\n"+
		"Max-Forwards: 70\n"+
		"%s"+
		"Content-Length: %d\n\n%s", user, time.Now().UnixNano(), user, time.Now().UnixNano(), headersExtra, len(body), body)
}

func TestServerResponses(t *testing.T) {
	u := startUA(t, newIncomingRec(), Account{ID: "1", User: "1001"})
	sdpOnlyOpus := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n"
	tests := []struct {
		name string
		msg  string
		want string // final status line prefix
		hdrs []string
	}{
		{
			name: "options",
			msg:  "OPTIONS sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-opt1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: opt1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 200",
			hdrs: []string{"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, INFO, NOTIFY, PRACK, UPDATE", "Accept: application/sdp", "User-Agent: Loopstart/test"},
		},
		{
			name: "bye without dialog",
			msg:  "BYE sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-bye1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>;tag=2\nCall-ID: nodialog\nCSeq: 2 BYE\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 481",
		},
		{
			name: "cancel without transaction",
			msg:  "CANCEL sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-can1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: nocancel\nCSeq: 1 CANCEL\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 481",
		},
		{
			name: "unsupported method",
			msg:  "SUBSCRIBE sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-sub1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: sub1\nCSeq: 1 SUBSCRIBE\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 405",
		},
		{name: "unknown user", msg: rawInvite("4711", "Contact: <sip:raw@LOCAL>\n", ""), want: "SIP/2.0 404"},
		{name: "no contact", msg: rawInvite("1001", "", ""), want: "SIP/2.0 400 Bad Request (missing Contact)"},
		{name: "no sdp", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\n", ""), want: "SIP/2.0 488 Not Acceptable Here (no SDP offer)"},
		{name: "bad sdp", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\nContent-Type: application/sdp\n", "v=0\r\nbogus\r\n"), want: "SIP/2.0 488 Not Acceptable Here (bad SDP)"},
		{name: "no common codec", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\nContent-Type: application/sdp\n", sdpOnlyOpus), want: "SIP/2.0 488 Not Acceptable Here (no common codec)"},
		{name: "not sdp", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\nContent-Type: text/plain\n", "hello"), want: "SIP/2.0 415"},
		{
			name: "unknown method",
			msg:  "FROBNICATE sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-frob1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: frob1\nCSeq: 1 FROBNICATE\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 501 Not Implemented",
			hdrs: []string{"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, INFO, NOTIFY, PRACK, UPDATE"},
		},
		{
			name: "unsupported require",
			msg:  "OPTIONS sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-req1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: req1\nCSeq: 1 OPTIONS\nRequire: 100rel, foo\nRequire: timer, bar\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 420 Bad Extension",
			hdrs: []string{"Unsupported: foo, bar"},
		},
		{
			name: "unsupported scheme",
			msg:  "OPTIONS mailto:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-sch1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: sch1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 416",
		},
		{
			name: "version",
			msg:  "OPTIONS sip:1001@127.0.0.1 SIP/3.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-ver1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: ver1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 505",
		},
		{
			name: "cseq method mismatch",
			msg:  "OPTIONS sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-mm1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: mm1\nCSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 400",
		},
		{
			name: "two call-ids",
			msg:  "OPTIONS sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-dup1\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: dup1\ni: dup2\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n",
			want: "SIP/2.0 400",
		},
		{name: "unacceptable accept", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\nAccept: text/html\n", ""), want: "SIP/2.0 406", hdrs: []string{"Accept: application/sdp"}},
		{name: "accept wildcard", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\nAccept: application/*\n", ""), want: "SIP/2.0 488"},
		{name: "not sdp accept", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\nContent-Type: text/plain\n", "hello"), want: "SIP/2.0 415", hdrs: []string{"Accept: application/sdp"}},
		{name: "compressed body", msg: rawInvite("1001", "Contact: <sip:raw@LOCAL>\nContent-Type: application/sdp\nContent-Encoding: gzip\n", "v=0\r\n"), want: "SIP/2.0 415", hdrs: []string{"Accept-Encoding: identity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codes, last := rawExchange(t, u, tt.msg)
			if len(codes) == 0 {
				t.Fatal("no response")
			}
			if got := codes[len(codes)-1]; !strings.HasPrefix(got, tt.want) {
				t.Fatalf("responses %q, want final %q", codes, tt.want)
			}
			for _, h := range tt.hdrs {
				if !strings.Contains(last, h+"\r\n") {
					t.Errorf("response lacks %q:\n%s", h, last)
				}
			}
		})
	}
}

func TestServerSurvivesGarbage(t *testing.T) {
	u := startUA(t, newIncomingRec(), Account{ID: "1", User: "1001"})
	c, err := net.Dial("udp4", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	junk := []string{
		"\x00\x01\x02garbage",
		"INVITE\r\n\r\n",
		"INVITE sip:1001@127.0.0.1 SIP/2.0\r\nContent-Length: 99999\r\n\r\nv=0",
		"SIP/2.0 200 OK\r\nCSeq: x\r\n\r\n",
		"BYE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-j\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
		"ACK sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK-k\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
	}
	for _, j := range junk {
		if _, err := c.Write([]byte(j)); err != nil {
			t.Fatal(err)
		}
	}
	// Still alive: an OPTIONS gets its 200.
	codes, _ := rawExchange(t, u, "OPTIONS sip:1001@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK-opt2\nFrom: <sip:x@127.0.0.1>;tag=1\nTo: <sip:1001@127.0.0.1>\nCall-ID: opt2\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n")
	if len(codes) == 0 || !strings.HasPrefix(codes[len(codes)-1], "SIP/2.0 200") {
		t.Fatalf("after garbage: %q", codes)
	}
}
