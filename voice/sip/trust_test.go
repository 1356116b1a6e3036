package sip

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const trustOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// lockedUA starts a UA with cfg (listening on loopback, reporting calls to
// rec) whose registrar host names resolve through lookup.
func lockedUA(t *testing.T, cfg Config, rec *incomingRec, lookup func(context.Context, string) ([]netip.Addr, error)) *UA {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.Logger = testLogger()
	cfg.Handler = rec
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.trust.lookup = lookup
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeUA(t, u) })
	return u
}

// listenUDP binds a loopback UDP socket for a peer (registrar or stranger).
func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var trustSeq atomic.Int64

// trustInvite is an INVITE for ruser with To user toUser, sent from c.
func trustInvite(c *net.UDPConn, u *UA, ruser, toUser string) string {
	n := trustSeq.Add(1)
	return fmt.Sprintf("INVITE sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-trust%d\r\n"+
		"From: <sip:caller@example.net>;tag=f%d\r\n"+
		"To: <sip:%s@example.net>\r\n"+
		"Call-ID: trust-%d@test\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:caller@%s>\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s",
		ruser, u.Addr(), c.LocalAddr(), n, n, toUser, n, c.LocalAddr(), len(trustOffer), trustOffer)
}

// trustOptions is an OPTIONS for ruser sent from c.
func trustOptions(c *net.UDPConn, u *UA, ruser string) string {
	n := trustSeq.Add(1)
	return fmt.Sprintf("OPTIONS sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-trust%d\r\n"+
		"From: <sip:caller@example.net>;tag=f%d\r\n"+
		"To: <sip:%s@example.net>\r\n"+
		"Call-ID: trust-%d@test\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n",
		ruser, u.Addr(), c.LocalAddr(), n, n, ruser, n)
}

// exchange sends msg from c to the UA and returns the first final
// response, skipping provisional ones and requests (such as the UA's
// REGISTERs to a registrar on c); "" when none comes within wait.
func exchange(t *testing.T, c *net.UDPConn, u *UA, msg string, wait time.Duration) string {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort([]byte(msg), u.Addr()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 8192)
	for {
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		if err != nil {
			return ""
		}
		res := string(buf[:n])
		f := strings.Fields(res)
		if len(f) > 1 && f[0] == "SIP/2.0" && f[1] >= "200" {
			return res
		}
	}
}

// rejectAndAck rejects c with 486 and acknowledges the 486 that invite,
// sent from pc, gets, so the UA stops retransmitting it.
func rejectAndAck(t *testing.T, pc *net.UDPConn, u *UA, c *Call, invite string) {
	t.Helper()
	// Reject waits for the ACK.
	rejected := make(chan error, 1)
	go func() { rejected <- c.Reject(486, "Busy Here") }()
	defer func() {
		if err := <-rejected; err != nil {
			t.Error(err)
		}
	}()
	buf := make([]byte, 8192)
	var res string
	for {
		pc.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := pc.Read(buf)
		if err != nil {
			t.Fatal("no 486")
		}
		if res = string(buf[:n]); strings.HasPrefix(res, "SIP/2.0 486") {
			break
		}
	}
	ack := ackFor(invite, res)
	if _, err := pc.WriteToUDPAddrPort([]byte(ack), u.Addr()); err != nil {
		t.Fatal(err)
	}
}

