package sip

import (
	"fmt"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Progress sends 183 Session Progress with an SDP answer for an incoming
// call that is not answered yet: early media (a trunk's call-progress
// tones) flows before the 200. The negotiated media is readable with Remote
// at once; Answer later sends the final answer (with fresh SRTP keys when
// encrypted, so the stream must be restarted with Remote after it).
func (c *Call) Progress(local LocalMedia) error {
	if !c.incoming {
		return fmt.Errorf("progress: %w (outgoing call)", ErrCallState)
	}
	if local.SRTP == "" {
		local.SRTP = c.acct.SRTP
	}
	body, rm, err := buildAnswer(local, c.offer, c.sessID, c.sessID)
	if err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	c.mu.Lock()
	if c.state != stateCalling || c.finished {
		c.mu.Unlock()
		return fmt.Errorf("progress: %w", ErrCallState)
	}
	c.remote = rm
	c.mu.Unlock()
	ct := sipmsg.ContentTypeHeader("application/sdp")
	contact := &sipmsg.ContactHeader{Address: c.ua.contactFor(c.acct, c.leg.transport)}
	// Reliably (PRACK) when the caller supports 100rel (prack.go).
	if err := c.sendProvisional(183, "Session Progress", body, &ct, contact, c.ua.userAgentHeader()); err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	return nil
}

// EarlyMedia reports whether an outgoing call not yet answered has the
// callee's media from an SDP in a provisional response (a 183 with the
// network's ringback or announcements): Remote then describes it, and the
// stream may play it before the answer.
func (c *Call) EarlyMedia() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.early && c.state == stateCalling
}

// earlyMedia takes the SDP of a provisional response to our INVITE as
// the answer for early media; it runs in the INVITE's answer loop. An
// SDP we cannot use leaves the call without early media.
func (c *Call) earlyMedia(r *sipmsg.Response) {
	if len(r.Body()) == 0 {
		return
	}
	if ct := r.ContentType(); ct != nil && mediaType(ct.Value()) != typeSDP {
		return
	}
	desc, err := parseSDP(r.Body())
	if err != nil {
		c.ua.log.Info("sip early media sdp unusable", "call", c.id, "error", err)
		return
	}
	rm, err := mediaFromAnswer(c.srtpMode, c.offered, c.prefs, desc)
	if err != nil {
		c.ua.log.Info("sip early media refused", "call", c.id, "error", err)
		return
	}
	c.mu.Lock()
	if c.state == stateCalling {
		c.remote = rm
		c.early = true
	}
	c.mu.Unlock()
	c.ua.log.Info("sip early media", "call", c.id, "code", r.StatusCode, "codec", rm.Codec, "remote", rm.Addr, "srtp", rm.SRTP.Suite)
}
