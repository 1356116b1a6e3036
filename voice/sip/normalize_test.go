package sip

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

func TestNormalizeShortTortuousInvite(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc4475/wsinv.dat")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := sipmsg.ParseMessage(normalizeMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sipmsg.Request)
	if tag, _ := req.To().Params.Get("tag"); tag != "1918181833n" {
		t.Errorf("To tag %q, want 1918181833n", tag)
	}
	if tag, _ := req.From().Params.Get("tag"); tag != "98asjd8" {
		t.Errorf("From tag %q, want 98asjd8", tag)
	}
	if req.From().DisplayName != `J Rosenberg \\\"` {
		t.Errorf("From display name %q", req.From().DisplayName)
	}
	vias := req.GetHeaders("Via")
	want := []string{"SIP/2.0/UDP 192.0.2.2;branch=390skdjuw", "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8", "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239"}
	if len(vias) != len(want) {
		t.Fatalf("%d Via, want %d", len(vias), len(want))
	}
	for i, v := range vias {
		if v.Value() != want[i] {
			t.Errorf("Via %d = %q, want %q", i, v.Value(), want[i])
		}
	}
	if q, _ := req.Contact().Params.Get("q"); q != "0.33" {
		t.Errorf("Contact q %q, want 0.33", q)
	}
	if h := req.GetHeader("NewFangledHeader"); h == nil || h.Value() != "newfangled value continued newfangled value" {
		t.Errorf("NewFangledHeader %v", h)
	}
	if got := string(req.Body()); len(got) != 150 {
		t.Errorf("body %d bytes, want 150", len(got))
	}
}

func TestNormalizeKeepsBodies(t *testing.T) {
	// Start lines that are not SIP's: the shim drops them, as sipgo would.
	dropped := map[string]bool{"bigcode.dat": true, "lwsruri.dat": true, "lwsstart.dat": true, "trws.dat": true}
	files, _ := filepath.Glob("testdata/rfc4475/*.dat")
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		out := normalizeMessage(raw)
		if (out == nil) != dropped[filepath.Base(f)] {
			t.Errorf("%s: dropped %v, want %v", filepath.Base(f), out == nil, dropped[filepath.Base(f)])
			continue
		}
		if out == nil {
			continue
		}
		i, j := bytes.Index(raw, []byte("\r\n\r\n")), bytes.Index(out, []byte("\r\n\r\n"))
		if (i < 0) != (j < 0) || i >= 0 && !bytes.Equal(raw[i:], out[j:]) {
			t.Errorf("%s: body changed", filepath.Base(f))
		}
	}
}

func TestNormalizeScheme(t *testing.T) {
	got := string(normalizeMessage([]byte("OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n")))
	if want := "OPTIONS soapxbeep://192.0.2.103:3002 SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, m := range []string{"", "\r\n\r\n", "INVITE\r\n\r\n", "SIP/2.0 200 OK\r\n\r\n", "X y\r\n \r\n\r\n"} {
		normalizeMessage([]byte(m)) // no panic
	}
	for _, m := range []string{
		"X sip:a SIP\nq:\r\n\r\n",                   // LF in the start line
		"OPTIONS sip:a SIP/2.0\r\nTo: a\nb\r\n\r\n", // bare LF in a header
		"OPTIONS sip:a SIP/2\r\n\r\n",               // version
		"SIP/2.0 20 OK\r\n\r\n",                     // status code
	} {
		if got := normalizeMessage([]byte(m)); got != nil {
			t.Errorf("%q kept as %q", m, got)
		}
	}
}