// ackFor is the ACK of the non-2xx final response res to invite.
func ackFor(invite, res string) string {
	header := func(msg, name string) string {
		for _, line := range strings.Split(msg, "\r\n") {
			if strings.HasPrefix(line, name+":") {
				return line
			}
		}
		return ""
	}
	reqLine, _, _ := strings.Cut(invite, "\r\n")
	return strings.Replace(reqLine, "INVITE", "ACK", 1) + "\r\n" +
		header(invite, "Via") + "\r\n" + header(invite, "From") + "\r\n" + header(res, "To") + "\r\n" +
		header(invite, "Call-ID") + "\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

// statusOf is a response's status line.
func statusOf(res string) string {
	line, _, _ := strings.Cut(res, "\r\n")
	return line
}

// sansDialog drops the headers that name the request (Via, From, To,
// Call-ID, CSeq) from a response; the rest must not depend on the user.
func sansDialog(res string) string {
	var keep []string
	for _, line := range strings.Split(res, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq":
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\r\n")
}

// noRing fails when a call reached the handler.
func noRing(t *testing.T, rec *incomingRec) {
	t.Helper()
	select {
	case a := <-rec.accts:
		c := <-rec.calls
		t.Fatalf("account %s rang (dialed %q)", a.ID, c.Dialed())
	default:
	}
}

func TestStrangerInviteNeverRings(t *testing.T) {
	reg := listenUDP(t)
	rec := newIncomingRec()
	u := lockedUA(t, Config{UserAgent: "Loopstart/test", Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.LocalAddr().String()},
	}}, rec, nil)
	cu := u.ContactUser("1")
	stranger := listenUDP(t)
	for _, tt := range []struct{ name, ruser, to string }{
		{"account user", "1001", "1001"},
		{"To user only", "4711", "1001"},
		{"contact user", cu, "1001"},
		{"unknown user", "4711", "4711"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := exchange(t, stranger, u, trustInvite(stranger, u, tt.ruser, tt.to), 3*time.Second)
			if got := statusOf(res); got != "SIP/2.0 404 Not Found" {
				t.Fatalf("stranger got %q, want 404 Not Found", got)
			}
			noRing(t, rec)
		})
	}
	// The registrar's address with another port is a stranger too.
	samehost := listenUDP(t)
	res := exchange(t, samehost, u, trustInvite(samehost, u, cu, "1001"), 3*time.Second)
	if got := statusOf(res); got != "SIP/2.0 404 Not Found" {
		t.Fatalf("registrar host, other port: %q, want 404 Not Found", got)
	}
	noRing(t, rec)
}

func TestStrangerAnswerIsUniform(t *testing.T) {
	reg := listenUDP(t)
	rec := newIncomingRec()
	u := lockedUA(t, Config{Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.LocalAddr().String()},
	}}, rec, nil)
	stranger := listenUDP(t)
	known := exchange(t, stranger, u, trustInvite(stranger, u, "1001", "1001"), 3*time.Second)
	unknown := exchange(t, stranger, u, trustInvite(stranger, u, "4711", "4711"), 3*time.Second)
	if known == "" || sansDialog(known) != sansDialog(unknown) {
		t.Errorf("known and unknown users answered differently:\n%s\n---\n%s", known, unknown)
	}
	opts := exchange(t, stranger, u, trustOptions(stranger, u, "1001"), 3*time.Second)
	if sansDialog(opts) != sansDialog(known) {
		t.Errorf("OPTIONS from a stranger answered unlike an INVITE:\n%s\n---\n%s", opts, known)
	}
	if !strings.Contains(known, "User-Agent: Loopstart\r\n") {
		t.Errorf("User-Agent is not plain Loopstart:\n%s", known)
	}
	noRing(t, rec)
	// The registrar still gets its OPTIONS answered.
	if got := statusOf(exchange(t, reg, u, trustOptions(reg, u, u.ContactUser("1")), 3*time.Second)); got != "SIP/2.0 200 OK" {
		t.Errorf("registrar OPTIONS: %q", got)
	}
}

func TestIgnoreStrangers(t *testing.T) {
	reg := listenUDP(t)
	rec := newIncomingRec()
	u := lockedUA(t, Config{IgnoreStrangers: true, Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.LocalAddr().String()},
	}}, rec, nil)
	stranger := listenUDP(t)
	// register is a REGISTER, a method we refuse before any handler.
	register := func(c *net.UDPConn) string {
		return strings.ReplaceAll(trustOptions(c, u, "1001"), "OPTIONS", "REGISTER")
	}
	tests := []struct{ name, msg string }{
		{"INVITE to the account user", trustInvite(stranger, u, "1001", "1001")},
		{"INVITE to the Contact user", trustInvite(stranger, u, u.ContactUser("1"), "1001")},
		{"INVITE to an unknown user", trustInvite(stranger, u, "4711", "4711")},
		{"INVITE with an unsupported Require", strings.Replace(trustInvite(stranger, u, "1001", "1001"),
			"Max-Forwards: 70\r\n", "Max-Forwards: 70\r\nRequire: foo\r\n", 1)},
		{"OPTIONS", trustOptions(stranger, u, "1001")},
		{"REGISTER", register(stranger)},
		{"unknown method", strings.ReplaceAll(trustOptions(stranger, u, "1001"), "OPTIONS", "FOO")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := exchange(t, stranger, u, tt.msg, 500*time.Millisecond); res != "" {
				t.Errorf("stranger answered:\n%s", res)
			}
		})
	}
	noRing(t, rec)
	// The registrar is no stranger: it is answered, refusals included.
	if got := statusOf(exchange(t, reg, u, trustOptions(reg, u, u.ContactUser("1")), 3*time.Second)); got != "SIP/2.0 200 OK" {
		t.Errorf("registrar OPTIONS: %q", got)
	}
	if got := statusOf(exchange(t, reg, u, register(reg), 3*time.Second)); got != "SIP/2.0 405 Method Not Allowed" {
		t.Errorf("registrar REGISTER: %q", got)
	}
}

