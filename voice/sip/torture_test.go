package sip

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reflectConn sends every answer of the UA to the source of the last
// datagram it read: the torture messages name hosts (example.com) in their
// Via, and the test wants the answers on its own socket.
type reflectConn struct {
	net.PacketConn
	mu   sync.Mutex
	last net.Addr
}

func (c *reflectConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil {
		c.mu.Lock()
		c.last = addr
		c.mu.Unlock()
	}
	return n, addr, err
}

func (c *reflectConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	if c.last != nil {
		addr = c.last
	}
	c.mu.Unlock()
	return c.PacketConn.WriteTo(b, addr)
}

// rejecter answers every incoming call with 486, so a valid INVITE for one
// of our users shows it reached the gateway.
type rejecter struct{}

func (rejecter) Incoming(_ *Account, c *Call) { c.Reject(486, "Busy Here") }

// torture lists the RFC 4475 messages with the final answers a UA may give
// (testdata/rfc4475/README.md); "drop" means no answer at all, which is
// right for responses and for requests too broken to answer over UDP.
var torture = map[string][]string{
	// 3.1.1 valid messages
	"wsinv":      {"481"}, // To has a tag: a re-INVITE of no dialog we know
	"intmeth":    {"501"},
	"esc01":      {"404"},
	"escnull":    {"405"},
	"esc02":      {"501"},
	"lwsdisp":    {"200"},
	"longreq":    {"486"},
	"dblreq":     {"405"},
	"semiuri":    {"200"},
	"transports": {"200"},
	"mpart01":    {"405"},
	"unreason":   {"drop"},
	"noreason":   {"drop"},
	// 3.1.2 invalid messages
	"badinv01":   {"400", "drop"},
	"clerr":      {"400", "drop"},
	"ncl":        {"400", "drop"},
	"scalar02":   {"400", "drop"},
	"scalarlg":   {"drop"},
	"quotbal":    {"400", "drop"},
	"ltgtruri":   {"400", "drop"},
	"lwsruri":    {"400", "drop"},
	"lwsstart":   {"400", "drop", "486"},
	"trws":       {"400", "drop", "200"},
	"escruri":    {"400", "486"},
	"baddate":    {"486"},
	"regbadct":   {"400", "405"},
	"badaspec":   {"400", "drop", "200"},
	"baddn":      {"400", "drop"},
	"badvers":    {"505"},
	"mismatch01": {"400"},
	"mismatch02": {"400", "501"},
	"bigcode":    {"drop"},
	// 3.2 transaction layer
	"badbranch": {"200"},
	// 3.3 application layer
	"insuf":    {"400"},
	"unkscm":   {"416"},
	"novelsc":  {"416"},
	"unksm2":   {"400", "405", "416"},
	"bext01":   {"420"},
	"invut":    {"415"},
	"regaut01": {"405"},
	"multi01":  {"400"},
	"mcl01":    {"400"},
	"bcast":    {"drop"},
	"zeromf":   {"200"},
	"cparam01": {"405"},
	"cparam02": {"405"},
	"regescrt": {"405"},
	"sdp01":    {"406"},
	// 3.4 backward compatibility
	// RFC 3261 wants a Contact in an INVITE, RFC 2543 did not: the INVITE
	// reaches the handler, which needs one for the dialog.
	"inv2543": {"400 Bad Request (missing Contact)"},
}

// tortureHeaders are header lines the final answer must carry.
var tortureHeaders = map[string][]string{
	"intmeth": {"Allow: " + allowMethods},
	"esc02":   {"Allow: " + allowMethods},
	"escnull": {"Allow: " + allowMethods},
	"bext01":  {"Unsupported: nothingSupportsThis, nothingSupportsThisEither"},
	"invut":   {"Accept: application/sdp"},
	"sdp01":   {"Accept: application/sdp"},
}

