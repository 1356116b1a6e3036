package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Reliable provisional responses (RFC 3262). As caller we offer 100rel
// in Supported and answer each reliable 18x (Require: 100rel, RSeq) with
// a PRACK carrying RAck. As callee we send a 183 with SDP reliably when
// the INVITE supports 100rel, and every 18x when it requires it:
// retransmitted from T1 doubling until the PRACK, the INVITE refused with
// 500 when none comes within 64*T1.

// relTimeout is how long a reliable provisional response is retransmitted
// without a PRACK (64*T1).
func relTimeout() time.Duration { return 64 * sipmsg.T1 }

// maxRSeq is the largest RSeq (RFC 3262 7.1: 1 to 2**32-1; the first is
// at most 2**31-1 so that increments never wrap).
const maxRSeq = 1<<32 - 1

// errBadRSeq is an RSeq or RAck that is not what RFC 3262 7 allows.
var errBadRSeq = errors.New("bad rseq")

// parseRSeq reads an RSeq header value: a response number 1..2**32-1.
func parseRSeq(v string) (uint32, error) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 10 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q", errBadRSeq, v)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 || n > maxRSeq {
		return 0, fmt.Errorf("%w: %q", errBadRSeq, v)
	}
	return uint32(n), nil
}

// rack is a parsed RAck: the RSeq and CSeq of the response acknowledged.
type rack struct {
	rseq, cseq uint32
	method     string
}

