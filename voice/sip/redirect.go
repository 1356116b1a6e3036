package sip

import (
	"context"
	"fmt"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Redirect answers an incoming call not yet answered with 302 Moved
// Temporarily and target in Contact (call forwarding): target is digits or
// a user, sent to the account's registrar as Dial would call it, or a full
// sip: URI. The caller's UA follows the redirect; the call ends here.
func (c *Call) Redirect(target string) error {
	if !c.incoming {
		return fmt.Errorf("redirect: %w (outgoing call)", ErrCallState)
	}
	uri, err := c.ua.targetURI(c.acct, target)
	if err != nil {
		return fmt.Errorf("redirect: %w", err)
	}
	c.mu.Lock()
	if c.state != stateCalling || c.finished {
		c.mu.Unlock()
		return fmt.Errorf("redirect: %w", ErrCallState)
	}
	c.state = stateEnded
	c.rejected = true
	c.mu.Unlock()
	close(c.answered)
	contact := &sipmsg.ContactHeader{Address: uri}
	err = c.dss.Respond(302, "Moved Temporarily", nil, contact, c.ua.userAgentHeader())
	c.finish(Event{Kind: EventEnded, Code: 302, Reason: "forwarded to " + uri.String()})
	if err != nil {
		return fmt.Errorf("redirect: %w", err)
	}
	return nil
}

// DialOptions change how DialWith places a call.
type DialOptions struct {
	// Private withholds the caller's identity for this call (RFC 3323):
	// an anonymous From and "Privacy: id", with the account's address in
	// P-Preferred-Identity for the PBX to authenticate.
	Private bool
	// edit, when set, changes the INVITE and its From before they go
	// (the calling party of a trunk call, trunk.go).
	edit func(*sipmsg.Request, *sipmsg.FromHeader)
}

// DialWith is Dial with options.
func (u *UA) DialWith(ctx context.Context, accountID, target string, local LocalMedia, o DialOptions) (*Call, error) {
	acct, err := u.dialAccount(accountID)
	if err != nil {
		return nil, err
	}
	recipient, err := u.targetURI(acct, target)
	if err != nil {
		return nil, err
	}
	to := sipmsg.Uri{Scheme: "sip", User: recipient.User, Host: recipient.Host, Port: recipient.Port}
	if acct.Registrar != "" {
		to.Port = 0 // the AOR of the callee
	}
	if local.SRTP == "" {
		local.SRTP = acct.SRTP
	}
	return u.dialOpts(ctx, acct, recipient, to, acct.Transport, local, o)
}

// privatize makes an INVITE's From anonymous and asks for privacy.
func (u *UA) privatize(req *sipmsg.Request, acct *Account) {
	from := req.From()
	if from == nil {
		return
	}
	aor := u.aor(acct)
	req.AppendHeader(sipmsg.NewHeader("P-Preferred-Identity", "<"+aor.String()+">"))
	from.DisplayName = "Anonymous"
	from.Address = sipmsg.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}
	req.AppendHeader(sipmsg.NewHeader("Privacy", "id"))
}