func TestRegistrarInviteRings(t *testing.T) {
	reg := listenUDP(t)
	rec := newIncomingRec()
	port := reg.LocalAddr().(*net.UDPAddr).Port
	// The registrar is a host name with two addresses; ours is the second.
	lookup := func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("127.0.0.1")}, nil
	}
	u := lockedUA(t, Config{Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: fmt.Sprintf("sip:registrar.invalid:%d", port)},
		{ID: "2", User: "1002", Password: "x", Registrar: fmt.Sprintf("sip:registrar.invalid:%d", port)},
	}}, rec, lookup)
	tests := []struct {
		name, acct, to, dialed string
	}{
		{"to the account", "2", "1002", ""},
		{"one-stage dialing", "1", "5551234", "5551234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := trustInvite(reg, u, u.ContactUser(tt.acct), tt.to)
			if _, err := reg.WriteToUDPAddrPort([]byte(msg), u.Addr()); err != nil {
				t.Fatal(err)
			}
			a, c := rec.next(t)
			if a.ID != tt.acct || c.Dialed() != tt.dialed {
				t.Errorf("account %s dialed %q, want account %s dialed %q", a.ID, c.Dialed(), tt.acct, tt.dialed)
			}
			rejectAndAck(t, reg, u, c, msg)
		})
	}
	// From the registrar, the account's user is not the Contact user:
	// no To fallback, no ring.
	if got := statusOf(exchange(t, reg, u, trustInvite(reg, u, "1001", "1001"), 3*time.Second)); got != "SIP/2.0 404 Not Found" {
		t.Errorf("registrar INVITE to the account user: %q, want 404", got)
	}
	noRing(t, rec)
}

func TestDirectCallsSwitch(t *testing.T) {
	reg := listenUDP(t)
	rec := newIncomingRec()
	u := lockedUA(t, Config{DirectCalls: true, Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.LocalAddr().String()},
	}}, rec, nil)
	peer := listenUDP(t)
	msg := trustInvite(peer, u, "1001", "anything")
	if _, err := peer.WriteToUDPAddrPort([]byte(msg), u.Addr()); err != nil {
		t.Fatal(err)
	}
	a, c := rec.next(t)
	if a.ID != "1" || c.Dialed() != "1001" {
		t.Errorf("account %s dialed %q, want account 1 dialed 1001", a.ID, c.Dialed())
	}
	rejectAndAck(t, peer, u, c, msg)
	// Unknown users still get the one answer.
	if got := statusOf(exchange(t, peer, u, trustInvite(peer, u, "4711", "4711"), 3*time.Second)); got != "SIP/2.0 404 Not Found" {
		t.Errorf("unknown user: %q", got)
	}
	noRing(t, rec)
}

// readSIP reads one message from a SIP stream.
func readSIP(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		b.WriteString(line)
		if line == "\r\n" {
			if b.Len() == 2 { // keep-alive CRLF between messages
				b.Reset()
				continue
			}
			break
		}
		if name, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(name, "Content-Length") || name == "l") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b.String() + string(body)
}

// finalOver reads from r until a final response.
func finalOver(t *testing.T, conn net.Conn, r *bufio.Reader) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		msg := readSIP(t, r)
		if f := strings.Fields(msg); len(f) > 1 && f[0] == "SIP/2.0" && f[1] >= "200" {
			return msg
		}
	}
}

// tcpInvite is an INVITE for ruser (To: toUser) over a TCP connection.
func tcpInvite(conn net.Conn, u *UA, ruser, toUser string) string {
	n := trustSeq.Add(1)
	return fmt.Sprintf("INVITE sip:%s@%s;transport=tcp SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-trust%d\r\n"+
		"From: <sip:caller@example.net>;tag=f%d\r\n"+
		"To: <sip:%s@example.net>\r\n"+
		"Call-ID: trust-%d@test\r\n"+
		"CSeq: 1 INVITE\r\n"+
		"Contact: <sip:caller@%s;transport=tcp>\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Type: application/sdp\r\n"+
		"Content-Length: %d\r\n\r\n%s",
		ruser, u.Addr(), conn.LocalAddr(), n, n, toUser, n, conn.LocalAddr(), len(trustOffer), trustOffer)
}

