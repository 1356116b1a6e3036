package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// onNotify answers a NOTIFY outside a subscription: a registrar's
// Event: check-sync (and the other resync events PBXs send, ANCHORS/COMPAT
// section 5) goes to Config.OnNotify. Only NOTIFYs addressed to one of our
// accounts are passed on; others get 404, a missing Event 400, and an
// event nobody handles 489 Bad Event.
func (u *UA) onNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if h := missingHeader(req, false); h != "" {
		u.respond(req, tx, 400, "Missing "+h)
		return
	}
	if u.lookupAccount(req) == nil {
		u.respond(req, tx, 404, "Not Found")
		return
	}
	ev := req.GetHeader("Event")
	if ev == nil {
		ev = req.GetHeader("o")
	}
	if ev == nil || strings.TrimSpace(ev.Value()) == "" {
		u.respond(req, tx, 400, "Missing Event")
		return
	}
	event := strings.TrimSpace(ev.Value())
	if u.cfg.OnNotify != nil && u.cfg.OnNotify(event) {
		u.log.Info("sip notify", "event", event, "from", req.From().Address.String())
		u.respond(req, tx, 200, "OK")
		return
	}
	u.respond(req, tx, 489, "Bad Event")
}
