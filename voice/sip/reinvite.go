package sip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pion/sdp/v3"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Direction is an SDP stream direction attribute (RFC 3264 6.1, 8.4).
type Direction string

// Stream directions. SendOnly from us puts the far end on hold; Inactive
// is the hold of a stream the far end holds as well.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// orSendRecv returns d, or SendRecv for "".
func (d Direction) orSendRecv() Direction {
	if d == "" {
		return SendRecv
	}
	return d
}

// sends reports whether the side that wrote d sends media.
func (d Direction) sends() bool {
	d = d.orSendRecv()
	return d == SendRecv || d == SendOnly
}

// receives reports whether the side that wrote d receives media.
func (d Direction) receives() bool {
	d = d.orSendRecv()
	return d == SendRecv || d == RecvOnly
}

// direction builds the attribute from the two halves.
func direction(send, recv bool) Direction {
	switch {
	case send && recv:
		return SendRecv
	case send:
		return SendOnly
	case recv:
		return RecvOnly
	}
	return Inactive
}

// answerDirection is the direction of our answer to an offer of direction
// offer while we want local: we send only what the offerer receives and
// receive only what it sends (RFC 3264 6.1).
func answerDirection(offer, local Direction) Direction {
	return direction(offer.receives() && local.sends(), offer.sends() && local.receives())
}

// sdpDirection reads the direction attribute of a stream, falling back to
// the session's, then to sendrecv.
func sdpDirection(media, session []sdp.Attribute) Direction {
	for _, attrs := range [][]sdp.Attribute{media, session} {
		for _, a := range attrs {
			switch d := Direction(a.Key); d {
			case SendRecv, SendOnly, RecvOnly, Inactive:
				return d
			}
		}
	}
	return SendRecv
}

// Holding reports whether the far end has put us on hold: it sends no
// media it wants us to answer (sendonly, music on hold; or inactive), or
// its address is 0.0.0.0 (RFC 2543 hold).
func (m RemoteMedia) Holding() bool {
	d := m.Direction.orSendRecv()
	return d == SendOnly || d == Inactive || (m.Addr.IsValid() && m.Addr.Addr().IsUnspecified())
}

// SendsMedia reports whether the far end sends RTP we should play (its
// direction is sendrecv or sendonly).
func (m RemoteMedia) SendsMedia() bool { return m.Direction.sends() }

// ReceivesMedia reports whether we should send RTP to the far end: its
// direction is sendrecv or recvonly and its address is a real one.
func (m RemoteMedia) ReceivesMedia() bool {
	return m.Direction.receives() && m.Addr.IsValid() && !m.Addr.Addr().IsUnspecified()
}

// reinviteTimeout bounds one outgoing re-INVITE transaction.
const reinviteTimeout = 32 * time.Second

// Reinvite renegotiates an answered call's media with a new offer: local
// (our address and codecs, as in Dial) with direction dir: SendOnly holds
// the far end, Inactive holds a far end that holds us, SendRecv resumes.
// It waits for the final answer and ACKs a 2xx; Remote() then has the
// answer's media (fresh SRTP keys when the call is secure). A failure
// answer (491, 488, ...) leaves the call and its media as they were.
// It is the only in-dialog INVITE we send.
func (c *Call) Reinvite(ctx context.Context, local LocalMedia, dir Direction) error {
	c.mu.Lock()
	if c.state != stateAnswered || c.finished {
		c.mu.Unlock()
		return fmt.Errorf("re-invite: %w", ErrCallState)
	}
	if local.SRTP == "" {
		local.SRTP = c.local.SRTP
	}
	if local.SRTP == "" {
		local.SRTP = c.acct.SRTP
	}
	if c.remote.SRTP.Enabled() && local.SRTP == SRTPOff {
		local.SRTP = SRTPOptional
	}
	local.Direction = dir
	c.sdpVersion++
	ver := c.sdpVersion
	c.mu.Unlock()

	body, offered, err := buildOfferSRTP(local, c.sessID, ver)
	if err != nil {
		return fmt.Errorf("re-invite: %w", err)
	}
	prefs, err := normalizeCodecs(local.Codecs)
	if err != nil {
		return fmt.Errorf("re-invite: %w", err)
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, c.remoteTarget())
	req.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	req.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	req.AppendHeader(c.ua.userAgentHeader())
	for _, h := range c.refreshHeaders() { // sessiontimer.go
		req.AppendHeader(h)
	}
	ct := sipmsg.ContentTypeHeader(typeSDP)
	req.AppendHeader(&ct)
	req.SetBody(body)
	rctx, cancel := context.WithTimeout(ctx, reinviteTimeout)
	defer cancel()
	// A 491 (glare) is retried after the back-off (glare.go).
	res, req, err := c.inviteInDialog(rctx, req)
	if err != nil {
		return fmt.Errorf("re-invite: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("re-invite: %w", &refusedError{code: res.StatusCode, reason: res.Reason})
	}
	c.answeredSession(res)
	ack := sipmsg.NewRequest(sipmsg.ACK, c.remoteTarget())
	ack.AppendHeader(&sipmsg.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sipmsg.ACK})
	if err := c.writeInDialog(ack); err != nil {
		c.ua.log.Warn("sip re-invite ack failed", "call", c.id, "error", err)
	}
	desc, err := parseSDP(res.Body())
	if err != nil {
		return fmt.Errorf("re-invite answer: %w", err)
	}
	rm, err := mediaFromAnswer(local.SRTP, offered, prefs, desc)
	if err != nil {
		return fmt.Errorf("re-invite answer: %w", err)
	}
	c.mu.Lock()
	c.remote = rm
	c.local = local
	c.mu.Unlock()
	c.ua.log.Info("sip re-invite answered", "call", c.id, "direction", dir, "far_direction", rm.Direction, "codec", rm.Codec)
	return nil
}