// parseRAck reads an RAck header value: "RSeq CSeq-number Method".
func parseRAck(v string) (rack, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return rack{}, fmt.Errorf("%w: rack %q: want rseq, cseq and method", errBadRSeq, v)
	}
	rs, err := parseRSeq(f[0])
	if err != nil {
		return rack{}, fmt.Errorf("rack %q: %w", v, err)
	}
	cs, err := parseRSeq(f[1])
	if err != nil {
		return rack{}, fmt.Errorf("rack %q cseq: %w", v, err)
	}
	if strings.TrimLeft(f[2], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-.!%*_+`'~") != "" {
		return rack{}, fmt.Errorf("%w: rack %q: bad method", errBadRSeq, v)
	}
	return rack{rseq: rs, cseq: cs, method: f[2]}, nil
}

// relState is a call's reliable provisional responses.
type relState struct {
	// caller: the RSeq of the last reliable response we PRACKed, 0 none.
	acked uint32
	// callee: the RSeq of our last reliable response and, while it waits
	// for its PRACK, pending (closed by the PRACK).
	rseq    uint32
	pending chan struct{}
}

// onReliable PRACKs a reliable provisional response to our INVITE; it
// runs in the INVITE's answer loop. A retransmission (an RSeq already
// acknowledged) and a response out of order are ignored (RFC 3262 4).
func (c *Call) onReliable(r *sipmsg.Response) {
	if r.StatusCode <= 100 || r.StatusCode >= 200 || !requires(r, tag100rel) {
		return
	}
	h := r.GetHeader("RSeq")
	if h == nil {
		c.ua.log.Info("sip reliable provisional without rseq", "call", c.id, "code", r.StatusCode)
		return
	}
	rseq, err := parseRSeq(h.Value())
	if err != nil {
		c.ua.log.Info("sip reliable provisional refused", "call", c.id, "error", err)
		return
	}
	c.mu.Lock()
	last := c.rel.acked
	if last != 0 && rseq != last+1 {
		c.mu.Unlock()
		return // a retransmission, or one out of order
	}
	c.rel.acked = rseq
	c.mu.Unlock()
	inv := c.dcs.InviteRequest
	target := inv.Recipient
	if ct := r.Contact(); ct != nil {
		target = ct.Address
	}
	req := sipmsg.NewRequest(sipmsg.PRACK, *target.Clone())
	req.AppendHeader(sipmsg.NewHeader("RAck", fmt.Sprintf("%d %d INVITE", rseq, inv.CSeq().SeqNo)))
	req.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	req.AppendHeader(c.ua.userAgentHeader())
	req.Laddr = c.leg.laddr
	ctx, cancel := context.WithTimeout(context.Background(), reinviteTimeout)
	// TransactionRequest builds the request from the dialog as it is now
	// (the 18x's To tag and Record-Route), so it runs here; its answer is
	// waited for aside.
	tx, err := c.dcs.TransactionRequest(ctx, req)
	if err != nil {
		cancel()
		c.ua.log.Warn("sip prack failed", "call", c.id, "error", err)
		return
	}
	c.ua.log.Debug("sip prack sent", "call", c.id, "rseq", rseq)
	c.ua.handlers.Add(1)
	go func() {
		defer c.ua.handlers.Done()
		defer cancel()
		defer tx.Terminate()
		for {
			select {
			case res := <-tx.Responses():
				if res.IsProvisional() {
					continue
				}
				if !res.IsSuccess() {
					c.ua.log.Info("sip prack refused", "call", c.id, "code", res.StatusCode)
				}
				return
			case <-tx.Done():
				return
			case <-ctx.Done():
				return
			}
		}
	}()
}

// reliable reports whether our provisional response code (with an SDP
// body or not) goes reliably: every 18x when the INVITE requires 100rel,
// one with SDP when it supports it.
func (c *Call) reliable(withSDP bool) bool {
	inv := c.dss.InviteRequest
	return requires(inv, tag100rel) || (withSDP && supports(inv, tag100rel))
}

// sendProvisional sends an 18x for an incoming call, reliably when
// reliable says so; a reliable one is retransmitted until its PRACK
// arrives and the INVITE refused with 500 when it never does.
func (c *Call) sendProvisional(code int, reason string, body []byte, hdrs ...sipmsg.Header) error {
	res := sipmsg.NewResponseFromRequest(c.dss.InviteRequest, code, reason, body)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if !c.reliable(len(body) > 0) {
		return c.dss.WriteResponse(res)
	}
	c.mu.Lock()
	if c.rel.pending != nil {
		// RFC 3262 3: no second reliable response before the first is
		// acknowledged; this one goes unreliably, without its SDP unless
		// the call has no answer out yet.
		c.mu.Unlock()
		return c.dss.WriteResponse(sipmsg.NewResponseFromRequest(c.dss.InviteRequest, code, reason, nil))
	}
	if c.rel.rseq == 0 {
		c.rel.rseq = uint32(newSessionID()%(1<<31-1)) + 1
	} else {
		c.rel.rseq++
	}
	rseq := c.rel.rseq
	acked := make(chan struct{})
	c.rel.pending = acked
	c.mu.Unlock()
	res.AppendHeader(sipmsg.NewHeader("Require", tag100rel))
	res.AppendHeader(sipmsg.NewHeader("RSeq", strconv.FormatUint(uint64(rseq), 10)))
	if err := c.dss.WriteResponse(res); err != nil {
		c.mu.Lock()
		c.rel.pending = nil
		c.mu.Unlock()
		return err
	}
	c.ua.handlers.Add(1)
	go func() {
		defer c.ua.handlers.Done()
		c.retransmitReliable(res, acked)
	}()
	return nil
}

// retransmitReliable resends a reliable provisional response at T1,
// doubling, until acked closes; with no PRACK after relTimeout() the INVITE
// gets 500.
func (c *Call) retransmitReliable(res *sipmsg.Response, acked chan struct{}) {
	wait := sipmsg.T1
	give := time.NewTimer(relTimeout())
	defer give.Stop()
	for {
		t := time.NewTimer(wait)
		select {
		case <-acked:
			t.Stop()
			return
		case <-c.done:
			t.Stop()
			return
		case <-c.dss.Context().Done():
			t.Stop()
			return
		case <-give.C:
			t.Stop()
			c.ua.log.Info("sip reliable provisional never acknowledged", "call", c.id)
			c.mu.Lock()
			c.rel.pending = nil
			c.mu.Unlock()
			_ = c.Reject(500, "Server Internal Error (no PRACK)")
			return
		case <-t.C:
		}
		c.mu.Lock()
		calling := c.state == stateCalling && c.rel.pending == acked
		c.mu.Unlock()
		if !calling {
			return
		}
		if err := c.dss.WriteResponse(res); err != nil {
			return
		}
		wait = min(2*wait, sipmsg.T2)
	}
}

// waitPRACK waits, bounded by relTimeout(), for the PRACK of a reliable
// provisional response still unacknowledged: the 2xx must not overtake it
// (RFC 3262 3).
func (c *Call) waitPRACK() {
	c.mu.Lock()
	p := c.rel.pending
	c.mu.Unlock()
	if p == nil {
		return
	}
	t := time.NewTimer(relTimeout())
	defer t.Stop()
	select {
	case <-p:
	case <-t.C:
	case <-c.done:
	}
}

// onPrack acknowledges a reliable provisional response of an incoming
// call: 200 when the RAck names the one outstanding, 481 otherwise.
func (u *UA) onPrack(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	tag, _ := req.To().Params.Get("tag")
	c := u.callByTag(req.CallID().Value(), tag)
	if c == nil || !c.incoming {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	h := req.GetHeader("RAck")
	if h == nil {
		u.respond(req, tx, 400, "Bad Request (missing RAck)")
		return
	}
	ra, err := parseRAck(h.Value())
	if err != nil {
		u.respond(req, tx, 400, "Bad Request (bad RAck)")
		return
	}
	c.mu.Lock()
	p := c.rel.pending
	match := ra.rseq == c.rel.rseq && ra.cseq == c.dss.InviteRequest.CSeq().SeqNo && strings.EqualFold(ra.method, "INVITE")
	if match && p != nil {
		close(p)
		c.rel.pending = nil
	}
	c.mu.Unlock()
	if !match {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist (RAck)")
		return
	}
	// A retransmitted PRACK gets its 200 again.
	u.respond(req, tx, 200, "OK")
}
