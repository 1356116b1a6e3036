package sip

import (
	"context"
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
	return u.DialWith(ctx, accountID, target, local, DialOptions{edit: party.edit})
}

// DialAccountAs is DialAccount (a call to another of this UA's accounts)
// presenting party.
func (u *UA) DialAccountAs(ctx context.Context, accountID, calleeID string, local LocalMedia, party CallingParty) (*Call, error) {
	return u.dialAccountWith(ctx, accountID, calleeID, local, DialOptions{edit: party.edit})
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