// ErrRefused is the far end's failure answer to an in-dialog request.
var ErrRefused = errors.New("refused by the far end")

// mediaFromAnswer reads the media of an SDP answer to our offer.
func mediaFromAnswer(mode string, offered []cryptoAttr, prefs []string, desc audioDesc) (RemoteMedia, error) {
	keys, err := answerKeys(mode, offered, desc)
	if err != nil {
		return RemoteMedia{}, err
	}
	for _, rc := range desc.codecs {
		for _, p := range prefs {
			if rc.name == p {
				return RemoteMedia{Addr: desc.addr, Codec: rc.name, PT: rc.pt, DTMFPT: desc.dtmfPT,
					PTime: desc.ptime, SRTP: keys, Direction: desc.dir}, nil
			}
		}
	}
	return RemoteMedia{}, ErrNoCommonCodec
}

// Local returns our media as last offered or answered.
func (c *Call) Local() LocalMedia {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.local
}

// remoteTarget is the far end's Contact: where in-dialog requests go.
func (c *Call) remoteTarget() sipmsg.Uri {
	if c.incoming {
		if ct := c.dss.InviteRequest.Contact(); ct != nil {
			return *ct.Address.Clone()
		}
		return *c.dss.InviteRequest.From().Address.Clone()
	}
	if res := c.dcs.InviteResponse; res != nil {
		if ct := res.Contact(); ct != nil {
			return *ct.Address.Clone()
		}
	}
	return *c.dcs.InviteRequest.Recipient.Clone()
}

// inDialog sends an in-dialog request and waits for its final response.
func (c *Call) inDialog(ctx context.Context, req *sipmsg.Request) (*sipmsg.Response, error) {
	res, _, err := c.inDialogSent(ctx, req)
	return res, err
}

// inDialogSent sends an in-dialog request and waits for its final
// response; it also returns the request as sent (its CSeq set), which is
// a copy of req when the dialog's named route failed over to another
// address (sendInDialog, nat.go).
func (c *Call) inDialogSent(ctx context.Context, req *sipmsg.Request) (*sipmsg.Response, *sipmsg.Request, error) {
	var res *sipmsg.Response
	sent := req
	err := c.sendInDialog(ctx, req, func(ctx context.Context, r *sipmsg.Request) error {
		r.Laddr = c.leg.laddr
		sent = r
		var err error
		if c.incoming {
			res, err = c.dss.Do(ctx, r)
		} else {
			res, err = c.dcs.Do(ctx, r)
		}
		return err
	})
	if err != nil {
		return nil, sent, err
	}
	return res, sent, nil
}

// writeInDialog sends an in-dialog request without a transaction (ACK),
// over the address that answered the dialog's last request when its
// route is a name (nat.go).
func (c *Call) writeInDialog(req *sipmsg.Request) error {
	req.Laddr = c.leg.laddr
	if c.incoming {
		return c.writeThroughHop(req, c.dss.WriteRequest)
	}
	return c.writeThroughHop(req, c.dcs.WriteRequest)
}

