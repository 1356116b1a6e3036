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
	if err := c.dss.Respond(183, "Session Progress", body, &ct, contact, c.ua.userAgentHeader()); err != nil {
		return fmt.Errorf("progress: %w", err)
	}
	return nil
}
