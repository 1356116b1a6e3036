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
	if !slot.take(now, l.sourceRate) {
		return false
	}
	return l.global.take(now, l.globalRate)
}

// limitedConn is the UDP listener as sipgo sees it.
type limitedConn struct {
	net.PacketConn
	lim   limiter
	now   func() time.Time
	reply [1500]byte
	// shed counts requests refused with 503; dropped ACKs dropped.
	shed, dropped atomic.Uint64
}

func newLimitedConn(pc net.PacketConn, globalRate, sourceRate int, now func() time.Time) *limitedConn {
	if globalRate <= 0 {
		globalRate = DefaultMaxRequestRate
	}
	if sourceRate <= 0 {
		sourceRate = DefaultMaxSourceRate
	}
	if now == nil {
		now = time.Now
	}
	return &limitedConn{PacketConn: pc, now: now,
		lim: limiter{globalRate: int64(globalRate), sourceRate: int64(sourceRate)}}
}

// ReadFrom returns the next datagram the stack should handle; requests over
// the limits are answered (or dropped) here.
func (c *limitedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || n < 8 || bytes.HasPrefix(b[:n], []byte("SIP/2.0 ")) {
			return n, addr, err
		}
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			return n, addr, err
		}
		if c.lim.allow(ua.AddrPort(), c.now().UnixNano()) {
			return n, addr, nil
		}
		if bytes.HasPrefix(b[:n], []byte("ACK ")) {
			c.dropped.Add(1)
			continue
		}
		c.shed.Add(1)
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

// Overload counts the requests the UDP listener refused because of the
// rate limits: answered 503, and ACKs dropped.
type Overload struct {
	Shed, DroppedACKs uint64
}

// Overload returns the overload counters (zero before Start or without limits).
func (u *UA) Overload() Overload {
	lc := u.limited.Load()
	if lc == nil {
		return Overload{}
	}
	return Overload{Shed: lc.shed.Load(), DroppedACKs: lc.dropped.Load()}
}
