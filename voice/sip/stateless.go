package sip

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Strangers answered without a transaction. Every request sipgo reads
// gets a server transaction that lives 32 s over UDP (timers H and J,
// 64·T1) to absorb retransmissions; under a flood of strangers' requests
// (a scanner, SIPp) thousands of them hold the requests, their answers
// and their timers: 6–10 MiB of a 32-port gateway's heap. A stranger's
// request outside a dialog gets the same answer whatever it is for, so
// the UDP listener sipgo reads answers it itself, before sipgo sees it,
// and keeps nothing (RFC 3261 8.2.7, a stateless UAS):
//
//   - a request from a source fromTrusted does not trust (not ourselves,
//     not a registrar, and no account takes calls from anywhere), with no
//     To tag, other than ACK, is parsed here; a datagram the parser or
//     the pre-parse shim refuses goes on to sipgo, which drops it as
//     before;
//   - with Config.IgnoreStrangers it is dropped (NOTIFY keeps its
//     handler's own rule and goes on);
//   - a request the precheck refuses gets the precheck's answer;
//   - an INVITE or OPTIONS gets refuseStranger's 404 (an INVITE without
//     Contact 400, as its handler says), a CANCEL 481 (no INVITE of a
//     stranger's has a transaction to cancel); the source is penalised
//     as refuseStranger does;
//   - other methods, and everything while the UA is closing, go on to
//     sipgo unchanged.
//
// The answer's To tag is a keyed hash of the request's transaction
// (Call-ID, From tag, top Via branch, CSeq), so a retransmission gets
// the same answer again, byte for byte; the stranger's ACK of a refused
// INVITE carries that tag and is dropped here (nothing waits for it).

// statelessTagPrefix starts the To tag of every stateless answer.
const statelessTagPrefix = "ls"

// strangerConn is the UDP listener sipgo reads, answering strangers.
type strangerConn struct {
	net.PacketConn
	u      *UA
	parser *sipmsg.Parser // used by the one goroutine that reads
	key    [16]byte       // keys the stateless To tags
	buf    bytes.Buffer   // the answer being written

	// lastRefresh is when trustSettled last started a lookup (Unix ns).
	lastRefresh atomic.Int64

	// answered counts stateless answers sent, dropped strangers'
	// requests dropped here (ignored, or an ACK of a stateless answer).
	answered, dropped atomic.Uint64
}

func newStrangerConn(pc net.PacketConn, u *UA) *strangerConn {
	c := &strangerConn{PacketConn: pc, u: u, parser: sipmsg.NewParser()}
	rand.Read(c.key[:])
	return c
}

// ReadFrom returns the next datagram sipgo should handle; strangers'
// requests outside a dialog are answered (or dropped) here.
func (c *strangerConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.handled(b[:n], addr) {
			return n, addr, err
		}
	}
}

// traceIn shows the SIP trace and the packet capture a request handled
// here (sipgo traces only what reaches it), before its answer.
func (c *strangerConn) traceIn(data []byte, addr net.Addr) {
	if t := installedTrace.Load(); t != nil {
		t.SIPTraceRead("UDP", c.LocalAddr().String(), addr.String(), data)
	}
}

// handled answers or drops data from addr when it is a stranger's request
// outside a dialog, and reports whether it did.
func (c *strangerConn) handled(data []byte, addr net.Addr) bool {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || len(data) < 8 || bytes.HasPrefix(data, []byte("SIP/2.0 ")) || c.u.closing.Load() {
		return false
	}
	if !c.trustSettled() {
		return false
	}
	src := ua.AddrPort()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	// The trust rules read only the source and the transport: decide
	// before parsing, so a trusted peer's request is parsed once, by sipgo.
	probe := &sipmsg.Request{}
	probe.SetSource(src.String())
	probe.SetTransport("UDP")
	if c.u.fromTrusted(probe) {
		return false
	}
	norm := normalizeMessage(data)
	if norm == nil {
		return false // sipgo's read filter drops it and books it
	}
	msg, err := c.parser.ParseSIP(norm)
	if err != nil {
		return false
	}
	req, ok := msg.(*sipmsg.Request)
	if !ok {
		return false
	}
	req.SetSource(src.String())
	req.SetTransport("UDP")
	to := req.To()
	if to == nil || req.Via() == nil || req.CSeq() == nil || req.CallID() == nil || req.From() == nil {
		return false // sipgo answers what it cannot key statelessly itself
	}
	if tag, ok := to.Params.Get("tag"); ok {
		if req.IsAck() && len(tag) > len(statelessTagPrefix) && tag[:len(statelessTagPrefix)] == statelessTagPrefix {
			c.traceIn(data, addr)
			c.dropped.Add(1)
			return true // the ACK of a stateless answer: nothing waits for it
		}
		return false // in a dialog: its handler decides
	}
	if req.IsAck() {
		return false
	}
	u := c.u
	if u.cfg.IgnoreStrangers {
		if req.Method == sipmsg.NOTIFY {
			return false
		}
		c.traceIn(data, addr)
		u.log.Debug("sip request from a stranger ignored", "method", req.Method.String(), "source", req.Source())
		c.dropped.Add(1)
		return true
	}
	r := precheck(req)
	switch req.Method {
	case sipmsg.INVITE, sipmsg.OPTIONS, sipmsg.CANCEL:
	default:
		if r == nil {
			return false // its handler decides
		}
	}
	c.traceIn(data, addr)
	if r != nil {
		u.log.Debug("sip request refused", "method", req.Method.String(), "code", r.code, "reason", r.reason, "source", req.Source())
		c.answer(req, src, r.code, r.reason, r.hdrs...)
		return true
	}
	switch req.Method {
	case sipmsg.INVITE:
		if h := missingHeader(req, true); h != "" {
			c.answer(req, src, 400, "Bad Request (missing "+h+")")
			return true
		}
		c.refuse(req, src)
	case sipmsg.OPTIONS:
		c.refuse(req, src)
	case sipmsg.CANCEL:
		c.answer(req, src, 481, "Call/Transaction Does Not Exist")
	}
	return true
}