// chunkConn serves a byte string in reads of at most size bytes.
type chunkConn struct {
	net.Conn
	data []byte
	size int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.size, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestNormalizeTCPFraming(t *testing.T) {
	wsinv, err := os.ReadFile("testdata/rfc4475/wsinv.dat")
	if err != nil {
		t.Fatal(err)
	}
	opt := []byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP / 2.0 / TCP h ; branch = z9hG4bK1\r\nContent-Length: 0\r\n\r\n")
	stream := slices.Concat([]byte("\r\n\r\n"), wsinv, opt, []byte("\r\n\r\n"), wsinv)
	want := slices.Concat([]byte("\r\n\r\n"), normalizeMessage(wsinv), normalizeMessage(opt), []byte("\r\n\r\n"), normalizeMessage(wsinv))
	for _, size := range []int{1, 7, 100, 4096} {
		c := &normConn{Conn: &chunkConn{data: stream, size: size}}
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("reads of %d: got\n%q\nwant\n%q", size, got, want)
		}
	}
	// Without Content-Length the rest passes through untouched.
	raw := []byte("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP / 2.0 / TCP h\r\n\r\nrest")
	got, _ := io.ReadAll(&normConn{Conn: &chunkConn{data: raw, size: 5}})
	if !bytes.Equal(got, raw) {
		t.Errorf("no Content-Length: got %q", got)
	}
}

// FuzzNormalize checks the pre-parse shim on arbitrary bytes: it never
// panics, keeps the body byte for byte, is idempotent, and on TCP frames
// the same bytes whatever the reads' sizes.
func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob("testdata/rfc4475/*.dat")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		f.Add(b, uint8(7))
	}
	f.Fuzz(func(t *testing.T, msg []byte, size uint8) {
		once := normalizeMessage(msg)
		if once == nil {
			return // dropped: not SIP
		}
		if i, j := bytes.Index(msg, []byte("\r\n\r\n")), bytes.Index(once, []byte("\r\n\r\n")); i >= 0 && (j < 0 || !bytes.Equal(msg[i:], once[j:])) {
			t.Fatalf("body changed:\n%q\n%q", msg, once)
		}
		if twice := normalizeMessage(once); !bytes.Equal(once, twice) {
			t.Fatalf("not idempotent:\n%q\n%q", once, twice)
		}
		whole, _ := io.ReadAll(&normConn{Conn: &chunkConn{data: msg, size: len(msg) + 1}})
		parts, _ := io.ReadAll(&normConn{Conn: &chunkConn{data: msg, size: int(size) + 1}})
		if !bytes.Equal(whole, parts) {
			t.Fatalf("reads of %d frame differently:\n%q\n%q", int(size)+1, whole, parts)
		}
	})
}

func TestNormalizeBranch2543(t *testing.T) {
	invite := "INVITE sip:UserB@example.com SIP/2.0\r\nVia: SIP/2.0/UDP iftgw.example.com\r\nFrom: <sip:a@example.net>\r\nTo: sip:b@example.net\r\nCall-ID: x@y\r\nCSeq: 56 INVITE\r\nContent-Length: 0\r\n\r\n"
	cancel := strings.NewReplacer("INVITE sip", "CANCEL sip", "56 INVITE", "56 CANCEL").Replace(invite)
	ack := strings.NewReplacer("INVITE sip", "ACK sip", "56 INVITE", "56 ACK", "To: sip:b@example.net", "To: sip:b@example.net;tag=9").Replace(invite)
	other := strings.Replace(invite, "56 INVITE", "57 INVITE", 1)
	branch := func(m string) string {
		msg, err := sipmsg.ParseMessage(normalizeMessage([]byte(m)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := msg.(*sipmsg.Request).Via().Params.Get("branch")
		return b
	}
	b := branch(invite)
	if !strings.HasPrefix(b, branch2543) {
		t.Fatalf("branch %q", b)
	}
	if branch(cancel) != b || branch(ack) != b {
		t.Errorf("CANCEL %q and ACK %q do not share the INVITE's branch %q", branch(cancel), branch(ack), b)
	}
	if branch(other) == b {
		t.Errorf("another CSeq shares the branch")
	}
	tagged := strings.Replace(invite, "<sip:a@example.net>", "<sip:a@example.net>;tag=1", 1)
	if got := branch(tagged); got != "" {
		t.Errorf("request with a From tag got branch %q", got)
	}
}
