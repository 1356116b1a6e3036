package sip

import (
	"context"
	"fmt"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// CallingParty is the identity a trunk call presents: a PSTN caller's
// number and name, put in From and P-Asserted-Identity.
type CallingParty struct {
	// Number is the calling number; "" keeps the account's user.
	Number string
	// Name is the calling name; "" keeps the account's display name.
	Name string
}

// DialAs is Dial with the calling party's number as the From user and its
// name as the From display name, both also in a P-Asserted-Identity
// header. Authentication still uses the account's credentials.
func (u *UA) DialAs(ctx context.Context, accountID, target string, local LocalMedia, party CallingParty) (*Call, error) {
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
		to.Port = 0
	}
	if local.SRTP == "" {
		local.SRTP = acct.SRTP
	}
	return u.dialOpts(ctx, acct, recipient, to, acct.Transport, local, DialOptions{edit: party.edit})
}

// DialAccountAs is DialAccount (a call to another of this UA's accounts)
// presenting party.
func (u *UA) DialAccountAs(ctx context.Context, accountID, calleeID string, local LocalMedia, party CallingParty) (*Call, error) {
	acct, err := u.dialAccount(accountID)
	if err != nil {
		return nil, err
	}
	callee := u.account(calleeID)
	if callee == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownAccount, calleeID)
	}
	host := "127.0.0.1"
	if ap := u.Addr(); ap.IsValid() && !ap.Addr().IsUnspecified() {
		host = ap.Addr().String()
	}
	recipient := sipmsg.Uri{Scheme: "sip", User: callee.User, Host: host, Port: u.port}
	if local.SRTP == "" {
		local.SRTP = stricterSRTP(acct.SRTP, callee.SRTP)
	}
	return u.dialOpts(ctx, acct, recipient, recipient, "udp", local, DialOptions{edit: party.edit})
}

// edit puts the party in the From header and a P-Asserted-Identity.
func (party CallingParty) edit(req *sipmsg.Request, from *sipmsg.FromHeader) {
	if party.Name != "" {
		from.DisplayName = party.Name
	}
	if party.Number != "" && !strings.ContainsAny(party.Number, "@:;<> \t\"") {
		from.Address.User = party.Number
	}
	pai := sipmsg.FromHeader{DisplayName: from.DisplayName, Address: from.Address}
	req.AppendHeader(sipmsg.NewHeader("P-Asserted-Identity", pai.Value()))
}