// TestRegisteredConnection: over TCP the registrar's INVITE comes back on
// the connection the account registered on and rings; another connection
// from the registrar's host is a stranger.
func TestRegisteredConnection(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rec := newIncomingRec()
	u := lockedUA(t, Config{Accounts: []Account{
		{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + ln.Addr().String() + ";transport=tcp"},
	}}, rec, nil)
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	reg := readSIP(t, r)
	if !strings.HasPrefix(reg, "REGISTER ") {
		t.Fatalf("want REGISTER, got:\n%s", reg)
	}
	// Accept it without a challenge, echoing the headers that name it.
	var ok strings.Builder
	ok.WriteString("SIP/2.0 200 OK\r\n")
	for _, line := range strings.Split(reg, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch strings.ToLower(name) {
		case "via", "from", "call-id", "cseq", "contact":
			ok.WriteString(line + "\r\n")
		case "to":
			ok.WriteString(line + ";tag=reg\r\n")
		}
	}
	ok.WriteString("Content-Length: 0\r\n\r\n")
	if _, err := conn.Write([]byte(ok.String())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for u.Registrations()[0].State != RegRegistered {
		if time.Now().After(deadline) {
			t.Fatalf("not registered: %+v", u.Registrations()[0])
		}
		time.Sleep(5 * time.Millisecond)
	}
	cu := u.ContactUser("1")

	// Another connection from the registrar's host: a stranger.
	other, err := net.Dial("tcp4", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Write([]byte(tcpInvite(other, u, cu, "1001"))); err != nil {
		t.Fatal(err)
	}
	if got := statusOf(finalOver(t, other, bufio.NewReader(other))); got != "SIP/2.0 404 Not Found" {
		t.Fatalf("other connection: %q, want 404 Not Found", got)
	}
	noRing(t, rec)

	// The registered connection: it rings.
	invite := tcpInvite(conn, u, cu, "5550100")
	if _, err := conn.Write([]byte(invite)); err != nil {
		t.Fatal(err)
	}
	a, c := rec.next(t)
	if a.ID != "1" || c.Dialed() != "5550100" {
		t.Errorf("account %s dialed %q, want account 1 dialed 5550100", a.ID, c.Dialed())
	}
	rejected := make(chan error, 1)
	go func() { rejected <- c.Reject(486, "Busy Here") }() // waits for the ACK
	res := finalOver(t, conn, r)
	if got := statusOf(res); got != "SIP/2.0 486 Busy Here" {
		t.Errorf("registrar connection: %q, want 486", got)
	}
	if _, err := conn.Write([]byte(ackFor(invite, res))); err != nil {
		t.Fatal(err)
	}
	if err := <-rejected; err != nil {
		t.Error(err)
	}
}

// TestKnownPeer: before parsing, the registrar's address and port and our
// own are known peers; another port on the registrar's host is not, and
// an account taking direct calls makes everyone known.
func TestKnownPeer(t *testing.T) {
	reg := listenUDP(t)
	regAP := reg.LocalAddr().(*net.UDPAddr).AddrPort()
	for _, tt := range []struct {
		name   string
		direct bool
		src    netip.AddrPort
		want   bool
	}{
		{"registrar", false, regAP, true},
		{"registrar host, other port", false, netip.AddrPortFrom(regAP.Addr(), regAP.Port()+1), false},
		{"elsewhere", false, netip.MustParseAddrPort("203.0.113.9:5060"), false},
		{"elsewhere, direct calls on", true, netip.MustParseAddrPort("203.0.113.9:5060"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			u := lockedUA(t, Config{IgnoreStrangers: true, DirectCalls: tt.direct, Accounts: []Account{
				{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.LocalAddr().String()},
			}}, newIncomingRec(), nil)
			if got := u.knownPeer(tt.src); got != tt.want {
				t.Errorf("knownPeer(%v) = %v, want %v", tt.src, got, tt.want)
			}
			if self := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(u.port)); !u.knownPeer(self) {
				t.Errorf("our own address %v is not known", self)
			}
		})
	}
}
