package sip

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// banClock is a settable clock for the ban list.
type banClock struct{ t time.Time }

func (c *banClock) now() time.Time { return c.t }

func testGuard(cfg Config, exempt func(netip.Addr) bool) (*guard, *banClock) {
	clk := &banClock{t: time.Unix(1_000_000, 0)}
	g := newGuard(&cfg, testLogger(), exempt)
	g.now = clk.now
	return g, clk
}

// TestBanList: N failures within the window ban a source for BanTime;
// failures spread wider do not; a ban expires; a ban soon after the last
// doubles, up to BanMaxTime; a long quiet spell forgives; exempt sources
// (the registrars) are never banned; bans off bans nobody.
func TestBanList(t *testing.T) {
	src := netip.MustParseAddr("198.51.100.7")
	registrar := netip.MustParseAddr("192.0.2.10")
	type step struct {
		advance  time.Duration // before the step
		fail     int           // failures booked
		from     netip.Addr    // zero = src
		banned   bool          // src (or from) banned after the step
		wantBans uint64        // bans issued so far
	}
	cfg := Config{BanFailures: 3, BanWindow: time.Minute, BanTime: 5 * time.Minute, BanMaxTime: 12 * time.Minute}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"ban after N failures", cfg, []step{
			{fail: 2, banned: false},
			{fail: 1, banned: true, wantBans: 1},
			{advance: 4 * time.Minute, banned: true, wantBans: 1},
		}},
		{"failures outside the window", cfg, []step{
			{fail: 2},
			{advance: 61 * time.Second, fail: 2},
			{advance: 61 * time.Second, fail: 2, banned: false},
		}},
		{"expiry", cfg, []step{
			{fail: 3, banned: true, wantBans: 1},
			{advance: 5*time.Minute - time.Second, banned: true, wantBans: 1},
			{advance: time.Second, banned: false, wantBans: 1},
		}},
		{"doubling up to the maximum", cfg, []step{
			{fail: 3, banned: true, wantBans: 1},
			{advance: 5 * time.Minute, fail: 3, banned: true, wantBans: 2}, // 10 min
			{advance: 10*time.Minute - time.Second, banned: true, wantBans: 2},
			{advance: time.Second, fail: 3, banned: true, wantBans: 3}, // 20 min, capped at 12
			{advance: 12*time.Minute - time.Second, banned: true, wantBans: 3},
			{advance: time.Second, banned: false, wantBans: 3},
		}},
		{"forgiven after a quiet spell", cfg, []step{
			{fail: 3, banned: true, wantBans: 1},
			{advance: 5*time.Minute + 13*time.Minute, fail: 3, banned: true, wantBans: 2}, // 5 min again
			{advance: 5 * time.Minute, banned: false, wantBans: 2},
		}},
		{"registrar never banned", cfg, []step{
			{fail: 30, from: registrar, banned: false},
		}},
		{"bans off", Config{BanFailures: -1}, []step{
			{fail: 100, banned: false},
		}},
		{"defaults", Config{}, []step{
			{fail: DefaultBanFailures - 1, banned: false},
			{fail: 1, banned: true, wantBans: 1},
			{advance: DefaultBanTime, banned: false, wantBans: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, clk := testGuard(tt.cfg, func(ip netip.Addr) bool { return ip == registrar })
			for i, s := range tt.steps {
				clk.t = clk.t.Add(s.advance)
				from := s.from
				if !from.IsValid() {
					from = src
				}
				for range s.fail {
					g.penalize(from, "test")
				}
				if got := g.banned(from); got != s.banned {
					t.Fatalf("step %d: banned %v, want %v", i, got, s.banned)
				}
				if got := g.bans.Load(); got != s.wantBans {
					t.Fatalf("step %d: %d bans, want %d", i, got, s.wantBans)
				}
			}
		})
	}
}

