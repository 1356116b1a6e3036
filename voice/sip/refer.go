package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Call transfer (RFC 3515 REFER, RFC 3891 Replaces, RFC 5589 transfer):
//
//   - we transfer: Refer sends REFER with Refer-To (TransferTarget builds
//     it, with Replaces for an attended transfer) and Referred-By; the
//     transferee's NOTIFYs (message/sipfrag) arrive as EventTransfer;
//   - we are transferred: an in-dialog REFER gets 202 and EventReferred;
//     the gateway places the new call with DialReferred (Referred-By and
//     the Refer-To's Replaces copied) and reports its progress with
//     NotifyTransfer;
//   - an INVITE with Replaces naming one of our dialogs is handed to the
//     gateway as a new call whose Replaces returns the old one; one naming
//     no dialog gets 481.

// Transfer events.
const (
	// EventTransfer is a NOTIFY of the progress of a transfer we asked
	// for with Refer: Code is the sipfrag's status (100 trying, 180,
	// 200 done, 4xx-6xx failed; 0 with Reason set when the REFER itself
	// failed or the subscription ended without a final status).
	EventTransfer EventKind = iota + 100
	// EventReferred is an in-dialog REFER from the far end, accepted with
	// 202: ReferTo returns where it wants us to call.
	EventReferred
)

// transferState is a call's transfer bookkeeping, under Call.mu.
type transferState struct {
	referTo    string // an accepted REFER's target (sip: URI, without headers)
	replaces   string // an accepted REFER's Replaces header value, if any
	referredBy string // an accepted REFER's Referred-By value
	notifySeq  int    // NOTIFYs sent for the accepted REFER
	final      bool   // a final transfer status was delivered or sent
	replacing  *Call  // incoming INVITE with Replaces: the dialog it replaces
}

// TransferTarget is the far end of c as a Refer-To value: its address of
// record (the To of our INVITE, the From of its), with the dialog in a
// Replaces header (RFC 3891) when replace is true — the attended transfer's
// "call him and take my place in this call".
func (c *Call) TransferTarget(replace bool) string {
	var uri sipmsg.Uri
	if c.incoming {
		uri = *c.dss.InviteRequest.From().Address.Clone()
	} else {
		uri = *c.dcs.InviteRequest.Recipient.Clone()
	}
	uri.UriParams = nil
	uri.Headers = nil
	target := uri.String()
	if !replace {
		return "<" + target + ">"
	}
	rep := c.ID() + ";to-tag=" + c.remoteTag() + ";from-tag=" + c.localTag()
	return "<" + target + "?Replaces=" + url.QueryEscape(rep) + ">"
}

// remoteTag is the far end's tag in the dialog.
func (c *Call) remoteTag() string {
	var p sipmsg.HeaderParams
	switch {
	case c.incoming && c.dss != nil:
		p = c.dss.InviteRequest.From().Params
	case !c.incoming && c.dcs != nil && c.dcs.InviteResponse != nil:
		p = c.dcs.InviteResponse.To().Params
	}
	if p == nil {
		return ""
	}
	tag, _ := p.Get("tag")
	return tag
}

// Refer asks the far end of an answered call to call referTo (a
// TransferTarget value) in our place. It returns when the REFER is
// accepted (2xx); the transfer's progress then arrives as EventTransfer.
func (c *Call) Refer(ctx context.Context, referTo string) error {
	c.mu.Lock()
	if c.state != stateAnswered || c.finished {
		c.mu.Unlock()
		return fmt.Errorf("refer: %w", ErrCallState)
	}
	c.xfer.final = false
	c.mu.Unlock()
	req := sipmsg.NewRequest(sipmsg.REFER, c.remoteTarget())
	req.AppendHeader(sipmsg.NewHeader("Refer-To", referTo))
	aor := c.ua.aor(c.acct)
	req.AppendHeader(sipmsg.NewHeader("Referred-By", "<"+aor.String()+">"))
	req.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	req.AppendHeader(c.ua.userAgentHeader())
	rctx, cancel := context.WithTimeout(ctx, reinviteTimeout)
	defer cancel()
	res, err := c.inDialog(rctx, req)
	if err != nil {
		return fmt.Errorf("refer: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("refer: %w: %d %s", ErrRefused, res.StatusCode, res.Reason)
	}
	c.ua.log.Info("sip refer accepted", "call", c.id, "refer_to", referTo)
	return nil
}

// dialogNotify takes an in-dialog NOTIFY of the refer event package; it
// reports whether req was one (answered here).
func (u *UA) dialogNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	tag, ok := req.To().Params.Get("tag")
	if !ok {
		return false
	}
	c := u.callByTag(req.CallID().Value(), tag)
	if c == nil {
		return false
	}
	ev := req.GetHeader("Event")
	if ev == nil {
		ev = req.GetHeader("o")
	}
	if ev == nil || eventName(ev.Value()) != "refer" {
		u.respond(req, tx, 489, "Bad Event")
		return true
	}
	code, reason, err := ParseSipfrag(req.Body())
	terminated := false
	if ss := req.GetHeader("Subscription-State"); ss != nil {
		terminated = strings.HasPrefix(strings.ToLower(strings.TrimSpace(ss.Value())), "terminated")
	}
	if err != nil && !terminated {
		u.respond(req, tx, 400, "Bad Request (sipfrag)")
		return true
	}
	if err != nil {
		code, reason = 0, "subscription terminated"
	}
	// The event before the 200: the transferee's BYE may follow the 200 at
	// once, and an ended call reports nothing more.
	c.mu.Lock()
	final := c.xfer.final
	c.xfer.final = final || code >= 200 || terminated
	c.mu.Unlock()
	if !final {
		u.log.Info("sip transfer progress", "call", c.id, "code", code, "reason", reason)
		c.emit(Event{Kind: EventTransfer, Code: code, Reason: reason})
	}
	u.respond(req, tx, 200, "OK")
	return true
}

