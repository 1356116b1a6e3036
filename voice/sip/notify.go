package sip

import (
	"fmt"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// A NOTIFY in one of our subscriptions' dialogs goes to subscribe.go.
// Any other NOTIFY, one rule:
//
//   - the account is the one whose Contact user the Request-URI names
//     (trust.go's byContact), never the To user; the request must come from
//     that account's registrar or outbound proxy (fromRegistrarOf: one of
//     its resolved addresses with its port, or the TCP/TLS connection it
//     registered on). Anything else is a stranger and gets refuseStranger's
//     answer;
//   - Event: message-summary (RFC 3842) needs nothing more: its body goes
//     to Config.OnMessageWaiting (200, or 400 for a body that does not
//     parse);
//   - check-sync and every other event are digest-challenged as well
//     (notifyauth.go) unless they came over the registered TLS connection,
//     then go to Config.OnNotify, at most one per NotifyResyncInterval.
//
// The provisioning events PBXs send (resyncEvents: check-sync, resync,
// reboot ...) take the out-of-dialog rule even inside a call's or a
// subscription's dialog, so a PBX may send them in or out of a dialog and
// they are challenged either way.

// NotifyResyncInterval is the least time between two accepted resync
// NOTIFYs; one arriving sooner gets 503 with Retry-After.
const NotifyResyncInterval = 60 * time.Second

// eventMessageSummary is the message-waiting event package (RFC 3842).
const eventMessageSummary = "message-summary"

// notifyState authenticates and rate limits resync NOTIFYs for one UA.
type notifyState struct {
	auth digestGuard // notifyauth.go

	mu   sync.Mutex
	last time.Time // last accepted resync
}

// allow takes the rate limit: it reports whether a resync may run now
// and, if not, how long to wait; prev is the slot's previous time, for
// giving it back.
func (n *notifyState) allow() (ok bool, wait time.Duration, prev time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.auth.clock()
	prev = n.last
	if !prev.IsZero() && now.Sub(prev) < NotifyResyncInterval {
		return false, NotifyResyncInterval - now.Sub(prev), prev
	}
	n.last = now
	return true, 0, prev
}

// resyncEvents are the Event packages of the provisioning NOTIFYs PBXs
// send to ask for a resync or a reboot (Asterisk's pjsip_notify samples,
// FusionPBX, Wazo): check-sync[;reboot=true|false], resync, sys-control,
// report, reboot, reboot_now, restart_now, and the bare "reboot=true" a
// FusionPBX SPA template sends.
var resyncEvents = []string{"check-sync", "resync", "sys-control", "report", "reboot", "reboot_now", "restart_now", "reboot=true", "reboot=false"}

// isResyncEvent reports an Event header value of ResyncEvents.
func isResyncEvent(v string) bool {
	name := eventName(v)
	for _, e := range resyncEvents {
		if name == e {
			return true
		}
	}
	return false
}

// eventName is an Event header value's package name, lower case, without
// its parameters and id.
func eventName(v string) string {
	name, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(name))
}

// overRegisteredTLS reports whether req came over the TLS connection a
// registered on.
func (u *UA) overRegisteredTLS(a *Account, req *sipmsg.Request) bool {
	return a.Transport == "tls" && strings.EqualFold(req.Transport(), "tls") && u.fromRegistrarOf(a, req)
}

// onNotify answers a NOTIFY by the rule above.
func (u *UA) onNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	resync := false
	if h := req.GetHeader("Event"); h != nil {
		resync = isResyncEvent(h.Value())
	} else if h := req.GetHeader("o"); h != nil {
		resync = isResyncEvent(h.Value())
	}
	if !resync {
		if s := u.subscriptionFor(req); s != nil {
			u.onSubscriptionNotify(s, req, tx) // subscribe.go: in its dialog
			return
		}
		if u.dialogNotify(req, tx) { // refer.go: a transfer's progress
			return
		}
	}
	acct := u.trust.byContact[req.Recipient.User]
	if acct == nil || !u.fromRegistrarOf(acct, req) {
		u.refuseStranger(req, tx)
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
	if eventName(event) == eventMessageSummary {
		u.messageSummary(acct, req, tx)
		return
	}
	n := &u.notify
	if !u.overRegisteredTLS(acct, req) {
		if !n.auth.check(req, acct) {
			u.log.Info("sip notify challenged", "event", event, "source", req.Source(), "account", acct.ID,
				"credentials", req.GetHeader("Authorization") != nil)
			u.respond(req, tx, 401, "Unauthorized", n.auth.challenges()...)
			return
		}
	}
	if u.cfg.OnNotify == nil {
		u.respond(req, tx, 489, "Bad Event")
		return
	}
	ok, wait, prev := n.allow()
	if !ok {
		u.log.Info("sip notify: resync rate limited", "event", event, "retry_after", wait.Round(time.Second))
		u.respond(req, tx, 503, "Service Unavailable",
			sipmsg.NewHeader("Retry-After", fmt.Sprint(int(wait.Seconds())+1)))
		return
	}
	if u.cfg.OnNotify(event) {
		u.log.Info("sip notify", "event", event, "from", req.From().Address.String(), "source", req.Source())
		u.respond(req, tx, 200, "OK")
		return
	}
	// Not a resync event: give the slot back.
	n.mu.Lock()
	n.last = prev
	n.mu.Unlock()
	u.respond(req, tx, 489, "Bad Event")
}

// messageSummary delivers a trusted message-summary NOTIFY's body.
func (u *UA) messageSummary(acct *Account, req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if u.cfg.OnMessageWaiting == nil {
		u.respond(req, tx, 489, "Bad Event")
		return
	}
	mw, err := ParseMessageSummary(req.Body())
	if err != nil {
		u.log.Info("sip message-summary refused", "account", acct.ID, "source", req.Source(), "error", err)
		u.respond(req, tx, 400, "Bad Request (message summary)")
		return
	}
	u.log.Info("sip message waiting", "account", acct.ID, "waiting", mw.Waiting, "new", mw.New, "old", mw.Old)
	u.cfg.OnMessageWaiting(acct.ID, mw)
	u.respond(req, tx, 200, "OK")
}
