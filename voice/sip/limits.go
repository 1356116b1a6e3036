package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Limits on every transport, next to the UDP rate limits of overload.go:
//
//   - one rate limiter for all transports: per source address:port on UDP,
//     per source IP on TCP and TLS, and one global rate (over a stream the
//     first refused request of a burst is answered 503, the rest dropped);
//   - a cap on accepted TCP/TLS connections in total and per source IP
//     (refused by closing at accept);
//   - deadlines on accepted connections: each message must arrive whole
//     within MessageTimeout of its first byte (the first message within
//     MessageTimeout of the connection opening), so a slow-loris that
//     trickles bytes is closed; a connection idle past IdleTimeout between
//     messages is closed unless it comes from a registrar;
//   - a bound on a message read over a stream (MaxMessageSize);
//   - a ban list: a source IP that keeps failing (over-limit bursts,
//     malformed or oversize messages, deadlines, strangers, failed digests:
//     UA.penalize) is banned for BanTime, doubling for each ban that
//     follows soon after the last, up to BanMaxTime. Banned sources are
//     dropped silently on UDP and closed at accept on TCP/TLS. The
//     registrars' addresses and our own are never banned.

// Default limits (see the Config fields of the same names).
const (
	DefaultMaxConns       = 64
	DefaultMaxConnsPerIP  = 8
	DefaultMessageTimeout = 30 * time.Second
	DefaultIdleTimeout    = 10 * time.Minute
	DefaultMaxMessageSize = 65535
	DefaultBanFailures    = 10
	DefaultBanWindow      = time.Minute
	DefaultBanTime        = 5 * time.Minute
	DefaultBanMaxTime     = time.Hour
)

// maxOffenders bounds the sources the ban list tracks.
const maxOffenders = 1024

// errStreamEnded ends an accepted connection the limits closed. It wraps
// io.EOF: the transport then ends the connection quietly, as a peer's
// close, instead of logging an error per attacker.
var errStreamEnded = fmt.Errorf("sip: connection closed by the limits: %w", io.EOF)

