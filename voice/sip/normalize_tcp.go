package sip

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The pre-parse shim on TCP. sipgo's read filter sees whatever each read
// of a stream returns, not messages, so on TCP the shim sits in the
// listener instead: each accepted connection is read through a framer that
// finds each message's header section, normalises it (normalizeMessage)
// and passes the body through by its Content-Length. What it cannot frame
// (no Content-Length, a header section over maxHeaderSection) it passes
// through untouched from then on, for sipgo to accept or refuse as before.
// Accepted TLS connections are read through it too, under the TLS layer;
// connections sipgo dials itself (to a registrar) have no such hook.
//
// The framer also enforces the limits of limits.go on accepted
// connections: the per-IP request rate, each message's deadline, the idle
// deadline and the message size bound.

// errNotSIP ends a TCP connection whose stream is not SIP messages.
var errNotSIP = errors.New("sip: not a SIP message on the stream")

// maxHeaderSection bounds a header section the framer waits for.
const maxHeaderSection = 65535

// normListener hands out connections read through the shim, under pol
// (nil: no limits).
type normListener struct {
	net.Listener
	pol *streamPolicy
}

func (l normListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	nc := &normConn{Conn: c, pol: l.pol}
	if l.pol != nil {
		nc.ip = addrIP(c.RemoteAddr())
		nc.opened = l.pol.now()
	}
	return nc, nil
}

// normConn is a TCP connection whose reads are normalised messages.
type normConn struct {
	net.Conn
	in      []byte // read, not yet framed
	out     []byte // framed, not yet returned
	body    int    // body bytes still to pass through
	skip    int    // body bytes of a refused request still to drop
	passing bool   // framing gave up: pass everything through
	err     error  // the connection's read error, once in is drained

	pol      *streamPolicy // nil = no limits
	ip       netip.Addr
	opened   time.Time // when accepted
	msgStart time.Time // first byte of the message being read; zero between messages
	lastDone time.Time // when the last message was whole; zero before the first
}