// ParseSipfrag reads the status line of a message/sipfrag body
// (RFC 3420), "SIP/2.0 200 OK": its code and reason.
func ParseSipfrag(body []byte) (int, string, error) {
	line, _, _ := bytes.Cut(body, []byte("\n"))
	s := strings.TrimSpace(string(line))
	ver, rest, ok := strings.Cut(s, " ")
	if !ok || !strings.EqualFold(ver, "SIP/2.0") {
		return 0, "", errors.New("sipfrag: no SIP/2.0 status line")
	}
	num, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(num)
	if err != nil || code < 100 || code > 699 {
		return 0, "", fmt.Errorf("sipfrag: bad status %q", num)
	}
	return code, strings.TrimSpace(reason), nil
}

// onRefer accepts an in-dialog REFER of an answered call with 202 and
// reports EventReferred; out-of-dialog REFERs and ones without a usable
// Refer-To are refused.
func (u *UA) onRefer(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	tag, ok := req.To().Params.Get("tag")
	if !ok {
		u.respond(req, tx, 403, "Forbidden (REFER outside a dialog)")
		return
	}
	c := u.callByTag(req.CallID().Value(), tag)
	if c == nil {
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	rt := req.GetHeader("Refer-To")
	if rt == nil {
		rt = req.GetHeader("r")
	}
	if rt == nil {
		u.respond(req, tx, 400, "Bad Request (missing Refer-To)")
		return
	}
	target, replaces, err := ParseReferTo(rt.Value())
	if err != nil {
		u.respond(req, tx, 400, "Bad Request (Refer-To)")
		return
	}
	by := ""
	if h := req.GetHeader("Referred-By"); h != nil {
		by = h.Value()
	} else if h := req.GetHeader("b"); h != nil {
		by = h.Value()
	} else if f := req.From(); f != nil {
		// The REFER did not say who refers: its sender (RFC 3892's
		// Referred-By is the referrer's identity).
		by = "<" + f.Address.String() + ">"
	}
	c.mu.Lock()
	if c.state != stateAnswered || c.finished {
		c.mu.Unlock()
		u.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	c.xfer.referTo, c.xfer.replaces, c.xfer.referredBy = target, replaces, by
	c.xfer.notifySeq = 0
	c.xfer.final = false
	c.mu.Unlock()
	u.respond(req, tx, 202, "Accepted")
	u.log.Info("sip refer received", "call", c.id, "refer_to", target, "replaces", replaces != "", "referred_by", by)
	c.emit(Event{Kind: EventReferred, Code: 202, Reason: target})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.NotifyTransfer(ctx, 100, "Trying"); err != nil {
			u.log.Debug("sip refer notify", "call", c.id, "error", err)
		}
	}()
}

// ReferTo returns the target of the REFER the far end sent (EventReferred)
// and its Referred-By; "" when there was none.
func (c *Call) ReferTo() (target, referredBy string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.xfer.referTo, c.xfer.referredBy
}

// ParseReferTo splits a Refer-To value, "<sip:c@host?Replaces=...>" or a
// bare URI, into the target URI without headers and the unescaped value
// of its Replaces header ("" when it has none).
func ParseReferTo(v string) (target, replaces string, err error) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", "", errors.New("refer-to: unterminated <")
		}
		v = v[i+1 : i+j]
	} else if k := strings.IndexByte(v, ';'); k >= 0 && !strings.Contains(v[:k], "?") {
		v = v[:k] // header parameters of a bare URI
	}
	uri, hdrs, _ := strings.Cut(v, "?")
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(uri, &u); err != nil {
		return "", "", fmt.Errorf("refer-to %q: %w", uri, err)
	}
	if s := strings.ToLower(u.Scheme); (s != "sip" && s != "sips") || u.Host == "" {
		return "", "", fmt.Errorf("refer-to %q: not a sip uri", uri)
	}
	for _, h := range strings.Split(hdrs, "&") {
		name, val, _ := strings.Cut(h, "=")
		if !strings.EqualFold(name, "replaces") {
			continue
		}
		if replaces, err = url.QueryUnescape(val); err != nil {
			return "", "", fmt.Errorf("refer-to replaces: %w", err)
		}
		if _, _, _, err := ParseReplaces(replaces); err != nil {
			return "", "", err
		}
	}
	return uri, replaces, nil
}

