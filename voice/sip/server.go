package sip

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// respond sends a stateful response, logging failures.
func (u *UA) respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string, hdrs ...sipmsg.Header) {
	if tx == nil {
		return
	}
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	res.SipVersion = "SIP/2.0" // sipgo copies the request's, a 505's included
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(u.userAgentHeader())
	if err := tx.Respond(res); err != nil {
		u.log.Debug("sip respond failed", "code", code, "method", req.Method.String(), "error", err)
	}
}

// missingHeader names the first dialog-forming header req lacks.
func missingHeader(req *sipmsg.Request, contact bool) string {
	switch {
	case req.From() == nil:
		return "From"
	case req.To() == nil:
		return "To"
	case req.CallID() == nil:
		return "Call-ID"
	case req.CSeq() == nil:
		return "CSeq"
	case req.Via() == nil:
		return "Via"
	case contact && req.Contact() == nil:
		return "Contact"
	}
	return ""
}

// onInvite handles a new INVITE. It blocks until the call is over, because
// sipgo ends the server transaction when the handler returns (pitfall 7).
func (u *UA) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if u.closing.Load() {
		u.respond(req, tx, 503, "Service Unavailable")
		return
	}
	if h := missingHeader(req, true); h != "" {
		u.respond(req, tx, 400, "Bad Request (missing "+h+")")
		return
	}
	if tag, ok := req.To().Params.Get("tag"); ok {
		u.onReinvite(req, tx, tag)
		return
	}
	acct, dialed := u.incomingAccount(req)
	if acct == nil {
		u.refuseStranger(req, tx)
		return
	}
	u.respond(req, tx, 100, "Trying")
	if u.tooSmall(req, tx) { // sessiontimer.go: 422
		return
	}
	if len(req.Body()) == 0 {
		u.respond(req, tx, 488, "Not Acceptable Here (no SDP offer)")
		return
	}
	if ct := req.ContentType(); ct != nil && !strings.HasPrefix(strings.ToLower(ct.Value()), "application/sdp") {
		u.respond(req, tx, 415, "Unsupported Media Type", sipmsg.NewHeader("Accept", "application/sdp"))
		return
	}
	offer, err := parseSDP(req.Body())
	if err != nil {
		reason := "Not Acceptable Here (bad SDP)"
		if errors.Is(err, ErrNoCommonCodec) {
			reason = "Not Acceptable Here (no common codec)"
		}
		u.log.Info("sip invite refused", "call", req.CallID().Value(), "error", err)
		u.respond(req, tx, 488, reason)
		return
	}
	if _, _, err := answerCrypto(acct.SRTP, offer); err != nil {
		// Refuse before the phone rings: mandatory SRTP and a clear offer,
		// or SRTP we cannot do.
		u.log.Info("sip invite refused", "call", req.CallID().Value(), "account", acct.ID, "error", err)
		u.respond(req, tx, 488, "Not Acceptable Here ("+err.Error()+")")
		return
	}
	replaced, ok := u.replacedCall(req) // refer.go
	if !ok {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist (Replaces)")
		return
	}
	l := u.legFor(req.Transport())
	dss, err := l.dsc.ReadInvite(req, tx)
	if err != nil {
		u.respond(req, tx, 500, "Server Internal Error")
		return
	}
	defer dss.Close()
	from := req.From()
	c := &Call{
		ua:       u,
		acct:     acct,
		id:       req.CallID().Value(),
		incoming: true,
		peer:     peerName(from.DisplayName, from.Address),
		dialed:   dialed,
		caller:   callerIdentity(req),
		leg:      l,
		events:   make(chan Event, eventBuffer),
		done:     make(chan struct{}),
		dss:      dss,
		offer:    offer,
		remote:   offerMedia(offer),
		answered: make(chan struct{}),
		sessID:   newSessionID(),
	}
	c.xfer.replacing = replaced
	u.addCall(c)
	u.log.Info("sip incoming call", "call", c.id, "account", acct.ID, "from", c.peer, "dialed", dialed)
	if u.cfg.Handler == nil {
		go c.Reject(480, "Temporarily Unavailable")
	} else {
		u.handlers.Add(1)
		go func() {
			defer u.handlers.Done()
			u.cfg.Handler.Incoming(acct, c)
		}()
	}
	unanswered := time.NewTimer(answerTimeout)
	defer unanswered.Stop()
	answered := c.answered
	for {
		select {
		case <-dss.Context().Done():
			c.dialogEnded(context.Cause(dss.Context()))
			return
		case <-c.done:
			return
		case <-answered:
			answered = nil // answered or rejected: just wait for the end
		case <-unanswered.C:
			c.mu.Lock()
			pending := c.state == stateCalling
			c.mu.Unlock()
			if pending {
				u.log.Info("sip incoming call not answered in time", "call", c.id)
				go c.Reject(480, "Temporarily Unavailable")
			}
		}
	}
}