// defaulted maps a Config value onto its default (0) or off (<0 → 0).
func defaulted[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// offender is one failing source.
type offender struct {
	since    time.Time     // start of the counting window
	failures int           // failures in the window
	until    time.Time     // banned until
	last     time.Duration // length of the last ban; 0 = never banned
}

// guard holds the ban list and the connection counts, shared by all
// listeners.
type guard struct {
	now    func() time.Time
	log    *slog.Logger
	exempt func(netip.Addr) bool // never banned; nil = none

	maxConns, maxPerIP  int // 0 = no cap
	banFailures         int // 0 = no bans
	banWindow, banTime  time.Duration
	banMax              time.Duration
	mu                  sync.Mutex
	conns               map[netip.Addr]int
	total               int
	srcs                map[netip.Addr]*offender
	banning             atomic.Int32 // bans that may still run; 0 = skip the lookup
	bans, refused, mute atomic.Uint64
}

func newGuard(cfg *Config, log *slog.Logger, exempt func(netip.Addr) bool) *guard {
	g := &guard{now: time.Now, log: log, exempt: exempt,
		maxConns:    defaulted(cfg.MaxConns, DefaultMaxConns),
		maxPerIP:    defaulted(cfg.MaxConnsPerIP, DefaultMaxConnsPerIP),
		banFailures: defaulted(cfg.BanFailures, DefaultBanFailures),
		banWindow:   defaulted(cfg.BanWindow, DefaultBanWindow),
		banTime:     defaulted(cfg.BanTime, DefaultBanTime),
		banMax:      defaulted(cfg.BanMaxTime, DefaultBanMaxTime),
		conns:       map[netip.Addr]int{},
		srcs:        map[netip.Addr]*offender{},
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.banMax = max(g.banMax, g.banTime)
	return g
}

// penalize books one failure against ip and bans it once it has failed
// banFailures times within banWindow.
func (g *guard) penalize(ip netip.Addr, reason string) {
	ip = ip.Unmap()
	if g == nil || g.banFailures == 0 || !ip.IsValid() || (g.exempt != nil && g.exempt(ip)) {
		return
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	o := g.srcs[ip]
	if o == nil {
		if len(g.srcs) >= maxOffenders && !g.sweep(now) {
			return // full of live offenders: this one goes uncounted
		}
		o = &offender{since: now}
		g.srcs[ip] = o
	}
	if now.Before(o.until) {
		return
	}
	if now.Sub(o.since) > g.banWindow {
		o.since, o.failures = now, 0
	}
	o.failures++
	if o.failures < g.banFailures {
		return
	}
	length := g.banTime
	if o.last > 0 && now.Sub(o.until) < g.banMax {
		// Banned again soon after the last ban ended: twice as long.
		length = min(2*o.last, g.banMax)
	}
	o.until, o.last, o.failures, o.since = now.Add(length), length, 0, now
	g.banning.Add(1)
	g.bans.Add(1)
	g.log.Warn("sip source banned", "source", ip.String(), "for", length, "reason", reason, "failures", g.banFailures, "within", g.banWindow)
}

// sweep forgets offenders neither banned nor failing lately; it reports
// whether it made room.
func (g *guard) sweep(now time.Time) bool {
	n := len(g.srcs)
	live := int32(0)
	for ip, o := range g.srcs {
		switch {
		case now.Before(o.until):
			live++
		case now.Sub(o.until) > g.banMax && now.Sub(o.since) > g.banWindow:
			delete(g.srcs, ip)
		}
	}
	g.banning.Store(live)
	return len(g.srcs) < n
}

// banned reports whether ip is banned now.
func (g *guard) banned(ip netip.Addr) bool {
	if g == nil || g.banning.Load() == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	o := g.srcs[ip.Unmap()]
	return o != nil && g.now().Before(o.until)
}

// admitConn counts a new connection from ip, or refuses it (banned, or
// over a cap).
func (g *guard) admitConn(ip netip.Addr) bool {
	ip = ip.Unmap()
	if g.banned(ip) {
		g.refused.Add(1)
		return false
	}
	g.mu.Lock()
	over := (g.maxConns > 0 && g.total >= g.maxConns) || (g.maxPerIP > 0 && g.conns[ip] >= g.maxPerIP)
	if !over {
		g.total++
		g.conns[ip]++
	}
	g.mu.Unlock()
	if over {
		g.refused.Add(1)
		g.penalize(ip, "connection cap")
	}
	return !over
}

// releaseConn uncounts a connection admitConn counted.
func (g *guard) releaseConn(ip netip.Addr) {
	ip = ip.Unmap()
	g.mu.Lock()
	g.total--
	if g.conns[ip]--; g.conns[ip] <= 0 {
		delete(g.conns, ip)
	}
	g.mu.Unlock()
}

// rateGate is the one rate limiter of all transports.
type rateGate struct {
	mu  sync.Mutex
	lim limiter
}

func newRateGate(globalRate, sourceRate int) *rateGate {
	return &rateGate{lim: limiter{
		globalRate: int64(defaulted(globalRate, DefaultMaxRequestRate)),
		sourceRate: int64(defaulted(sourceRate, DefaultMaxSourceRate)),
	}}
}

// admit reports whether a request from src may pass now and, when not,
// whether the refusal starts a new over-limit burst of src's.
func (g *rateGate) admit(src netip.AddrPort, now int64) (ok, burst bool) {
	if g == nil {
		return true, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lim.check(src, now)
}

// addrIP is the IP of a net.Addr, invalid when it has none.
func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// guardListener refuses, by closing at accept, connections from banned
// sources and over the caps.
type guardListener struct {
	net.Listener
	g *guard
}

func (l guardListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			// Out of file descriptors and the like: the transport would
			// stop listening for good on an error; wait and go on.
			l.g.log.Debug("sip accept failed", "error", err)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		ip := addrIP(c.RemoteAddr())
		if !l.g.admitConn(ip) {
			c.Close()
			continue
		}
		return &countedConn{Conn: c, g: l.g, ip: ip}, nil
	}
}

// countedConn gives its place back under the caps when closed.
type countedConn struct {
	net.Conn
	g    *guard
	ip   netip.Addr
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.g.releaseConn(c.ip) })
	return c.Conn.Close()
}

// streamPolicy is what an accepted connection's reader enforces.
type streamPolicy struct {
	gate       *rateGate // nil = no rate limit
	guard      *guard    // failures go to its ban list; nil = none
	msgTimeout time.Duration
	idle       time.Duration
	maxMessage int
	now        func() time.Time
	// trusted reports whether a source is a registrar's (no idle
	// timeout); nil = none is.
	trusted func(netip.Addr) bool

	shed, dropped, closed atomic.Uint64
}

// maxMessageOf is the bound on one message read over a stream.
func (p *streamPolicy) maxMessageOf() int {
	if p == nil || p.maxMessage <= 0 {
		return maxHeaderSection
	}
	return p.maxMessage
}

func (p *streamPolicy) penalize(ip netip.Addr, reason string) {
	if p != nil {
		p.guard.penalize(ip, reason)
	}
}

// penalize books a failure against the source src ("ip:port" or "ip") of
// a request: a source that keeps failing is banned (see limits.go). Code
// that refuses a request for cause (a stranger, a failed digest) calls it.
func (u *UA) penalize(src, reason string) {
	g := u.guard
	if g == nil {
		return
	}
	ip, err := netip.ParseAddr(src)
	if err != nil {
		ap, err := netip.ParseAddrPort(src)
		if err != nil {
			return
		}
		ip = ap.Addr()
	}
	g.penalize(ip, reason)
}

// neverBanned reports whether ip is a registrar's (any resolved target,
// or where a registration's answers came from) or our own.
func (u *UA) neverBanned(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() && u.isWildcardListen() {
		return true
	}
	if own := u.Addr().Addr().Unmap(); own.IsValid() && own == ip {
		return true
	}
	if h, err := netip.ParseAddr(u.host); err == nil && h.Unmap() == ip {
		return true
	}
	return u.registrarIP(ip)
}

// knownPeer reports whether a datagram from src may be from someone we
// answer while strangers are ignored: ourselves, a registrar (a resolved
// target with its port, or where its answers came from), or anyone when
// an account takes direct calls. It sees only the address, before parsing.
func (u *UA) knownPeer(src netip.AddrPort) bool {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if int(src.Port()) == u.port && u.neverBanned(src.Addr()) {
		return true // our own listen address
	}
	for _, a := range u.accounts {
		if u.acceptsDirect(a) {
			return true
		}
		for _, t := range u.registrarTargets(a) {
			if t == src {
				return true
			}
		}
	}
	for _, r := range u.regs {
		r.mu.Lock()
		conn := r.connAddr
		r.mu.Unlock()
		if c, err := netip.ParseAddrPort(conn); err == nil && netip.AddrPortFrom(c.Addr().Unmap(), c.Port()) == src {
			return true
		}
	}
	return false
}

// isWildcardListen reports whether the UA listens on every address (then
// loopback is ourselves).
func (u *UA) isWildcardListen() bool {
	a := u.Addr().Addr()
	return !a.IsValid() || a.IsUnspecified()
}

// registrarIP reports whether ip is one of the registrars' addresses.
func (u *UA) registrarIP(ip netip.Addr) bool {
	for _, r := range u.regs {
		r.mu.Lock()
		conn := r.connAddr
		r.mu.Unlock()
		if c, err := netip.ParseAddrPort(conn); err == nil && c.Addr().Unmap() == ip {
			return true
		}
		for _, t := range u.registrarTargets(r.acct) {
			if t.Addr().Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// limitDatagrams puts the UDP listener behind the rate limits and the ban
// list (as configured) and builds the limits the stream listeners share.
func (u *UA) limitDatagrams(pc net.PacketConn) net.PacketConn {
	var gate *rateGate
	if u.cfg.MaxRequestRate >= 0 && u.cfg.MaxSourceRate >= 0 {
		gate = newRateGate(u.cfg.MaxRequestRate, u.cfg.MaxSourceRate)
	}
	cfg := u.cfg
	var exempt func(netip.Addr) bool
	if cfg.BanFailures >= 0 {
		exempt = u.neverBanned
	} else {
		cfg.BanFailures = -1
	}
	u.guard = newGuard(&cfg, u.log, exempt)
	u.streams = u.streamPolicyFor(gate)
	u.limitsUp.Store(true)
	if gate == nil && cfg.BanFailures < 0 {
		return pc
	}
	lc := newGuardedConn(pc, gate, u.guard, nil)
	if u.cfg.IgnoreStrangers {
		lc.quiet = func(src netip.AddrPort) bool { return !u.knownPeer(src) }
	}
	u.limited.Store(lc)
	return lc
}

// limitStreams puts a TCP listener behind the connection caps and the ban
// list, and its connections (under TLS with conf, when not nil) behind the
// pre-parse shim and its limits. limitDatagrams runs first.
func (u *UA) limitStreams(ln net.Listener, conf *tls.Config) net.Listener {
	var l net.Listener = guardListener{Listener: ln, g: u.guard}
	if conf != nil {
		// The shim reads the plaintext under the TLS layer; the caps and
		// bans act on the TCP connection before its handshake.
		l = tls.NewListener(l, conf)
	}
	return normListener{Listener: l, pol: u.streams}
}

// readFilter is normalizeFilter that books a dropped datagram (not SIP,
// or a header line ending in a bare LF) against its source.
func (u *UA) readFilter(p sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	u.notePong(p, data) // pong.go
	out, err := normalizeFilter(p, data)
	if out == nil && err == nil && len(data) > 0 && p.RemoteAddr != nil {
		u.guard.penalize(addrIP(p.RemoteAddr), "malformed message")
	}
	return out, err
}

// streamPolicyFor builds the accepted connections' policy from the config.
func (u *UA) streamPolicyFor(gate *rateGate) *streamPolicy {
	return &streamPolicy{
		gate:       gate,
		guard:      u.guard,
		msgTimeout: defaulted(u.cfg.MessageTimeout, DefaultMessageTimeout),
		idle:       defaulted(u.cfg.IdleTimeout, DefaultIdleTimeout),
		maxMessage: defaulted(u.cfg.MaxMessageSize, DefaultMaxMessageSize),
		now:        time.Now,
		trusted:    u.registrarIP,
	}
}