// tortureAnswer sends one message from a fresh socket and returns the code
// of the final answer, "drop" when none comes, and the answer's text.
func tortureAnswer(t *testing.T, u *UA, msg []byte, wait time.Duration) (string, string) {
	t.Helper()
	c, err := net.Dial("udp4", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	for {
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if err != nil {
			return "drop", ""
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		f := strings.Fields(line)
		if len(f) > 1 && f[1] >= "200" {
			return f[1], string(buf[:n])
		}
	}
}

// startTortureUA starts a UA with the users the torture messages call
// ("user", "vivekg"), answering their calls with 486, and its answers
// reflected to the sender.
func startTortureUA(t *testing.T) *UA {
	t.Helper()
	u, err := New(Config{Listen: "127.0.0.1:0", UserAgent: "Loopstart/test", Logger: testLogger(), Handler: rejecter{},
		Accounts: []Account{{ID: "1", User: "user"}, {ID: "2", User: "vivekg"}}})
	if err != nil {
		t.Fatal(err)
	}
	u.wrapUDP = func(pc net.PacketConn) net.PacketConn { return &reflectConn{PacketConn: pc} }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Calls answered 486 and never ACKed keep their handlers until
		// the transaction times out: do not wait for them.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		u.Close(ctx)
	})
	return u
}

// TestRFC4475Torture sends each RFC 4475 torture message over UDP to a UA
// of its own (several messages share a Via branch, which would make them
// retransmissions of each other) and checks the final answer; then the UA
// must still answer an OPTIONS.
func TestRFC4475Torture(t *testing.T) {
	files, err := filepath.Glob("testdata/rfc4475/*.dat")
	if err != nil || len(files) != len(torture) {
		t.Fatalf("testdata/rfc4475 holds %d messages, want %d (%v)", len(files), len(torture), err)
	}
	var right atomic.Int32
	t.Cleanup(func() { t.Logf("RFC 4475: %d of %d answered as expected", right.Load(), len(files)) })
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".dat")
		want := torture[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			u := startTortureUA(t)
			wait := 2 * time.Second
			if slices.Contains(want, "drop") {
				wait = 300 * time.Millisecond
			}
			got, text := tortureAnswer(t, u, msg, wait)
			status, _, _ := strings.Cut(text, "\r\n")
			_, status, _ = strings.Cut(status, " ")
			ok := slices.Contains(want, got) || slices.Contains(want, status)
			if !ok {
				t.Errorf("answer %s, want one of %v\n%s", got, want, text)
			}
			if got != "drop" && !strings.HasPrefix(text, "SIP/2.0 ") {
				t.Errorf("answer is not SIP/2.0:\n%s", text)
				ok = false
			}
			for _, h := range tortureHeaders[name] {
				if !strings.Contains(text, "\r\n"+h+"\r\n") {
					t.Errorf("answer lacks %q:\n%s", h, text)
					ok = false
				}
			}
			if ok {
				right.Add(1)
			}
			code, _ := tortureAnswer(t, u, []byte("OPTIONS sip:user@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-alive\r\n"+
				"From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:user@127.0.0.1>\r\nCall-ID: alive\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"), 2*time.Second)
			if code != "200" {
				t.Errorf("after the message an OPTIONS got %s", code)
			}
		})
	}
}

// TestRFC4475TortureTCP sends torture messages that carry a Content-Length
// over TCP, where the shim sits in the listener instead of sipgo's read
// filter, and checks the final answer.
func TestRFC4475TortureTCP(t *testing.T) {
	for _, name := range []string{"wsinv", "intmeth", "bext01", "sdp01", "esc01"} {
		t.Run(name, func(t *testing.T) {
			msg, err := os.ReadFile("testdata/rfc4475/" + name + ".dat")
			if err != nil {
				t.Fatal(err)
			}
			u := startTortureUA(t)
			c, err := net.Dial("tcp4", u.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			var got []byte
			buf := make([]byte, 8192)
			for {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if final := finalCode(string(got)); final != "" {
					if !slices.Contains(torture[name], final) {
						t.Errorf("answer %s, want one of %v\n%s", final, torture[name], got)
					}
					return
				}
				if err != nil {
					t.Fatalf("no final answer (%v):\n%s", err, got)
				}
			}
		})
	}
}

// finalCode is the code of the first final response in a TCP stream's
// text, "" when none has arrived whole yet.
func finalCode(s string) string {
	for _, m := range strings.SplitAfter(s, "\r\n\r\n") {
		if !strings.HasSuffix(m, "\r\n\r\n") {
			return ""
		}
		f := strings.Fields(m)
		if len(f) > 1 && f[0] == "SIP/2.0" && f[1] >= "200" {
			return f[1]
		}
	}
	return ""
}
