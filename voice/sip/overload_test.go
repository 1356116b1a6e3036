package sip

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

const floodInvite = "INVITE sip:1001@127.0.0.1:5062 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
	"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n" +
	"From: <sip:a@127.0.0.1>;tag=1\r\n" +
	"To: <sip:1001@127.0.0.1>\r\n" +
	"Call-ID: abc@127.0.0.1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Max-Forwards: 70\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestBuild503(t *testing.T) {
	tests := []struct {
		name, req string
		ok        bool
		want      []string
	}{
		{"invite", floodInvite, true, []string{"SIP/2.0 503 Service Unavailable\r\n",
			"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\nv: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n",
			"To: <sip:1001@127.0.0.1>;tag=ls503\r\n", "Call-ID: abc@127.0.0.1\r\n", "CSeq: 1 INVITE\r\n", "Retry-After: 5\r\n"}},
		{"compact and tagged", "OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKx\r\nf: <sip:a@h>;tag=9\r\nt: <sip:x@h>;tag=7\r\ni: id1\r\nCSeq: 2 OPTIONS\r\n\r\n",
			true, []string{"t: <sip:x@h>;tag=7\r\n", "i: id1\r\n"}},
		{"no call-id", strings.Replace(floodInvite, "Call-ID: abc@127.0.0.1\r\n", "", 1), false, nil},
		{"no line end", "INVITE sip:x SIP/2.0", false, nil},
		{"garbage", "\x00\x01\x02", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf [1500]byte
			r := build503(buf[:0], []byte(tt.req))
			if (r != nil) != tt.ok {
				t.Fatalf("build503 = %q, want ok=%v", r, tt.ok)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(r), w) {
					t.Errorf("answer lacks %q:\n%s", w, r)
				}
			}
			if tt.ok {
				// The answer must parse as a SIP response.
				msg, err := sipmsg.ParseMessage(r)
				if err != nil {
					t.Fatalf("answer does not parse: %v\n%s", err, r)
				}
				if res, ok := msg.(*sipmsg.Response); !ok || res.StatusCode != 503 {
					t.Fatalf("not a 503: %v", msg)
				}
			}
		})
	}
}

func TestBuild503Bounded(t *testing.T) {
	long := strings.Replace(floodInvite, "Call-ID: abc", "Call-ID: "+strings.Repeat("x", 1600), 1)
	var buf [1500]byte
	if r := build503(buf[:0], []byte(long)); r != nil {
		t.Fatalf("answer of %d bytes built into a 1500-byte buffer", len(r))
	}
}

func FuzzBuild503(f *testing.F) {
	f.Add([]byte(floodInvite))
	f.Add([]byte("OPTIONS sip:x SIP/2.0\r\nv: a\r\nf: b\r\nt: c\r\ni: d\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var buf [1500]byte
		r := build503(buf[:0], b)
		if len(r) > len(buf) {
			t.Fatalf("answer of %d bytes overflowed the buffer", len(r))
		}
		if r != nil && !strings.HasPrefix(string(r), "SIP/2.0 503 ") {
			t.Fatalf("bad answer %q", r)
		}
	})
}

// TestLimiter: each source gets its rate with a one-second burst, all of
// them together the global rate; tokens come back with time; the least
// recently seen source gives up its slot.
func TestLimiter(t *testing.T) {
	l := limiter{globalRate: 30, sourceRate: 10}
	a := netip.MustParseAddrPort("127.0.0.1:1000")
	b := netip.MustParseAddrPort("127.0.0.1:2000")
	now := time.Second.Nanoseconds()
	count := func(src netip.AddrPort, n int) (ok int) {
		for range n {
			if l.allow(src, now) {
				ok++
			}
		}
		return ok
	}
	if got := count(a, 50); got != 10 {
		t.Fatalf("source a: %d of 50 allowed, want its burst of 10", got)
	}
	if got := count(b, 5); got != 5 {
		t.Fatalf("source b is limited by a's flood: %d of 5", got)
	}
	now += (500 * time.Millisecond).Nanoseconds()
	if got := count(a, 50); got != 5 {
		t.Fatalf("after 0.5 s source a got %d, want 5", got)
	}
	// Many sources: the global rate caps them.
	l = limiter{globalRate: 30, sourceRate: 10}
	total := 0
	for i := range 20 {
		total += count(netip.AddrPortFrom(a.Addr(), uint16(3000+i)), 10)
	}
	if total != 30 {
		t.Fatalf("20 sources got %d together, want the global 30", total)
	}
}

// TestLimitedConnSheds drives the wrapped listener with a burst of
// requests from one source: the first pass through, the rest are answered
// 503 on the wire (ACKs dropped), responses always pass.
func TestLimitedConnSheds(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	lc := newLimitedConn(pc, 100, 5, nil)
	cl, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for range 8 {
		if _, err := cl.Write([]byte(floodInvite)); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = cl.Write([]byte("ACK sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\r\n"))
	_, _ = cl.Write([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n\r\n"))
	buf := make([]byte, 2048)
	_ = pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got []string
	for range 6 { // 5 requests within the burst, then the response
		n, _, err := lc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, strings.SplitN(string(buf[:n]), " ", 2)[0])
	}
	if strings.Join(got, ",") != "INVITE,INVITE,INVITE,INVITE,INVITE,SIP/2.0" {
		t.Fatalf("stack saw %v", got)
	}
	if lc.shed.Load() != 3 || lc.dropped.Load() != 1 {
		t.Fatalf("shed %d, dropped %d; want 3 and 1", lc.shed.Load(), lc.dropped.Load())
	}
	_ = cl.SetReadDeadline(time.Now().Add(2 * time.Second))
	for range 3 {
		n, err := cl.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 503 Service Unavailable\r\n") {
			t.Fatalf("got %q", buf[:n])
		}
	}
}
