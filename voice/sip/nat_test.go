package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"golang.org/x/net/dns/dnsmessage"
)

func TestOrderSRV(t *testing.T) {
	srv := func(target string, prio, weight uint16) *net.SRV {
		return &net.SRV{Target: target, Port: 5060, Priority: prio, Weight: weight}
	}
	tests := []struct {
		name  string
		recs  []*net.SRV
		draws []int // what rnd returns, in order
		want  string
	}{
		{"priority first", []*net.SRV{srv("c", 20, 0), srv("a", 10, 0), srv("b", 15, 0)}, nil, "a b c"},
		{"draw 0 picks weight 0 first", []*net.SRV{srv("heavy", 10, 60), srv("zero", 10, 0)}, []int{0, 0}, "zero heavy"},
		{"low draw picks the first weight", []*net.SRV{srv("x", 10, 30), srv("y", 10, 70)}, []int{10, 0}, "x y"},
		{"high draw picks the second weight", []*net.SRV{srv("x", 10, 30), srv("y", 10, 70)}, []int{31, 0}, "y x"},
		{"weights within a priority, then the next", []*net.SRV{srv("b1", 20, 50), srv("a1", 10, 10), srv("a2", 10, 90), srv("b2", 20, 50)},
			[]int{11, 5, 60, 1}, "a2 a1 b2 b1"},
		{"all weight 0 keeps order", []*net.SRV{srv("p", 1, 0), srv("q", 1, 0), srv("r", 1, 0)}, nil, "p q r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			draws := tt.draws
			rnd := func(n int) int {
				if len(draws) == 0 {
					return 0
				}
				d := draws[0]
				draws = draws[1:]
				if d >= n {
					t.Fatalf("draw %d out of [0,%d)", d, n)
				}
				return d
			}
			var got []string
			for _, r := range orderSRV(tt.recs, rnd) {
				got = append(got, r.Target)
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("order %q, want %q", s, tt.want)
			}
		})
	}
}

// TestOrderSRVWeights checks the shares of first picks over many draws.
func TestOrderSRVWeights(t *testing.T) {
	recs := []*net.SRV{{Target: "a", Priority: 1, Weight: 75}, {Target: "b", Priority: 1, Weight: 25}}
	first := map[string]int{}
	n := 0
	rnd := func(k int) int { n++; return n * 7919 % k }
	for range 4000 {
		first[orderSRV(recs, rnd)[0].Target]++
	}
	if a := first["a"]; a < 2700 || a > 3300 {
		t.Errorf("a first %d of 4000 times, want about 3000", a)
	}
}