// TestNeverBannedRegistrar: a UA never bans its registrar's addresses,
// whatever port they come from, and bans others.
func TestNeverBannedRegistrar(t *testing.T) {
	u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(), BanFailures: 2,
		Accounts: []Account{{ID: "1", User: "1001", Registrar: "sip:192.0.2.10:5070"}}})
	if err != nil {
		t.Fatal(err)
	}
	u.guard = newGuard(&u.cfg, testLogger(), u.neverBanned)
	for _, src := range []string{"192.0.2.10:5070", "192.0.2.10:40000", "198.51.100.7:5060"} {
		for range 5 {
			u.penalize(src, "test")
		}
	}
	for _, tt := range []struct {
		ip     string
		banned bool
	}{{"192.0.2.10", false}, {"198.51.100.7", true}} {
		if got := u.guard.banned(netip.MustParseAddr(tt.ip)); got != tt.banned {
			t.Errorf("%s banned %v, want %v", tt.ip, got, tt.banned)
		}
	}
}

// TestConnCaps: connections over the per-IP or the total cap are closed
// at accept, banned sources too; a closed connection frees its place.
func TestConnCaps(t *testing.T) {
	tests := []struct {
		name              string
		cfg               Config
		open              int
		ban               bool
		accepted, refused int
	}{
		{"per-IP cap", Config{MaxConnsPerIP: 2, MaxConns: 10, BanFailures: -1}, 4, false, 2, 2},
		{"total cap", Config{MaxConnsPerIP: 10, MaxConns: 3, BanFailures: -1}, 5, false, 3, 2},
		{"no caps", Config{MaxConnsPerIP: -1, MaxConns: -1, BanFailures: -1}, 5, false, 5, 0},
		{"banned source", Config{BanFailures: 1}, 2, true, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			g := newGuard(&tt.cfg, testLogger(), nil)
			if tt.ban {
				g.penalize(netip.MustParseAddr("127.0.0.1"), "test")
			}
			gl := guardListener{Listener: ln, g: g}
			accepted := make(chan net.Conn, tt.open)
			go func() {
				for {
					c, err := gl.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			var clients []net.Conn
			for range tt.open {
				c, err := net.Dial("tcp4", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clients = append(clients, c)
			}
			// A refused connection is closed by the far end: its read
			// ends; an accepted one stays open.
			refused := 0
			for _, c := range clients {
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				var b [1]byte
				if _, err := c.Read(b[:]); errors.Is(err, io.EOF) || isReset(err) {
					refused++
				}
			}
			if refused != tt.refused || len(accepted) != tt.accepted {
				t.Fatalf("accepted %d, refused %d; want %d and %d", len(accepted), refused, tt.accepted, tt.refused)
			}
			if got := g.refused.Load(); got != uint64(tt.refused) {
				t.Fatalf("refused counter %d, want %d", got, tt.refused)
			}
			if tt.accepted == 0 {
				return
			}
			// Closing an accepted connection makes room for one more.
			(<-accepted).Close()
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			select {
			case <-accepted:
			case <-time.After(2 * time.Second):
				t.Fatal("no room after a close")
			}
		})
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "reset")
}

const streamOptions = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-%d\r\n" +
	"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

// streamPair serves one accepted connection through the shim under pol:
// it returns the client's end, and a channel with what sipgo's side reads
// (each Read's bytes) and then the read error.
func streamPair(t *testing.T, pol *streamPolicy) (net.Conn, <-chan string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	reads, end := make(chan string, 100), make(chan error, 1)
	go func() {
		c, err := (normListener{Listener: ln, pol: pol}).Accept()
		if err != nil {
			end <- err
			return
		}
		defer c.Close()
		buf := make([]byte, 8192)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				reads <- string(buf[:n])
			}
			if err != nil {
				end <- err
				return
			}
		}
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, reads, end
}

func testPolicy(g *guard) *streamPolicy {
	return &streamPolicy{guard: g, msgTimeout: time.Hour, idle: time.Hour, maxMessage: 4096, now: time.Now}
}

// TestStreamLimits: what an accepted connection's reader enforces.
func TestStreamLimits(t *testing.T) {
	opt := func(i int) string { return strings.Replace(streamOptions, "%d", string(rune('a'+i)), 1) }
	tests := []struct {
		name   string
		pol    func(*streamPolicy)
		send   func(c net.Conn)
		passed int  // messages the stack sees
		closed bool // the limits end the stream
		answer string
	}{
		{"within limits", nil, func(c net.Conn) {
			for i := range 3 {
				c.Write([]byte(opt(i)))
			}
		}, 3, false, ""},
		{"per-source rate", func(p *streamPolicy) { p.gate = newRateGate(100, 2) }, func(c net.Conn) {
			for i := range 5 {
				c.Write([]byte(opt(i)))
			}
		}, 2, false, "SIP/2.0 503 Service Unavailable"},
		{"first message deadline", func(p *streamPolicy) { p.msgTimeout = 50 * time.Millisecond }, func(c net.Conn) {}, 0, true, ""},
		{"slow-loris", func(p *streamPolicy) { p.msgTimeout = 200 * time.Millisecond }, func(c net.Conn) {
			// A byte every 20 ms: each read is well within any idle
			// timeout, the message never within its deadline.
			for _, b := range []byte(opt(0)) {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}, 0, true, ""},
		{"idle", func(p *streamPolicy) { p.idle = 50 * time.Millisecond }, func(c net.Conn) { c.Write([]byte(opt(0))) }, 1, true, ""},
		{"registrar not idle-closed", func(p *streamPolicy) {
			p.idle = 50 * time.Millisecond
			p.trusted = func(netip.Addr) bool { return true }
		}, func(c net.Conn) { c.Write([]byte(opt(0))); time.Sleep(200 * time.Millisecond) }, 1, false, ""},
		{"oversize header", nil, func(c net.Conn) {
			c.Write([]byte("OPTIONS sip:x SIP/2.0\r\nX: " + strings.Repeat("a", 5000)))
		}, 0, true, ""},
		{"oversize body", nil, func(c net.Conn) {
			c.Write([]byte(strings.Replace(opt(0), "Content-Length: 0", "Content-Length: 9000", 1)))
		}, 0, true, ""},
		{"no content-length", nil, func(c net.Conn) {
			c.Write([]byte(strings.Replace(opt(0), "Content-Length: 0\r\n", "", 1)))
		}, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := testPolicy(nil)
			if tt.pol != nil {
				tt.pol(pol)
			}
			c, reads, end := streamPair(t, pol)
			tt.send(c)
			var err error
			if tt.closed {
				select {
				case err = <-end:
				case <-time.After(5 * time.Second):
					t.Fatal("stream not closed")
				}
				if !errors.Is(err, errStreamEnded) {
					t.Fatalf("stream ended with %v, want the limits' end", err)
				}
				if pol.closed.Load() != 1 {
					t.Fatalf("closed counter %d", pol.closed.Load())
				}
			} else {
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			}
			var got strings.Builder
			for n := 0; n < tt.passed; {
				select {
				case s := <-reads:
					got.WriteString(s)
					n = strings.Count(got.String(), "\r\n\r\n")
				case <-time.After(3 * time.Second):
					t.Fatalf("stack saw %d of %d messages", strings.Count(got.String(), "\r\n\r\n"), tt.passed)
				}
			}
			if !tt.closed {
				select {
				case s := <-reads:
					t.Fatalf("stack saw more: %q", s)
				case err := <-end:
					t.Fatalf("stream ended: %v", err)
				case <-time.After(100 * time.Millisecond):
				}
			}
			if tt.answer != "" {
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || !strings.HasPrefix(line, tt.answer) {
					t.Fatalf("client got %q (%v), want %s", line, err, tt.answer)
				}
			}
		})
	}
}

// TestStreamPenalties: a source whose streams keep breaking the limits is
// banned, and then refused at accept.
func TestStreamPenalties(t *testing.T) {
	g := newGuard(&Config{BanFailures: 2}, testLogger(), nil)
	ip := netip.MustParseAddr("127.0.0.1")
	for i := range 2 {
		c, _, end := streamPair(t, testPolicy(g))
		c.Write([]byte("NOT SIP AT ALL\r\n\r\n"))
		if err := <-end; !errors.Is(err, errStreamEnded) {
			t.Fatalf("stream %d ended with %v", i, err)
		}
	}
	if !g.banned(ip) {
		t.Fatal("not banned after two broken streams")
	}
	if g.admitConn(ip) {
		t.Fatal("banned source admitted")
	}
}

// TestBannedUDPSilent: datagrams from a banned source neither reach the
// stack nor get an answer, however far over the rate they are.
func TestBannedUDPSilent(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	g := newGuard(&Config{BanFailures: 1}, testLogger(), nil)
	lc := newGuardedConn(pc, newRateGate(100, 1), g, nil)
	banned, err := net.Dial("udp4", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer banned.Close()
	g.penalize(netip.MustParseAddr("127.0.0.1"), "test")
	for range 5 {
		banned.Write([]byte(floodInvite))
	}
	pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 2048)
	if n, _, err := lc.ReadFrom(buf); err == nil {
		t.Fatalf("stack saw %q from a banned source", buf[:n])
	}
	if got := g.mute.Load(); got != 5 {
		t.Fatalf("dropped %d datagrams from the banned source, want 5", got)
	}
	if lc.shed.Load() != 0 {
		t.Fatalf("banned source answered 503 %d times", lc.shed.Load())
	}
	banned.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := banned.Read(buf); err == nil {
		t.Fatalf("banned source got %q", buf[:n])
	}
}

// TestUDPBurstsBan: a source over the rate for BanFailures separate
// seconds is banned; within one second it is one failure.
func TestUDPBurstsBan(t *testing.T) {
	g, clk := testGuard(Config{BanFailures: 3}, nil)
	gate := newRateGate(1000, 2)
	src := netip.MustParseAddrPort("203.0.113.5:5060")
	for sec := range 3 {
		if sec > 0 && g.banned(src.Addr()) {
			t.Fatalf("banned after %d bursts", sec)
		}
		for range 50 {
			if ok, burst := gate.admit(src, clk.t.UnixNano()); !ok && burst {
				g.penalize(src.Addr(), "over the request rate")
			}
		}
		clk.t = clk.t.Add(time.Second)
	}
	clk.t = clk.t.Add(-time.Second)
	if !g.banned(src.Addr()) {
		t.Fatal("not banned after three bursts")
	}
}

// TestTLSListener: a UA with a TLS listener answers a request over it,
// through the shim and under the connection caps.
func TestTLSListener(t *testing.T) {
	pki := newTestPKI(t, time.Now().Add(-time.Hour), []net.IP{net.IPv4(127, 0, 0, 1)})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	var certPEM []byte
	for _, der := range pki.server.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalECPrivateKey(pki.server.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(), TLSListen: "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile, MaxConnsPerIP: 1,
		Accounts: []Account{{ID: "1", User: "1001"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer u.Close(ctx)
	pem, _ := os.ReadFile(pki.caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c, err := tls.Dial("tcp4", u.TLSAddr().String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(strings.Replace(streamOptions, "%d", "tls", 1)))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200 ") {
		t.Fatalf("over TLS got %q (%v)", line, err)
	}
	// A second connection from the same IP is over the cap of one.
	c2, err := tls.Dial("tcp4", u.TLSAddr().String(), &tls.Config{RootCAs: pool})
	if err == nil {
		c2.Close()
		t.Fatal("second TLS connection accepted over the per-IP cap")
	}
	if ov := u.Overload(); ov.RefusedConns != 1 {
		t.Fatalf("refused %d connections, want 1", ov.RefusedConns)
	}
}

// TestQuietOverLimit: with a quiet rule (strangers ignored), a source it
// names gets no 503 when over the rate; another source still does.
func TestQuietOverLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		quiet   bool
		want503 bool
	}{{"stranger ignored", true, false}, {"known peer", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			lc := newGuardedConn(pc, newRateGate(100, 1), nil, nil)
			lc.quiet = func(netip.AddrPort) bool { return tc.quiet }
			c, err := net.Dial("udp4", pc.LocalAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for range 4 {
				c.Write([]byte(floodInvite))
			}
			buf := make([]byte, 2048)
			pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			for {
				if _, _, err := lc.ReadFrom(buf); err != nil {
					break
				}
			}
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := c.Read(buf)
			if got := err == nil; got != tc.want503 {
				t.Fatalf("answered %v (%q), want an answer: %v", got, buf[:max(n, 0)], tc.want503)
			}
		})
	}
}
