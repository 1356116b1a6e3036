package sip

import (
	sipmsg "github.com/emiago/sipgo/sip"
)

// UPDATE (RFC 3311) as the far end's request. In an answered call an
// UPDATE with an SDP offer renegotiates the media exactly as a re-INVITE
// with one does (onReinvite), answered in the 200 since UPDATE has no
// ACK; an UPDATE without a body is a session refresh (RFC 4028 prefers
// UPDATE for it) and gets a 200 with the session timer restarted. Before
// the call is answered an UPDATE without a body gets a 200; one with an
// offer is refused with 488, since the offer of the INVITE is still being
// answered by the ringing phone. An UPDATE that meets an offer of ours
// still open (a re-INVITE we sent, or our offer in a 200 waiting for its
// ACK) gets 491.

// onUpdate answers an in-dialog UPDATE.
func (u *UA) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	to := req.To()
	tag := ""
	if to != nil && to.Params != nil {
		tag, _ = to.Params.Get("tag")
	}
	c := u.callByTag(req.CallID().Value(), tag)
	if tag == "" || c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if u.tooSmall(req, tx) { // sessiontimer.go: 422
		return
	}
	c.mu.Lock()
	st, finished, pending := c.state, c.finished, c.pendingOffer != nil || c.reinviting > 0
	c.mu.Unlock()
	hasOffer := len(req.Body()) > 0
	switch {
	case finished:
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	case hasOffer && pending:
		u.respond(req, tx, 491, "Request Pending")
		return
	case st != stateAnswered && hasOffer:
		u.respond(req, tx, 488, "Not Acceptable Here (no session change before answer)")
		return
	case st != stateAnswered:
		u.respondUpdate(c, req, tx, nil, nil)
		return
	case !hasOffer:
		u.respondUpdate(c, req, tx, nil, c.answerSession(req))
		return
	}
	c.mu.Lock()
	local := c.local
	c.sdpVersion++
	ver := c.sdpVersion
	c.mu.Unlock()
	if local.SRTP == "" {
		local.SRTP = c.acct.SRTP
	}
	body, rm, ok := u.answerOffer(c, req, tx, local, ver) // reinvite.go
	if !ok {
		return
	}
	if !u.respondUpdate(c, req, tx, body, c.answerSession(req)) {
		return
	}
	c.mu.Lock()
	c.remote = rm
	c.mu.Unlock()
	u.log.Info("sip media renegotiated", "call", c.id, "codec", rm.Codec, "srtp", rm.SRTP.Suite, "far_direction", rm.Direction, "by", "UPDATE")
	c.emit(Event{Kind: EventMediaChanged, Code: 200, Reason: "UPDATE"})
}

// respondUpdate sends the 200 to an UPDATE, with an SDP answer when body
// is not nil and the session timer headers hs; false when it could not.
func (u *UA) respondUpdate(c *Call, req *sipmsg.Request, tx sipmsg.ServerTransaction, body []byte, hs []sipmsg.Header) bool {
	var res *sipmsg.Response
	if body != nil {
		res = sipmsg.NewSDPResponseFromRequest(req, body)
	} else {
		res = sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	}
	res.AppendHeader(&sipmsg.ContactHeader{Address: u.contactFor(c.acct, c.leg.transport)})
	res.AppendHeader(u.userAgentHeader())
	for _, h := range hs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		u.log.Warn("sip update answer failed", "call", c.id, "error", err)
		return false
	}
	return true
}
