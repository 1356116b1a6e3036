package sip

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
)

// The pre-parse shim on TCP. sipgo's read filter sees whatever each read
// of a stream returns, not messages, so on TCP the shim sits in the
// listener instead: each accepted connection is read through a framer that
// finds each message's header section, normalises it (normalizeMessage)
// and passes the body through by its Content-Length. What it cannot frame
// (no Content-Length, a header section over maxHeaderSection) it passes
// through untouched from then on, for sipgo to accept or refuse as before.
// TLS connections are dialled by sipgo itself and have no such hook.

// errNotSIP ends a TCP connection whose stream is not SIP messages.
var errNotSIP = errors.New("sip: not a SIP message on the stream")

// maxHeaderSection bounds a header section the framer waits for.
const maxHeaderSection = 65535

// normListener hands out connections read through the shim.
type normListener struct{ net.Listener }

func (l normListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &normConn{Conn: c}, nil
}

// normConn is a TCP connection whose reads are normalised messages.
type normConn struct {
	net.Conn
	in      []byte // read, not yet framed
	out     []byte // framed, not yet returned
	body    int    // body bytes still to pass through
	passing bool   // framing gave up: pass everything through
	err     error  // the connection's read error, once in is drained
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
		var buf [4096]byte
		n, err := c.Conn.Read(buf[:])
		c.in = append(c.in, buf[:n]...)
		c.err = err
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
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
	if c.body > 0 {
		n := min(c.body, len(c.in))
		c.out = append(c.out, c.in[:n]...)
		c.in = c.in[n:]
		c.body -= n
		return true
	}
	// Between messages: CRLF keep-alives (RFC 5626 3.5.1) go out alone.
	if i := leadingCRLF(c.in); i > 0 {
		c.out = append(c.out, c.in[:i]...)
		c.in = c.in[i:]
		return true
	}
	end := bytes.Index(c.in, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.in) > maxHeaderSection {
			c.passing = true
			return c.frame()
		}
		return false
	}
	head := normalizeMessage(c.in[:end+4])
	if head == nil {
		// Not SIP: the stream has no message boundary left to trust.
		c.in, c.err = nil, errNotSIP
		return false
	}
	length, ok := contentLength(head)
	if !ok {
		c.passing = true
		return c.frame()
	}
	c.out = append(c.out, head...)
	c.in = c.in[end+4:]
	c.body = length
	return true
}

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
			if err != nil || x < 0 || x > maxHeaderSection {
				return 0, false
			}
			n, found = x, true
		}
	}
	return n, found
}