func TestViaPublic(t *testing.T) {
	tests := []struct {
		via  string
		want string
		ok   bool
	}{
		{"SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1;rport=40000;received=203.0.113.7", "203.0.113.7:40000", true},
		{"SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1;received=203.0.113.7", "203.0.113.7:5062", true},
		{"SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1;rport=40001", "10.0.0.2:40001", true},
		{"SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1", "10.0.0.2:5062", true},
		{"SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1;rport=99999;received=203.0.113.7", "", false},
		{"SIP/2.0/UDP gw.example:5062;branch=z9hG4bK1;rport=7", "", false},
		{"SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bK1;rport=x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.via, func(t *testing.T) {
			raw := "SIP/2.0 200 OK\r\nVia: " + tt.via + "\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
			msg, err := sipmsg.ParseMessage([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := viaPublic(msg.(*sipmsg.Response))
			if ok != tt.ok || (ok && got.String() != tt.want) {
				t.Errorf("viaPublic = %v, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestKeepAliveSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		every time.Duration
		at    []time.Duration // checks, from t0
		want  string          // due at each
	}{
		{"off", 0, []time.Duration{0, time.Hour}, "--"},
		{"every 15 s", 15 * time.Second, []time.Duration{time.Second, 15 * time.Second, 16 * time.Second, 30 * time.Second, 31 * time.Second}, "-y-y-"},
		{"a stall fires once", 15 * time.Second, []time.Duration{5 * time.Minute, 5*time.Minute + time.Second, 5*time.Minute + 15*time.Second}, "y-y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &kaSchedule{every: tt.every, next: t0.Add(tt.every)}
			var got strings.Builder
			for _, d := range tt.at {
				if k.due(t0.Add(d)) {
					got.WriteByte('y')
				} else {
					got.WriteByte('-')
				}
			}
			if got.String() != tt.want {
				t.Errorf("due %q, want %q", got.String(), tt.want)
			}
		})
	}
}

func TestCheckNATAccount(t *testing.T) {
	tests := []struct {
		name string
		a    Account
		ok   bool
	}{
		{"none", Account{Registrar: "sip:127.0.0.1"}, true},
		{"proxy and backup", Account{Registrar: "sip:pbx.example", OutboundProxy: "sip:proxy.example:5070", BackupRegistrar: "sip:pbx2.example"}, true},
		{"negative keep-alive", Account{Registrar: "sip:127.0.0.1", KeepAlive: -time.Second}, false},
		{"proxy without registrar", Account{OutboundProxy: "sip:proxy.example"}, false},
		{"backup not sip", Account{Registrar: "sip:a", BackupRegistrar: "http://b"}, false},
		{"backup without host", Account{Registrar: "sip:a", BackupRegistrar: "sip:"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkNATAccount(&tt.a); (err == nil) != tt.ok {
				t.Errorf("checkNATAccount = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// natRegistrar answers REGISTER 200 with the Via it would see behind a
// NAT at public, and records the Contacts.
type natRegistrar struct {
	addr string
	mu   sync.Mutex
	pub  netip.AddrPort
	deaf bool       // leave OPTIONS unanswered
	opts int        // OPTIONS received
	regs [][]string // each REGISTER's Contact values
	ruri []string   // each REGISTER's Request-URI
	rt   []string   // each REGISTER's Route values, joined
}

func startNATRegistrar(t *testing.T, pub netip.AddrPort) *natRegistrar {
	t.Helper()
	r := &natRegistrar{pub: pub}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		r.mu.Lock()
		var cts []string
		for _, h := range req.GetHeaders("Contact") {
			cts = append(cts, h.Value())
			res.AppendHeader(sipmsg.HeaderClone(h))
		}
		r.regs = append(r.regs, cts)
		r.ruri = append(r.ruri, req.Recipient.String())
		var routes []string
		for _, h := range req.GetHeaders("Route") {
			routes = append(routes, h.Value())
		}
		r.rt = append(r.rt, strings.Join(routes, ","))
		pub := r.pub
		r.mu.Unlock()
		if v := res.Via(); v != nil {
			v.Params.Add("received", pub.Addr().String())
			v.Params.Add("rport", fmt.Sprint(pub.Port()))
		}
		_ = tx.Respond(res)
	})
	srv.OnOptions(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		r.mu.Lock()
		pub, deaf := r.pub, r.deaf
		r.opts++
		r.mu.Unlock()
		if deaf {
			<-tx.Done() // no answer at all
			return
		}
		if v := res.Via(); v != nil {
			v.Params.Add("received", pub.Addr().String())
			v.Params.Add("rport", fmt.Sprint(pub.Port()))
		}
		_ = tx.Respond(res)
	})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = pc.LocalAddr().String()
	go srv.ServeUDP(pc)
	t.Cleanup(func() {
		ua.Close()
		pc.Close()
	})
	return r
}

func (r *natRegistrar) registers() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.regs...)
}

// TestPublicContactFollowsNAT: the registrar's received/rport moves the
// Contact to the public address at once (the old one dropped with
// expires=0), and a keep-alive that shows a new public port registers
// again.
func TestPublicContactFollowsNAT(t *testing.T) {
	reg := startNATRegistrar(t, netip.MustParseAddrPort("203.0.113.7:40000"))
	clk := newFakeClock()
	u := startRegUA(t, clk, Account{ID: "1", User: "1001", Registrar: "sip:" + reg.addr, Expires: 600 * time.Second, KeepAlive: 15 * time.Second})
	defer closeUA(t, u)
	if w := clk.next(t); w.d != refreshDelay(600*time.Second) {
		t.Fatalf("first wait %v, want the refresh", w.d)
	}
	rs := reg.registers()
	if len(rs) != 2 {
		t.Fatalf("%d REGISTERs, want 2 (private, then public Contact): %q", len(rs), rs)
	}
	if !strings.Contains(rs[0][0], "@127.0.0.1:") {
		t.Errorf("first Contact %q, want the local address", rs[0][0])
	}
	if len(rs[1]) != 2 || !strings.Contains(rs[1][0], "@203.0.113.7:40000") || !strings.Contains(rs[1][1], "@127.0.0.1:") || !strings.Contains(rs[1][1], "expires=0") {
		t.Errorf("second REGISTER's Contacts %q, want the public one and the old one with expires=0", rs[1])
	}
	ka := clk.next(t)
	if ka.d != 15*time.Second {
		t.Fatalf("keep-alive wait %v, want 15s", ka.d)
	}
	// Same public address: the keep-alive changes nothing.
	ka.ch <- time.Now()
	if w := clk.next(t); w.d != 15*time.Second {
		t.Fatalf("wait after a quiet keep-alive %v, want the next keep-alive", w.d)
	} else {
		// The NAT hands out a new port: the next keep-alive notices it.
		reg.mu.Lock()
		reg.pub = netip.MustParseAddrPort("203.0.113.7:40002")
		reg.mu.Unlock()
		w.ch <- time.Now()
	}
	clk.next(t) // the refresh wait after registering again
	rs = reg.registers()
	if len(rs) != 3 || !strings.Contains(rs[2][0], "@203.0.113.7:40002") {
		t.Fatalf("REGISTERs %q, want a third with Contact at 203.0.113.7:40002", rs)
	}
	if c := u.contactFor(u.account("1"), "udp"); c.Host != "203.0.113.7" || c.Port != 40002 {
		t.Errorf("calls' Contact %s, want the public address", c.String())
	}
}

// TestRegisterFailoverAndBack: a registrar answering 503 sends us to the
// backup; once it answers again a keep-alive brings us back.
func TestRegisterFailoverAndBack(t *testing.T) {
	users := map[string]string{"1001": "secret1"}
	primary := startRegistrar(t, &testRegistrar{failCode: 503, users: users})
	backup := startRegistrar(t, &testRegistrar{users: users})
	clk := newFakeClock()
	u := startRegUA(t, clk, Account{ID: "1", User: "1001", Password: "secret1", Registrar: primary.uri(),
		BackupRegistrar: backup.uri(), Expires: 600 * time.Second, KeepAlive: 5 * time.Second})
	defer closeUA(t, u)
	clk.next(t) // refresh
	if st := u.Registrations()[0]; st.State != RegRegistered {
		t.Fatalf("status %+v, want registered at the backup", st)
	}
	backup.mu.Lock()
	nb := len(backup.expires)
	backup.mu.Unlock()
	if nb != 1 || primary.count() != 1 {
		t.Fatalf("backup registrations %d, primary REGISTERs %d; want 1 and 1", nb, primary.count())
	}
	primary.mu.Lock()
	primary.failCode = 0
	primary.mu.Unlock()
	clk.next(t).ch <- time.Now() // keep-alive: the primary answers again
	clk.next(t)                  // the refresh after registering there
	primary.mu.Lock()
	np := len(primary.expires)
	primary.mu.Unlock()
	if np != 1 {
		t.Fatalf("primary registrations %d after fail-back, want 1", np)
	}
	if _, i, _ := u.regOf[u.account("1")].current(); i != 0 {
		t.Errorf("target %d in use, want 0 (the primary)", i)
	}
}

// TestRegisterFailoverOnTimeout: a registrar that never answers costs one
// attempt's timeout, then the backup takes the registration.
func TestRegisterFailoverOnTimeout(t *testing.T) {
	dead, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	backup := startRegistrar(t, &testRegistrar{users: map[string]string{"1001": "secret1"}})
	clk := newFakeClock()
	start := time.Now()
	u := startRegUA(t, clk, Account{ID: "1", User: "1001", Password: "secret1", Registrar: "sip:" + dead.LocalAddr().String(),
		BackupRegistrar: backup.uri(), Expires: 600 * time.Second})
	defer closeUA(t, u)
	clk.next(t)
	if st := u.Registrations()[0]; st.State != RegRegistered {
		t.Fatalf("status %+v", st)
	}
	if el := time.Since(start); el < attemptTimeout {
		t.Errorf("registered after %v, before the dead registrar's attempt could time out", el)
	}
	if got := u.registrarTargets(u.account("1")); len(got) != 2 {
		t.Errorf("trusted addresses %v, want the registrar's and the backup's", got)
	}
}

// fakeDNS answers SRV and A queries from fixed tables over UDP.
func fakeDNS(t *testing.T, srv map[string][]dnsmessage.SRVResource, a map[string][4]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
			b.EnableCompression()
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			name := strings.ToLower(q.Name.String())
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			switch q.Type {
			case dnsmessage.TypeSRV:
				for _, r := range srv[name] {
					_ = b.SRVResource(rh, r)
				}
			case dnsmessage.TypeA:
				if ip, ok := a[name]; ok {
					_ = b.AResource(rh, dnsmessage.AResource{A: ip})
				}
			}
			out, err := b.Finish()
			if err == nil {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestResolver(t *testing.T) {
	mk := func(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }
	dns := fakeDNS(t, map[string][]dnsmessage.SRVResource{
		"_sip._udp.pbx.test.": {
			{Priority: 20, Weight: 0, Port: 5070, Target: mk("backup.pbx.test.")},
			{Priority: 10, Weight: 0, Port: 5080, Target: mk("main.pbx.test.")},
		},
		"_sips._tcp.pbx.test.": {{Priority: 1, Weight: 1, Port: 5091, Target: mk("main.pbx.test.")}},
	}, map[string][4]byte{
		"main.pbx.test.":   {127, 0, 0, 11},
		"backup.pbx.test.": {127, 0, 0, 12},
		"plain.test.":      {127, 0, 0, 13},
	})
	rs, err := newResolver(dns)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uri, tp string
		want    string
	}{
		{"sip:pbx.test", "udp", "[127.0.0.11:5080 127.0.0.12:5070]"},
		{"sips:pbx.test", "tls", "[127.0.0.11:5091]"},
		{"sip:pbx.test:5099", "udp", "[]"}, // a port: no SRV, and pbx.test has no A
		{"sip:plain.test", "udp", "[127.0.0.13:5060]"},
		{"sip:plain.test", "tls", "[127.0.0.13:5061]"},
		{"sip:main.pbx.test:6000", "tcp", "[127.0.0.11:6000]"},
		{"sip:192.0.2.1", "udp", "[192.0.2.1:5060]"},
	}
	for _, tt := range tests {
		t.Run(tt.uri+" "+tt.tp, func(t *testing.T) {
			var uri sipmsg.Uri
			if err := sipmsg.ParseUri(tt.uri, &uri); err != nil {
				t.Fatal(err)
			}
			got, _ := rs.resolve(context.Background(), uri, tt.tp)
			if s := fmt.Sprint(got); s != tt.want {
				t.Errorf("resolve = %s, want %s", s, tt.want)
			}
		})
	}
	if _, err := newResolver("dns.example"); err == nil {
		t.Error("a DNS server name was accepted; want an IP address")
	}
}

// TestOutboundProxy: the REGISTER for a registrar that cannot be resolved
// goes to the outbound proxy with a loose Route to it, the registrar's
// domain in the Request-URI.
func TestOutboundProxy(t *testing.T) {
	proxy := startNATRegistrar(t, netip.MustParseAddrPort("127.0.0.1:1")) // rport answers: not used here
	clk := newFakeClock()
	u := startRegUA(t, clk, Account{ID: "1", User: "1001", Registrar: "sip:pbx.invalid", OutboundProxy: "sip:" + proxy.addr, Expires: 600 * time.Second})
	defer closeUA(t, u)
	clk.next(t)
	if st := u.Registrations()[0]; st.State != RegRegistered {
		t.Fatalf("status %+v, want registered through the proxy", st)
	}
	proxy.mu.Lock()
	defer proxy.mu.Unlock()
	if len(proxy.ruri) == 0 || proxy.ruri[0] != "sip:pbx.invalid" {
		t.Errorf("Request-URIs %q, want sip:pbx.invalid", proxy.ruri)
	}
	if want := "<sip:" + proxy.addr + ";lr>"; len(proxy.rt) == 0 || proxy.rt[0] != want {
		t.Errorf("Routes %q, want %s", proxy.rt, want)
	}
	if got := u.serverAddrs(u.account("1")); len(got) != 1 || got[0].String() != proxy.addr {
		t.Errorf("server addresses (trusted for calls) %v, want the proxy's", got)
	}
}

// startTCPRegistrar serves a registrar over TCP on loopback (sipgo: it
// answers CRLF pings with pongs) that grants every REGISTER, reading its
// connections through wrap. It returns its address and the count of
// REGISTERs; the test's end stops it.
func startTCPRegistrar(t *testing.T, wrap func(net.Listener) net.Listener) (string, *atomic.Int32) {
	t.Helper()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	var registers atomic.Int32
	srv.OnRegister(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		registers.Add(1)
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		for _, h := range req.GetHeaders("Contact") {
			res.AppendHeader(sipmsg.HeaderClone(h))
		}
		_ = tx.Respond(res)
	})
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go srv.ServeTCP(wrap(ln))
	return ln.Addr().String(), &registers
}

// pingCounter counts the reads of an accepted TCP connection that held
// nothing but CR and LF: RFC 5626 keep-alive pings.
type pingCounter struct {
	net.Listener
	mu    sync.Mutex
	pings int
}

func (l *pingCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &pingConn{Conn: c, l: l}, nil
}

func (l *pingCounter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pings
}

type pingConn struct {
	net.Conn
	l *pingCounter
}

func (c *pingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && strings.Trim(string(b[:n]), "\r\n") == "" {
		c.l.mu.Lock()
		c.l.pings++
		c.l.mu.Unlock()
	}
	return n, err
}

// TestCRLFKeepAliveTCP: over TCP the registration's connection carries a
// CRLF ping each keep-alive interval.
func TestCRLFKeepAliveTCP(t *testing.T) {
	for _, tt := range []struct {
		name      string
		keepAlive time.Duration
		min, max  int
	}{{"every second", time.Second, 2, 10}, {"off", 0, 0, 0}} {
		t.Run(tt.name, func(t *testing.T) {
			var pl *pingCounter
			addr, _ := startTCPRegistrar(t, func(ln net.Listener) net.Listener {
				pl = &pingCounter{Listener: ln}
				return pl
			})
			u, err := New(Config{Listen: "127.0.0.1:0", Logger: testLogger(), Accounts: []Account{{ID: "1", User: "1001",
				Registrar: "sip:" + addr + ";transport=tcp", Expires: 600 * time.Second, KeepAlive: tt.keepAlive}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := u.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer closeUA(t, u)
			deadline := time.Now().Add(5 * time.Second)
			for u.Registrations()[0].State != RegRegistered && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(3500 * time.Millisecond)
			if n := pl.count(); n < tt.min || n > tt.max {
				t.Errorf("%d CRLF pings in 3.5 s, want %d..%d", n, tt.min, tt.max)
			}
			if st := u.Registrations()[0]; st.State != RegRegistered {
				t.Errorf("status %+v after the pings", st)
			}
		})
	}
}

// TestKeepAliveOptionless: a registrar that answers REGISTER but never
// OPTIONS is kept alive with REGISTERs after the first unanswered OPTIONS,
// not taken for lost at every keep-alive.
func TestKeepAliveOptionless(t *testing.T) {
	reg := startNATRegistrar(t, netip.MustParseAddrPort("127.0.0.1:1"))
	reg.mu.Lock()
	reg.deaf = true
	reg.mu.Unlock()
	clk := newFakeClock()
	u := startRegUA(t, clk, Account{ID: "1", User: "1001", Registrar: "sip:" + reg.addr, Expires: 600 * time.Second, KeepAlive: 15 * time.Second})
	defer closeUA(t, u)
	r := u.regOf[u.account("1")]
	// Registering (twice: the public address changes at once), then
	// the refresh and keep-alive waits.
	clk.next(t)
	n0 := len(reg.registers())
	clk.next(t).ch <- time.Now() // keep-alive: an OPTIONS nobody answers, then a REGISTER
	clk.next(t)
	if n := len(reg.registers()); n != n0+1 {
		t.Fatalf("%d REGISTERs after the unanswered OPTIONS, want %d", n, n0+1)
	}
	target, _, _ := r.current()
	r.nat.mu.Lock()
	optionless := r.nat.optionless[target.addr]
	r.nat.mu.Unlock()
	if !optionless {
		t.Fatal("the registrar is not taken for one that ignores OPTIONS")
	}
	reg.mu.Lock()
	opts := reg.opts
	reg.mu.Unlock()
	clk.next(t).ch <- time.Now() // keep-alive: a REGISTER straight away
	clk.next(t)
	if n := len(reg.registers()); n != n0+2 {
		t.Errorf("%d REGISTERs after the second keep-alive, want %d", n, n0+2)
	}
	reg.mu.Lock()
	if reg.opts != opts {
		t.Errorf("the second keep-alive sent an OPTIONS again (%d, before %d)", reg.opts, opts)
	}
	reg.mu.Unlock()
	if st := u.Registrations()[0]; st.State != RegRegistered {
		t.Errorf("status %+v", st)
	}
}

// TestProbeEvery: a UDP registration with somewhere else to go checks the
// target in use at least every failoverProbe, so a lost server is left
// within 10 s; with one target only the NAT keep-alive counts.
func TestProbeEvery(t *testing.T) {
	one := []regTarget{{addr: netip.MustParseAddrPort("192.0.2.1:5060")}}
	two := append(one, regTarget{addr: netip.MustParseAddrPort("192.0.2.2:5060")})
	tests := []struct {
		name      string
		keepAlive time.Duration
		targets   []regTarget
		want      time.Duration
	}{
		{"one target, default", 25 * time.Second, one, 25 * time.Second},
		{"one target, off", 0, one, 0},
		{"alternates, default", 25 * time.Second, two, failoverProbe},
		{"alternates, off", 0, two, failoverProbe},
		{"alternates, faster keep-alive kept", 3 * time.Second, two, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &registration{acct: &Account{KeepAlive: tt.keepAlive}}
			r.nat.targets = tt.targets
			if got := r.probeEvery(); got != tt.want {
				t.Errorf("probeEvery = %v, want %v", got, tt.want)
			}
		})
	}
	if failoverProbe+probeTimeout > 8*time.Second {
		t.Errorf("failover probe %v + %v leaves too little of 10 s for the REGISTER elsewhere", failoverProbe, probeTimeout)
	}
}