// ParseReplaces reads a Replaces value (RFC 3891):
// "callid;to-tag=x;from-tag=y" (other parameters ignored).
func ParseReplaces(v string) (callID, toTag, fromTag string, err error) {
	parts := strings.Split(v, ";")
	callID = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			toTag = strings.TrimSpace(val)
		case "from-tag":
			fromTag = strings.TrimSpace(val)
		}
	}
	if callID == "" || toTag == "" || fromTag == "" {
		return "", "", "", fmt.Errorf("replaces %q: want call-id, to-tag and from-tag", v)
	}
	return callID, toTag, fromTag, nil
}

// DialReferred places the call an accepted REFER of referrer asks for,
// from the referrer's account: to its Refer-To, with its Referred-By and,
// for an attended transfer, its Replaces header.
func (u *UA) DialReferred(ctx context.Context, referrer *Call, local LocalMedia) (*Call, error) {
	referrer.mu.Lock()
	target, replaces, by := referrer.xfer.referTo, referrer.xfer.replaces, referrer.xfer.referredBy
	referrer.mu.Unlock()
	if target == "" {
		return nil, fmt.Errorf("dial referred: %w (no refer)", ErrCallState)
	}
	acct := referrer.acct
	if _, err := u.dialAccount(acct.ID); err != nil {
		return nil, err
	}
	var recipient sipmsg.Uri
	if err := sipmsg.ParseUri(target, &recipient); err != nil {
		return nil, fmt.Errorf("dial referred %q: %w", target, err)
	}
	var hdrs []sipmsg.Header
	if by != "" {
		hdrs = append(hdrs, sipmsg.NewHeader("Referred-By", by))
	}
	if replaces != "" {
		hdrs = append(hdrs, sipmsg.NewHeader("Replaces", replaces))
	}
	if local.SRTP == "" {
		local.SRTP = acct.SRTP
	}
	to := sipmsg.Uri{Scheme: "sip", User: recipient.User, Host: recipient.Host, Port: recipient.Port}
	return u.dial(ctx, acct, recipient, to, referrer.leg.transport, local, hdrs...)
}

// NotifyTransfer reports the progress of the call an accepted REFER asked
// for to the referrer (NOTIFY, Event: refer, message/sipfrag): code 100
// trying, 180 ringing, 200 answered, 4xx-6xx failed. A final code ends
// the subscription; later calls do nothing.
func (c *Call) NotifyTransfer(ctx context.Context, code int, reason string) error {
	c.mu.Lock()
	if c.xfer.referTo == "" || c.xfer.final || c.finished {
		c.mu.Unlock()
		return nil
	}
	c.xfer.notifySeq++
	final := code >= 200
	if final {
		c.xfer.final = true
	}
	c.mu.Unlock()
	if reason == "" {
		reason = reasonPhrase(code)
		if code < 300 {
			reason = map[int]string{100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK"}[code]
		}
	}
	req := sipmsg.NewRequest(sipmsg.NOTIFY, c.remoteTarget())
	req.AppendHeader(sipmsg.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sipmsg.NewHeader("Subscription-State", state))
	req.AppendHeader(&sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)})
	req.AppendHeader(c.ua.userAgentHeader())
	ct := sipmsg.ContentTypeHeader(typeSipfrag)
	req.AppendHeader(&ct)
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)))
	res, err := c.inDialog(ctx, req)
	if err != nil {
		return fmt.Errorf("notify transfer: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("notify transfer: %w: %d %s", ErrRefused, res.StatusCode, res.Reason)
	}
	return nil
}

// Replaces returns the call an incoming INVITE with Replaces takes the
// place of (RFC 3891), nil for an ordinary call. The gateway answers the
// new call at once and hangs up the old one.
func (c *Call) Replaces() *Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.xfer.replacing
}

// replacedCall finds the dialog an INVITE's Replaces header names: the
// to-tag is our tag, the from-tag the far end's. ok is false when the
// header is there and names no answered dialog of ours (answer 481).
func (u *UA) replacedCall(req *sipmsg.Request) (old *Call, ok bool) {
	h := req.GetHeader("Replaces")
	if h == nil {
		return nil, true
	}
	id, toTag, fromTag, err := ParseReplaces(h.Value())
	if err != nil {
		return nil, false
	}
	c := u.callByTag(id, toTag)
	if c == nil || c.remoteTag() != fromTag {
		return nil, false
	}
	c.mu.Lock()
	answered := c.state == stateAnswered && !c.finished
	c.mu.Unlock()
	return c, answered
}

// unsupportedTags drops the option tags we support from a Require list.
func unsupportedTags(tags []string) []string {
	out := tags[:0]
	for _, t := range tags {
		if !supportedTag(t) {
			out = append(out, t)
		}
	}
	return out
}