// dialogEnded turns the end of an incoming dialog into the final event.
func (c *Call) dialogEnded(cause error) {
	c.mu.Lock()
	st, local, reason := c.state, c.hangup || c.rejected, c.endReason
	c.mu.Unlock()
	if reason == "" {
		reason = ReasonLocalHangup
	}
	switch {
	case errors.Is(cause, sipmsg.ErrTransactionCanceled) || (st == stateCalling && !local):
		c.finish(Event{Kind: EventEnded, Code: 487, Reason: ReasonCancelled})
	case local:
		c.finish(Event{Kind: EventEnded, Reason: reason})
	default:
		c.finish(Event{Kind: EventEnded, Reason: ReasonRemoteHangup})
	}
}

// onAck confirms an incoming dialog.
func (u *UA) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if missingHeader(req, false) != "" {
		return
	}
	u.ackAnswer(req) // reinvite.go: the answer to our offer in a 200
	l := u.legFor(req.Transport())
	if err := l.dsc.ReadAck(req, tx); err != nil {
		for _, o := range u.legs {
			if o != l && o.dsc.ReadAck(req, tx) == nil {
				return
			}
		}
		u.log.Debug("sip ack matches no dialog", "call", req.CallID().Value())
	}
}

// onBye ends a dialog, whichever side created it; 481 when none matches.
func (u *UA) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if h := missingHeader(req, false); h != "" {
		u.respond(req, tx, 400, "Bad Request (missing "+h+")")
		return
	}
	// In direct mode both ends of a call live in this UA with the same
	// Call-ID: the server cache matches BYEs from the caller, the client
	// cache BYEs from the callee.
	for _, l := range u.legs {
		if err := l.dsc.ReadBye(req, tx); err == nil {
			return
		} else if !isNoDialog(err) {
			u.log.Debug("sip bye (uas) failed", "error", err)
			u.respond(req, tx, 500, "Server Internal Error")
			return
		}
		if err := l.dcc.ReadBye(req, tx); err == nil {
			return
		} else if !isNoDialog(err) {
			u.log.Debug("sip bye (uac) failed", "error", err)
			u.respond(req, tx, 500, "Server Internal Error")
			return
		}
	}
	// ReadBye answered nothing (pitfall 9).
	u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func isNoDialog(err error) bool {
	return errors.Is(err, sipgo.ErrDialogDoesNotExists) || errors.Is(err, sipgo.ErrDialogOutsideDialog)
}

// onCancel sees only CANCELs that match no INVITE transaction (the
// transaction layer answers the others itself, pitfall 6).
func (u *UA) onCancel(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

// onOptions answers keep-alive and capability queries from our registrars
// and ourselves, and from anyone when an account takes direct calls;
// strangers get what a stranger's INVITE gets.
func (u *UA) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if u.closing.Load() {
		u.respond(req, tx, 503, "Service Unavailable")
		return
	}
	if !u.fromTrusted(req) {
		u.refuseStranger(req, tx)
		return
	}
	u.respond(req, tx, 200, "OK",
		sipmsg.NewHeader("Allow", allowMethods),
		sipmsg.NewHeader("Accept", "application/sdp"))
}

// onNoRoute refuses methods we do not implement: the precheck answers
// them first (405 for methods we know, 501 for others); this stays for
// safety.
func (u *UA) onNoRoute(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	u.respond(req, tx, 405, "Method Not Allowed", sipmsg.NewHeader("Allow", allowMethods))
}

// callByTag finds the call with Call-ID id whose local tag is tag.
func (u *UA) callByTag(id, tag string) *Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	for c := range u.calls {
		if c.id == id && c.localTag() == tag {
			return c
		}
	}
	return nil
}
