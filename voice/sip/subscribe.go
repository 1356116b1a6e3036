package sip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// Message-waiting subscription (RFC 6665 with the message-summary
// package, RFC 3842), for each account with a registrar and
// Account.MWISubscribe on:
//
//   - once the account registers, SUBSCRIBE goes to the registrar (our
//     outbound proxy) for Account.Mailbox, else the account's address of
//     record, asking for SubscribeExpires; digest challenges are answered
//     as for REGISTER;
//   - the subscription is refreshed in its dialog at refreshDelay of the
//     lifetime the 2xx granted; a 481, a refused refresh or a NOTIFY with
//     Subscription-State: terminated starts a new one, at once or (for a
//     failure or a rejected, noresource, probation or giveup reason) after
//     a back-off of 30 s doubling to 10 min;
//   - when the registration comes back after a loss, the subscription is
//     refreshed at once;
//   - the NOTIFYs in its dialog (its Call-ID, our From tag as their To
//     tag) are accepted from anywhere and their bodies go to
//     Config.OnMessageWaiting; NOTIFYs outside it take notify.go's rule;
//   - closing the UA ends the subscription (Expires: 0).

// SubscribeExpires is the subscription lifetime we ask for.
const SubscribeExpires = 3600 * time.Second

// Back-off between failed subscriptions: it doubles per failure up to the
// cap.
const (
	subscribeBackoff    = 30 * time.Second
	subscribeBackoffCap = 10 * time.Minute
)

// Subscription states (the Subscription-State values of RFC 6665).
const (
	subNone       = ""
	subPending    = "pending"
	subActive     = "active"
	subTerminated = "terminated"
)

// errSubscriptionGone is a 481 to a refresh: the notifier forgot the
// dialog, so a new subscription starts at once.
var errSubscriptionGone = errors.New("subscription does not exist")

// subscription keeps one account's message-summary subscription.
type subscription struct {
	ua      *UA
	acct    *Account
	mailbox sipmsg.Uri
	kick    chan struct{} // subscribe now: registered, or terminated

	mu         sync.Mutex // guards everything below
	callID     string     // "" = no dialog: the next SUBSCRIBE starts one
	localTag   string
	remoteTag  string     // "" until the 2xx or the first NOTIFY
	target     sipmsg.Uri // the notifier's Contact; zero = the mailbox
	routes     []sipmsg.Uri
	cseq       uint32
	state      string
	expires    time.Time
	retryLater bool   // the notifier ended it with a reason to wait
	lastLogged string // last failure logged
}

// newSubscription returns a's subscription; a.Mailbox, when set, is a
// valid sip: or sips: URI (New checked it).
func newSubscription(u *UA, a *Account) *subscription {
	s := &subscription{ua: u, acct: a, kick: make(chan struct{}, 1)}
	if a.Mailbox != "" {
		_ = sipmsg.ParseUri(a.Mailbox, &s.mailbox)
	}
	return s
}

// mailboxURI checks an Account.Mailbox value.
func mailboxURI(v string) error {
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(v, &uri); err != nil {
		return fmt.Errorf("mailbox %q: %w", v, err)
	}
	if (uri.Scheme != "sip" && uri.Scheme != "sips") || uri.Host == "" {
		return fmt.Errorf("mailbox %q: want a sip: or sips: URI with a host", v)
	}
	return nil
}

// wake asks the loop to subscribe now; it never blocks.
func (s *subscription) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// subscribeBackoffAfter is the wait after the n-th consecutive failure
// (n >= 1).
func subscribeBackoffAfter(n int) time.Duration {
	d := subscribeBackoff
	for i := 1; i < n && d < subscribeBackoffCap; i++ {
		d *= 2
	}
	return min(d, subscribeBackoffCap)
}

