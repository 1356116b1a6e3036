package sip

import (
	"bytes"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// Overload protection on the UDP listener. A flood (a scanner, a
// misconfigured PBX, an attack) must not take the CPU the media loop and
// the real calls need: every request sipgo accepts costs a parse, a
// transaction with its timers and garbage for the collector. The listener
// sipgo reads is wrapped: requests over a per-source and a global rate are
// answered here with a stateless 503 and Retry-After (ACKs are dropped),
// from fixed buffers, without reaching sipgo. Responses always pass.

// Default overload limits (Config.MaxRequestRate, Config.MaxSourceRate).
const (
	// DefaultMaxRequestRate bounds the requests per second the stack
	// handles from all sources together.
	DefaultMaxRequestRate = 200
	// DefaultMaxSourceRate bounds the requests per second from one source
	// address and port.
	DefaultMaxSourceRate = 50
)

// overloadSources is the number of sources tracked; a new source takes
// the slot idle the longest.
const overloadSources = 64

// bucket is a token bucket; tokens are in millionths of a request.
type bucket struct {
	key    netip.AddrPort
	tokens int64
	last   int64 // ns
	burst  int64 // ns: when the current over-limit burst began
}

const tokenScale = 1_000_000

// take refills b at rate per second (burst: one second's worth) and takes
// one request if it can.
func (b *bucket) take(now int64, rate int64) bool {
	if b.last != 0 {
		b.tokens += (now - b.last) * rate * tokenScale / int64(time.Second)
	} else {
		b.tokens = rate * tokenScale
	}
	b.last = now
	if full := rate * tokenScale; b.tokens > full {
		b.tokens = full
	}
	if b.tokens < tokenScale {
		return false
	}
	b.tokens -= tokenScale
	return true
}

// limiter decides which requests the stack handles. It is used by the one
// goroutine that reads the listener.
type limiter struct {
	global     bucket
	sources    [overloadSources]bucket
	globalRate int64
	sourceRate int64
}

func (l *limiter) allow(src netip.AddrPort, now int64) bool {
	ok, _ := l.check(src, now)
	return ok
}

// check is allow that also reports, on a refusal for src's own rate,
// whether it starts a new over-limit burst (at most one a second).
func (l *limiter) check(src netip.AddrPort, now int64) (ok, burst bool) {
	slot := &l.sources[0]
	for i := range l.sources {
		s := &l.sources[i]
		if s.key == src {
			slot = s
			break
		}
		if s.last < slot.last {
			slot = s
		}
	}
	if slot.key != src {
		*slot = bucket{key: src}
	}
	if l.sourceRate > 0 && !slot.take(now, l.sourceRate) {
		if now-slot.burst >= int64(time.Second) {
			slot.burst = now
			return false, true
		}
		return false, false
	}
	return l.globalRate <= 0 || l.global.take(now, l.globalRate), false
}

// limitedConn is the UDP listener as sipgo sees it.
type limitedConn struct {
	net.PacketConn
	gate  *rateGate // nil = no rate limits
	guard *guard    // datagrams from banned sources are dropped; nil = no bans
	// quiet, when set, says a source over the limits gets no 503 either
	// (a stranger while strangers are ignored).
	quiet func(netip.AddrPort) bool
	now   func() time.Time
	reply [1500]byte
	// shed counts requests refused with 503; dropped ACKs dropped.
	shed, dropped atomic.Uint64
}

func newLimitedConn(pc net.PacketConn, globalRate, sourceRate int, now func() time.Time) *limitedConn {
	return newGuardedConn(pc, newRateGate(globalRate, sourceRate), nil, now)
}

// newGuardedConn puts pc behind the rate gate and the ban list (either
// may be nil).
func newGuardedConn(pc net.PacketConn, gate *rateGate, g *guard, now func() time.Time) *limitedConn {
	if now == nil {
		now = time.Now
	}
	return &limitedConn{PacketConn: pc, now: now, gate: gate, guard: g}
}

// ReadFrom returns the next datagram the stack should handle; requests over
// the limits are answered (or dropped) here.
func (c *limitedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			return n, addr, err
		}
		src := ua.AddrPort()
		if c.guard.banned(src.Addr()) {
			c.guard.mute.Add(1)
			continue // banned: not a word, not even to a response
		}
		if n < 8 || bytes.HasPrefix(b[:n], []byte("SIP/2.0 ")) {
			return n, addr, nil
		}
		ok, burst := c.gate.admit(src, c.now().UnixNano())
		if ok {
			return n, addr, nil
		}
		if burst {
			c.guard.penalize(src.Addr(), "over the request rate")
		}
		if bytes.HasPrefix(b[:n], []byte("ACK ")) {
			c.dropped.Add(1)
			continue
		}
		c.shed.Add(1)
		if c.quiet != nil && c.quiet(src) {
			continue
		}
		if r := build503(c.reply[:0], b[:n]); len(r) > 0 {
			_, _ = c.PacketConn.WriteTo(r, addr)
		}
	}
}