// onReinvite answers an in-dialog INVITE of an answered call. A new SDP
// offer gets an answer — with fresh SRTP keys, never the old ones, and
// the direction that fits the offer's and our hold — and the call reports
// EventMediaChanged. An INVITE without SDP gets our offer in the 200 and
// its answer is taken from the ACK (onAck).
func (u *UA) onReinvite(req *sipmsg.Request, tx sipmsg.ServerTransaction, toTag string) {
	c := u.callByTag(req.CallID().Value(), toTag)
	if c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	if c.glare() {
		u.respond(req, tx, 491, "Request Pending") // glare.go
		return
	}
	if u.tooSmall(req, tx) { // sessiontimer.go: 422
		return
	}
	c.mu.Lock()
	if c.state != stateAnswered || c.finished {
		c.mu.Unlock()
		u.respond(req, tx, 491, "Request Pending")
		return
	}
	local := c.local
	c.sdpVersion++
	ver := c.sdpVersion
	c.mu.Unlock()
	if local.SRTP == "" {
		local.SRTP = c.acct.SRTP
	}
	if len(req.Body()) == 0 {
		u.offerInReinvite(c, req, tx, local, ver)
		return
	}
	body, rm, ok := u.answerOffer(c, req, tx, local, ver)
	if !ok {
		return
	}
	res := sipmsg.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(&sipmsg.ContactHeader{Address: u.contactFor(c.acct, c.leg.transport)})
	res.AppendHeader(u.userAgentHeader())
	for _, h := range c.answerSession(req) { // a refresh (sessiontimer.go)
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		u.log.Warn("sip re-invite answer failed", "call", c.id, "error", err)
		return
	}
	c.mu.Lock()
	c.remote = rm
	c.mu.Unlock()
	u.log.Info("sip media renegotiated", "call", c.id, "codec", rm.Codec, "srtp", rm.SRTP.Suite, "far_direction", rm.Direction)
	c.emit(Event{Kind: EventMediaChanged, Code: 200, Reason: "re-INVITE"})
}

// answerOffer builds our SDP answer to the offer in an in-dialog request
// (re-INVITE or UPDATE) of c; a bad or unacceptable offer is answered 488
// and ok is false.
func (u *UA) answerOffer(c *Call, req *sipmsg.Request, tx sipmsg.ServerTransaction, local LocalMedia, ver uint64) (body []byte, rm RemoteMedia, ok bool) {
	offer, err := parseSDP(req.Body())
	if err != nil {
		u.respond(req, tx, 488, "Not Acceptable Here (bad SDP)")
		return nil, RemoteMedia{}, false
	}
	body, rm, err = buildAnswer(local, offer, c.sessID, ver)
	if err != nil {
		u.log.Info("sip session change refused", "call", c.id, "method", req.Method, "error", err)
		u.respond(req, tx, 488, "Not Acceptable Here ("+err.Error()+")")
		return nil, RemoteMedia{}, false
	}
	return body, rm, true
}

// offerInReinvite answers an offerless re-INVITE with our offer; the ACK
// brings the answer (delayed offer, RFC 3261 14.2).
func (u *UA) offerInReinvite(c *Call, req *sipmsg.Request, tx sipmsg.ServerTransaction, local LocalMedia, ver uint64) {
	body, offered, err := buildOfferSRTP(local, c.sessID, ver)
	if err != nil {
		u.respond(req, tx, 500, "Server Internal Error")
		return
	}
	prefs, _ := normalizeCodecs(local.Codecs)
	c.mu.Lock()
	c.pendingOffer = &pendingOffer{cseq: req.CSeq().SeqNo, mode: local.SRTP, offered: offered, prefs: prefs}
	c.mu.Unlock()
	res := sipmsg.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(&sipmsg.ContactHeader{Address: u.contactFor(c.acct, c.leg.transport)})
	res.AppendHeader(u.userAgentHeader())
	for _, h := range c.answerSession(req) { // a refresh (sessiontimer.go)
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		u.log.Warn("sip re-invite offer failed", "call", c.id, "error", err)
	}
}

// pendingOffer is our offer in a 200 to an offerless re-INVITE, waiting
// for its answer in the ACK.
type pendingOffer struct {
	cseq    uint32
	mode    string
	offered []cryptoAttr
	prefs   []string
}

// ackAnswer takes the SDP answer of an ACK to our offer in a re-INVITE's
// 200; it reports whether the ACK belonged to such a re-INVITE.
func (u *UA) ackAnswer(req *sipmsg.Request) bool {
	to := req.To()
	if to == nil {
		return false
	}
	tag, _ := to.Params.Get("tag")
	c := u.callByTag(req.CallID().Value(), tag)
	if c == nil {
		return false
	}
	c.mu.Lock()
	po := c.pendingOffer
	if po == nil || po.cseq != req.CSeq().SeqNo {
		c.mu.Unlock()
		return false
	}
	c.pendingOffer = nil
	c.mu.Unlock()
	desc, err := parseSDP(req.Body())
	if err != nil {
		u.log.Info("sip ack without a usable answer", "call", c.id, "error", err)
		return true
	}
	rm, err := mediaFromAnswer(po.mode, po.offered, po.prefs, desc)
	if err != nil {
		u.log.Info("sip ack answer unusable", "call", c.id, "error", err)
		return true
	}
	c.mu.Lock()
	c.remote = rm
	c.mu.Unlock()
	u.log.Info("sip media renegotiated (offer in 200)", "call", c.id, "codec", rm.Codec, "far_direction", rm.Direction)
	c.emit(Event{Kind: EventMediaChanged, Code: 200, Reason: "re-INVITE"})
	return true
}