// run waits for the first registration, then subscribes and refreshes
// until ctx ends.
func (s *subscription) run(ctx context.Context) {
	var timer <-chan time.Time // nil until the account first registers
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-timer:
		}
		s.mu.Lock()
		later := s.retryLater
		s.retryLater = false
		s.mu.Unlock()
		var granted time.Duration
		err := errors.New("the notifier ended the subscription")
		if !later {
			granted, err = s.subscribe(ctx, SubscribeExpires)
			if errors.Is(err, errSubscriptionGone) {
				granted, err = s.subscribe(ctx, SubscribeExpires)
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			wait := subscribeBackoffAfter(failures)
			s.logFailure(err, wait)
			timer = s.ua.subAfter(wait)
			continue
		}
		failures = 0
		timer = s.ua.subAfter(refreshDelay(granted))
	}
}

// logFailure logs a failure once per distinct message.
func (s *subscription) logFailure(err error, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := err.Error(); msg != s.lastLogged {
		s.lastLogged = msg
		mb := s.mailboxOf()
		s.ua.log.Warn("sip mwi subscription failed", "account", s.acct.ID, "mailbox", mb.String(),
			"error", err, "retry_in", wait)
	}
}

// mailboxOf is the Request-URI of a new subscription.
func (s *subscription) mailboxOf() sipmsg.Uri {
	if s.mailbox.Host != "" {
		return s.mailbox
	}
	return s.ua.aor(s.acct)
}

// newRequest builds a SUBSCRIBE in the current dialog, or one that starts
// a dialog when there is none. Callers hold no lock.
func (s *subscription) newRequest(expires time.Duration) *sipmsg.Request {
	u, a := s.ua, s.acct
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callID == "" {
		s.callID = uuid.NewString()
		s.localTag = sipmsg.GenerateTagN(16)
		s.remoteTag = ""
		s.target = sipmsg.Uri{}
		s.routes = nil
		s.cseq = 0
		s.state = subNone
	}
	recipient := s.mailboxOf()
	if s.target.Host != "" {
		recipient = s.target
	}
	req := sipmsg.NewRequest(sipmsg.SUBSCRIBE, recipient)
	if a.Transport != "udp" {
		req.SetTransport(strings.ToUpper(a.Transport))
	}
	req.SetDestination(registrarHostPort(a))
	for _, r := range s.routes {
		req.AppendHeader(&sipmsg.RouteHeader{Address: r})
	}
	from := &sipmsg.FromHeader{DisplayName: a.Display, Address: u.aor(a), Params: sipmsg.NewParams()}
	from.Params.Add("tag", s.localTag)
	to := &sipmsg.ToHeader{Address: s.mailboxOf(), Params: sipmsg.NewParams()}
	if s.remoteTag != "" {
		to.Params.Add("tag", s.remoteTag)
	}
	callID := sipmsg.CallIDHeader(s.callID)
	s.cseq++
	exp := sipmsg.ExpiresHeader(int(expires / time.Second))
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: s.cseq, MethodName: sipmsg.SUBSCRIBE})
	req.AppendHeader(&sipmsg.ContactHeader{Address: u.contactFor(a, a.Transport)})
	req.AppendHeader(sipmsg.NewHeader("Event", eventMessageSummary))
	req.AppendHeader(sipmsg.NewHeader("Accept", typeMessageSummary))
	req.AppendHeader(&exp)
	req.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	req.AppendHeader(u.userAgentHeader())
	return req
}

// registrarHostPort is where a's requests go: its registrar's host and
// port (5060, 5061 for TLS, when none is given).
func registrarHostPort(a *Account) string {
	var uri sipmsg.Uri
	_ = sipmsg.ParseUri(a.Registrar, &uri) // New checked it
	port := uri.Port
	if port == 0 {
		port = 5060
		if a.Transport == "tls" {
			port = 5061
		}
	}
	return fmt.Sprintf("%s:%d", uri.Host, port)
}

// subscribeDo sends a SUBSCRIBE and answers digest challenges for acct.
func (u *UA) subscribeDo(ctx context.Context, client *sipgo.Client, req *sipmsg.Request, acct *Account) (*sipmsg.Response, error) {
	res, err := u.doWithAuth(ctx, client, req, acct)
	if errors.Is(err, ErrUnsupportedChallenge) && res != nil {
		// A challenge we cannot answer is a refusal, not silence.
		u.log.Warn("sip subscribe refused", "account", acct.ID, "error", err)
		return res, nil
	}
	return res, err
}