// build503 appends to dst a stateless "503 Service Unavailable" answer to
// the request req: its Via, From, To (with a tag added when it has none),
// Call-ID and CSeq, Retry-After and no body. It returns nil when req lacks
// one of those or the answer would not fit dst's capacity.
func build503(dst, req []byte) []byte {
	dst = append(dst, "SIP/2.0 503 Service Unavailable\r\n"...)
	var have [5]bool // via from to call-id cseq
	rest := req
	if i := bytes.Index(rest, []byte("\r\n")); i >= 0 {
		rest = rest[i+2:]
	} else {
		return nil
	}
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\r\n"))
		if i <= 0 {
			break // end of headers (or of the datagram)
		}
		line := rest[:i]
		rest = rest[i+2:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		k := headerKind(name)
		if k < 0 {
			continue
		}
		if cap(dst)-len(dst) < len(line)+64 {
			return nil
		}
		have[k] = true
		dst = append(dst, line...)
		if k == 2 && !bytes.Contains(line[colon:], []byte(";tag=")) {
			dst = append(dst, ";tag=ls503"...)
		}
		dst = append(dst, "\r\n"...)
	}
	for _, h := range have {
		if !h {
			return nil
		}
	}
	if cap(dst)-len(dst) < 64 {
		return nil
	}
	return append(dst, "Retry-After: 5\r\nContent-Length: 0\r\n\r\n"...)
}

// headerKind maps a header name (long or compact form) to its index in
// build503's list, -1 for headers it does not copy.
func headerKind(name []byte) int {
	switch {
	case bytes.EqualFold(name, []byte("Via")), bytes.EqualFold(name, []byte("v")):
		return 0
	case bytes.EqualFold(name, []byte("From")), bytes.EqualFold(name, []byte("f")):
		return 1
	case bytes.EqualFold(name, []byte("To")), bytes.EqualFold(name, []byte("t")):
		return 2
	case bytes.EqualFold(name, []byte("Call-ID")), bytes.EqualFold(name, []byte("i")):
		return 3
	case bytes.EqualFold(name, []byte("CSeq")):
		return 4
	}
	return -1
}

// Overload counts what the limits refused: requests answered 503 over
// the rate limits (UDP and streams), ACKs dropped for the same reason,
// bans issued, datagrams dropped from banned sources, connections refused
// at accept (banned, or over a cap) and connections the limits closed
// (deadline, size, not SIP).
type Overload struct {
	Shed, DroppedACKs   uint64
	Bans, DroppedBanned uint64
	RefusedConns        uint64
	ClosedConns         uint64
}

// Overload returns the overload counters (zero before Start or without limits).
func (u *UA) Overload() Overload {
	var o Overload
	if lc := u.limited.Load(); lc != nil {
		o.Shed, o.DroppedACKs = lc.shed.Load(), lc.dropped.Load()
	}
	if !u.limitsUp.Load() {
		return o
	}
	if g := u.guard; g != nil {
		o.Bans, o.DroppedBanned, o.RefusedConns = g.bans.Load(), g.mute.Load(), g.refused.Load()
	}
	if p := u.streams; p != nil {
		o.Shed += p.shed.Load()
		o.DroppedACKs += p.dropped.Load()
		o.ClosedConns = p.closed.Load()
	}
	return o
}