// trustSettled reports whether the trust rules can be read without
// waiting for a DNS lookup, which must never hold up the listener's one
// reader. When they cannot, the registrars are looked up in the
// background (one refresh at a time, at most one a second) and the
// request goes to sipgo as before; a registrar that cannot be resolved
// keeps it so.
func (c *strangerConn) trustSettled() bool {
	if !c.u.trustNeedsLookup() {
		return true
	}
	now := time.Now().UnixNano()
	if last := c.lastRefresh.Load(); now-last >= int64(time.Second) && c.lastRefresh.CompareAndSwap(last, now) {
		go func() {
			for _, a := range c.u.accounts {
				if a.Registrar != "" {
					c.u.registrarOwnTargets(a)
				}
			}
		}()
	}
	return false
}

// refuse is refuseStranger without a transaction.
func (c *strangerConn) refuse(req *sipmsg.Request, src netip.AddrPort) {
	c.u.log.Debug("sip request from a stranger refused", "method", req.Method.String(), "source", req.Source())
	c.u.penalize(req.Source(), "stranger")
	c.answer(req, src, 404, "Not Found")
}

// answer writes the stateless response to req as respond builds it, with
// the request's own To tag (see statelessTag), to where sipgo would send
// it: the source address, at the Via's port unless the Via asks for
// rport.
func (c *strangerConn) answer(req *sipmsg.Request, src netip.AddrPort, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	res.SipVersion = "SIP/2.0"
	if to := res.To(); to != nil {
		to.Params.Add("tag", c.statelessTag(req))
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(c.u.userAgentHeader())
	c.buf.Reset()
	res.StringWrite(&c.buf)
	if c.buf.Len() > sipmsg.UDPMTUSize-200 {
		return // what sipgo refuses to send over UDP (ErrUDPMTUCongestion)
	}
	dst := src
	if via := req.Via(); via != nil {
		if rport, ok := via.Params.Get("rport"); !ok || rport != "" {
			port := via.Port
			if port == 0 {
				port = sipmsg.DefaultUdpPort
			}
			dst = netip.AddrPortFrom(src.Addr(), uint16(port))
		}
	}
	to := net.UDPAddrFromAddrPort(dst)
	c.answered.Add(1) // before the answer can arrive
	if _, err := c.PacketConn.WriteTo(c.buf.Bytes(), to); err != nil {
		c.u.log.Debug("sip stateless answer failed", "code", code, "method", req.Method.String(), "error", err)
		return
	}
	if t := installedTrace.Load(); t != nil {
		t.SIPTraceWrite("UDP", c.LocalAddr().String(), to.String(), c.buf.Bytes())
	}
}

// statelessTag is the To tag of the stateless answer to req: the same for
// every retransmission of req, another for every other request, and
// unguessable to its sender.
func (c *strangerConn) statelessTag(req *sipmsg.Request) string {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(req.CallID().Value()))
	m.Write([]byte{0})
	if tag, ok := req.From().Params.Get("tag"); ok {
		m.Write([]byte(tag))
	}
	m.Write([]byte{0})
	if branch, ok := req.Via().Params.Get("branch"); ok {
		m.Write([]byte(branch))
	}
	m.Write([]byte{0})
	cs := req.CSeq()
	m.Write([]byte(strconv.FormatUint(uint64(cs.SeqNo), 10)))
	m.Write([]byte(cs.MethodName))
	return statelessTagPrefix + hex.EncodeToString(m.Sum(nil)[:8])
}