// subscribe sends one SUBSCRIBE asking for expires and records the
// outcome: the lifetime granted, or why not.
func (s *subscription) subscribe(ctx context.Context, expires time.Duration) (time.Duration, error) {
	req := s.newRequest(expires)
	res, err := s.ua.subscribeDo(ctx, s.ua.legs[s.acct.Transport].client, req, s.acct)
	if err == nil && res.StatusCode == 423 && expires > 0 {
		// Interval Too Brief: once more with the notifier's minimum.
		if h := res.GetHeader("Min-Expires"); h != nil {
			if n, perr := strconv.Atoi(strings.TrimSpace(h.Value())); perr == nil && n > 0 {
				expires = time.Duration(n) * time.Second
				req = s.newRequest(expires)
				res, err = s.ua.subscribeDo(ctx, s.ua.legs[s.acct.Transport].client, req, s.acct)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := req.CSeq(); cs != nil && req.CallID() != nil && req.CallID().Value() == s.callID {
		s.cseq = max(s.cseq, cs.SeqNo) // the digest retry took one
	}
	if err != nil {
		// No answer: an established dialog is kept, so that the refresh
		// after the registration comes back stays in it.
		if s.remoteTag == "" {
			s.endLocked()
		}
		return 0, fmt.Errorf("subscribe to %s: %w", req.Recipient.String(), err)
	}
	if !res.IsSuccess() {
		inDialog := s.remoteTag != ""
		s.endLocked()
		if res.StatusCode == 481 && inDialog {
			return 0, errSubscriptionGone
		}
		return 0, fmt.Errorf("subscribe to %s: %d %s", req.Recipient.String(), res.StatusCode, res.Reason)
	}
	if req.CallID().Value() != s.callID {
		return 0, errors.New("subscription ended while subscribing")
	}
	fresh := s.remoteTag == ""
	if fresh {
		if to := res.To(); to != nil {
			s.remoteTag, _ = to.Params.Get("tag")
		}
		if ct := res.Contact(); ct != nil {
			s.target = ct.Address
		}
		rr := res.GetHeaders("Record-Route")
		s.routes = s.routes[:0]
		for i := len(rr) - 1; i >= 0; i-- {
			if h, ok := rr[i].(*sipmsg.RecordRouteHeader); ok {
				s.routes = append(s.routes, h.Address)
			}
		}
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if d, ok := parseSeconds(h.Value()); ok && d < expires {
			granted = d
		}
	}
	if expires > 0 && granted <= 0 {
		s.endLocked()
		return 0, fmt.Errorf("subscribe to %s: granted no time", req.Recipient.String())
	}
	if s.state == subNone {
		s.state = subPending // until the first NOTIFY says more
	}
	s.expires = time.Now().Add(granted)
	if fresh || s.lastLogged != "" {
		mb := s.mailboxOf()
		s.ua.log.Info("sip mwi subscribed", "account", s.acct.ID, "mailbox", mb.String(), "expires", granted)
	}
	s.lastLogged = ""
	return granted, nil
}

// endLocked forgets the dialog; the next SUBSCRIBE starts a new one.
func (s *subscription) endLocked() {
	s.callID = ""
	s.state = subTerminated
	s.expires = time.Time{}
}

// unsubscribe ends an established subscription (Expires: 0).
func (s *subscription) unsubscribe(ctx context.Context) {
	s.mu.Lock()
	established := s.callID != "" && s.remoteTag != ""
	s.mu.Unlock()
	if !established {
		return
	}
	req := s.newRequest(0)
	res, err := s.ua.subscribeDo(ctx, s.ua.legs[s.acct.Transport].client, req, s.acct)
	s.mu.Lock()
	s.endLocked()
	s.mu.Unlock()
	switch {
	case err != nil:
		s.ua.log.Debug("sip mwi unsubscribe failed", "account", s.acct.ID, "error", err)
	case !res.IsSuccess():
		s.ua.log.Debug("sip mwi unsubscribe refused", "account", s.acct.ID, "code", res.StatusCode)
	default:
		s.ua.log.Info("sip mwi unsubscribed", "account", s.acct.ID)
	}
}

// registered is registration's report that acct registered after having
// not been: its subscription, if any, (re)subscribes now.
func (u *UA) registered(acct *Account) {
	for _, s := range u.subs {
		if s.acct == acct {
			s.wake()
		}
	}
}

// subscriptionFor returns the subscription whose dialog req is in, nil
// when none.
func (u *UA) subscriptionFor(req *sipmsg.Request) *subscription {
	tag, ok := req.To().Params.Get("tag")
	if !ok || tag == "" {
		return nil
	}
	callID := req.CallID().Value()
	for _, s := range u.subs {
		s.mu.Lock()
		match := s.callID != "" && s.callID == callID && s.localTag == tag
		s.mu.Unlock()
		if match {
			return s
		}
	}
	return nil
}

// parseSeconds reads a delta-seconds value (RFC 3261 25.1), at most
// 2^31-1 as its section 20.19 allows.
func parseSeconds(v string) (time.Duration, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > math.MaxInt32 {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// subscriptionState parses a Subscription-State value: the state, its
// expires parameter (0 when absent) and its reason.
func subscriptionState(v string) (state string, expires time.Duration, reason string) {
	parts := strings.Split(v, ";")
	state = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		name, val, _ := strings.Cut(p, "=")
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "expires":
			if d, ok := parseSeconds(val); ok {
				expires = d
			}
		case "reason":
			reason = strings.ToLower(val)
		}
	}
	return state, expires, reason
}

// onSubscriptionNotify answers a NOTIFY in s's dialog: its body goes to
// Config.OnMessageWaiting and its Subscription-State to s.
func (u *UA) onSubscriptionNotify(s *subscription, req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	ev := req.GetHeader("Event")
	if ev == nil {
		ev = req.GetHeader("o")
	}
	if ev == nil || eventName(ev.Value()) != eventMessageSummary {
		u.respond(req, tx, 489, "Bad Event")
		return
	}
	var mw MessageWaiting
	body := len(strings.TrimSpace(string(req.Body()))) > 0
	if body {
		var err error
		if mw, err = ParseMessageSummary(req.Body()); err != nil {
			u.log.Info("sip message-summary refused", "account", s.acct.ID, "source", req.Source(), "error", err)
			u.respond(req, tx, 400, "Bad Request (message summary)")
			return
		}
	}
	state, expires, reason := subActive, time.Duration(0), ""
	if h := req.GetHeader("Subscription-State"); h != nil {
		state, expires, reason = subscriptionState(h.Value())
	}
	s.mu.Lock()
	if s.remoteTag == "" {
		// The NOTIFY overtook the 2xx (RFC 6665 4.1.2.4).
		s.remoteTag, _ = req.From().Params.Get("tag")
	}
	if ct := req.Contact(); ct != nil {
		s.target = ct.Address
	}
	switch state {
	case subTerminated:
		s.endLocked()
		switch reason {
		case "rejected", "noresource", "probation", "giveup":
			s.retryLater = true
		}
	case subPending, subActive:
		s.state = state
		if expires > 0 {
			s.expires = time.Now().Add(expires)
		}
	}
	s.mu.Unlock()
	if body && u.cfg.OnMessageWaiting != nil {
		u.log.Info("sip message waiting", "account", s.acct.ID, "waiting", mw.Waiting, "new", mw.New, "old", mw.Old, "subscribed", true)
		u.cfg.OnMessageWaiting(s.acct.ID, mw)
	}
	u.respond(req, tx, 200, "OK")
	if state == subTerminated {
		u.log.Info("sip mwi subscription terminated", "account", s.acct.ID, "reason", reason)
		s.wake()
	}
}