func (c *normConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.frame() {
			continue
		}
		if c.err != nil {
			if len(c.in) == 0 {
				return 0, c.err
			}
			// What cannot be framed any more goes out as it came.
			c.out, c.in = c.in, nil
			break
		}
		c.setDeadline()
		var buf [4096]byte
		n, err := c.Conn.Read(buf[:])
		if n > 0 && c.pol != nil && c.msgStart.IsZero() && c.body == 0 && c.skip == 0 {
			c.msgStart = c.pol.now()
		}
		c.in = append(c.in, buf[:n]...)
		c.err = err
		var ne net.Error
		if c.pol != nil && errors.As(err, &ne) && ne.Timeout() {
			c.end(!c.msgStart.IsZero() || c.lastDone.IsZero(), "read deadline")
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// setDeadline sets the read deadline the policy asks for now.
func (c *normConn) setDeadline() {
	p := c.pol
	if p == nil {
		return
	}
	var d time.Time
	switch {
	case !c.msgStart.IsZero():
		if p.msgTimeout > 0 {
			d = c.msgStart.Add(p.msgTimeout)
		}
	case c.lastDone.IsZero():
		if p.msgTimeout > 0 {
			d = c.opened.Add(p.msgTimeout)
		}
	case p.idle > 0 && (p.trusted == nil || !p.trusted(c.ip)):
		d = c.lastDone.Add(p.idle)
	}
	_ = c.Conn.SetReadDeadline(d)
}

// end closes the stream for the limits: what is buffered is dropped,
// and a failure is booked against the source when penalize is true.
func (c *normConn) end(penalize bool, reason string) {
	c.in, c.out, c.err = nil, nil, errStreamEnded
	c.pol.closed.Add(1)
	if penalize {
		c.pol.penalize(c.ip, reason)
	}
}

// done marks a message whole; what is left in in starts the next one.
func (c *normConn) done() {
	if c.pol == nil {
		return
	}
	now := c.pol.now()
	c.msgStart, c.lastDone = time.Time{}, now
	if len(c.in) > 0 {
		c.msgStart = now
	}
}

// frame moves what it can from in to out and reports whether it did.
func (c *normConn) frame() bool {
	if len(c.in) == 0 {
		return false
	}
	if c.passing {
		c.out, c.in = c.in, nil
		return true
	}
	if c.skip > 0 {
		n := min(c.skip, len(c.in))
		c.in = c.in[n:]
		if c.skip -= n; c.skip == 0 {
			c.done()
		}
		return true
	}
	if c.body > 0 {
		n := min(c.body, len(c.in))
		c.out = append(c.out, c.in[:n]...)
		c.in = c.in[n:]
		if c.body -= n; c.body == 0 {
			c.done()
		}
		return true
	}
	// Between messages: CRLF keep-alives (RFC 5626 3.5.1) go out alone.
	if i := leadingCRLF(c.in); i > 0 {
		c.out = append(c.out, c.in[:i]...)
		c.in = c.in[i:]
		if len(c.in) == 0 {
			c.done()
		}
		return true
	}
	limit := c.pol.maxMessageOf()
	end := bytes.Index(c.in, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.in) > limit {
			if c.pol != nil {
				c.end(true, "message too large")
				return false
			}
			c.passing = true
			return c.frame()
		}
		return false
	}
	head := normalizeMessage(c.in[:end+4])
	if head == nil {
		// Not SIP: the stream has no message boundary left to trust.
		c.in, c.err = nil, errNotSIP
		if c.pol != nil {
			c.end(true, "not SIP")
		}
		return false
	}
	length, ok := contentLength(head)
	if !ok && c.pol != nil {
		// A stream needs Content-Length (RFC 3261 18.3); without one
		// nothing bounds the message.
		c.end(true, "no Content-Length")
		return false
	}
	if !ok {
		c.passing = true
		return c.frame()
	}
	if c.pol != nil && end+4+length > limit {
		c.end(true, "message too large")
		return false
	}
	c.in = c.in[end+4:]
	if !c.admit(head) {
		c.skip = length
		if length == 0 {
			c.done()
		}
		return true
	}
	c.out = append(c.out, head...)
	c.body = length
	if length == 0 {
		c.done()
	}
	return true
}

// admit applies the request rate to a framed header section: over the
// limit a request is answered 503 (an ACK dropped) and each burst is a
// failure for the ban list. A peer that does not take the answer within
// writeWait loses the connection.
func (c *normConn) admit(head []byte) bool {
	if c.pol == nil || c.pol.gate == nil || bytes.HasPrefix(head, []byte("SIP/2.0 ")) {
		return true
	}
	ok, burst := c.pol.gate.admit(netip.AddrPortFrom(c.ip, 0), c.pol.now().UnixNano())
	if ok {
		return true
	}
	if burst {
		c.pol.penalize(c.ip, "over the request rate")
	}
	if bytes.HasPrefix(head, []byte("ACK ")) {
		c.pol.dropped.Add(1)
		return false
	}
	c.pol.shed.Add(1)
	var buf [1500]byte
	if r := build503(buf[:0], head); len(r) > 0 {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(writeWait))
		_, err := c.Conn.Write(r)
		_ = c.Conn.SetWriteDeadline(time.Time{})
		if err != nil {
			c.end(false, "")
		}
	}
	return false
}

// writeWait bounds how long a 503 over a stream may wait for the peer.
const writeWait = time.Second

// leadingCRLF is the length of the CRLF pairs b starts with.
func leadingCRLF(b []byte) int {
	i := 0
	for len(b) >= i+2 && b[i] == '\r' && b[i+1] == '\n' {
		i += 2
	}
	return i
}

// contentLength reads the one Content-Length of a header section.
func contentLength(head []byte) (int, bool) {
	n, found := 0, false
	for _, line := range bytes.Split(head, []byte("\r\n"))[1:] {
		name, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "content-length", "l":
			if found {
				return 0, false
			}
			x, err := strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil || x < 0 || x > 1<<30 {
				return 0, false
			}
			n, found = x, true
		}
	}
	return n, found
}
