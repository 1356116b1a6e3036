package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// Back-off between failed registrations: a registrar that refused us (wrong
// password, 404, ...) is retried slowly, an unreachable one sooner. Both
// double per failure up to their cap.
const (
	backoffRejected    = 30 * time.Second
	backoffUnreachable = 5 * time.Second
	backoffCapRejected = 30 * time.Minute
	backoffCapNetwork  = 5 * time.Minute
	refreshMinBefore   = 30 * time.Second
)

// failKind classifies registration failures for the back-off.
type failKind int

const (
	failRejected failKind = iota + 1 // a final answer said no
	failNetwork                      // no answer, transport error, 5xx
)

// registration keeps one account registered.
type registration struct {
	ua        *UA
	acct      *Account
	registrar sipmsg.Uri
	callID    string
	fromTag   string

	mu         sync.Mutex // guards everything below
	cseq       uint32
	st         RegStatus
	lastLogged string
	retryAfter time.Duration // from a 503's Retry-After, used once
	connAddr   string        // TCP/TLS: the registrar connection's remote address

	nat natState // nat.go: targets, failover and the public address
}

func newRegistration(u *UA, a *Account) *registration {
	r := &registration{
		ua:      u,
		acct:    a,
		callID:  uuid.NewString(),
		fromTag: sipmsg.GenerateTagN(16),
		cseq:    1,
		nat:     natState{cur: -1},
		st:      RegStatus{AccountID: a.ID, User: a.User, Registrar: a.Registrar, State: RegNone},
	}
	// accountTransport validated the URI already.
	_ = sipmsg.ParseUri(a.Registrar, &r.registrar)
	r.registrar.User = ""
	return r
}

func (r *registration) status() RegStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// refreshDelay is when to refresh a registration granted for d: at 85 % of
// it, but at least 30 s before it runs out, and never sooner than half of it.
func refreshDelay(d time.Duration) time.Duration {
	t := d * 85 / 100
	if d-t < refreshMinBefore {
		t = d - refreshMinBefore
	}
	if t < d/2 {
		t = d / 2
	}
	if t < time.Second {
		t = time.Second
	}
	return t
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func backoff(kind failKind, n int) time.Duration {
	base, ceiling := backoffRejected, backoffCapRejected
	if kind == failNetwork {
		base, ceiling = backoffUnreachable, backoffCapNetwork
	}
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// run registers and refreshes until ctx ends.
func (r *registration) run(ctx context.Context) {
	failures := 0
	for {
		r.mu.Lock()
		if r.st.State == RegNone || r.st.State == RegUnregistered {
			r.st.State = RegRegistering
		}
		r.mu.Unlock()
		granted, kind, err := r.registerAny(ctx, r.acct.Expires) // nat.go
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		if err == nil {
			failures = 0
			if r.nat.again() {
				continue // a new public address: register it now
			}
			wait = refreshDelay(granted)
			if r.acct.Transport != "udp" {
				// Stream transports: watch the connection and
				// re-register on a new one as soon as it drops.
				if !r.watchConn(ctx, wait) {
					if ctx.Err() != nil {
						return
					}
					r.ua.log.Warn("sip connection to the registrar lost; reconnecting", "account", r.acct.ID,
						"registrar", r.acct.Registrar, "transport", r.acct.Transport)
					r.mu.Lock()
					r.st.State = RegRegistering
					r.mu.Unlock()
				}
				continue
			}
			// UDP: keep-alives until the refresh is due (nat.go).
			r.idle(ctx, wait)
			if ctx.Err() != nil {
				return
			}
			continue
		} else {
			failures++
			wait = backoff(kind, failures)
			r.mu.Lock()
			if ra := r.retryAfter; ra > 0 {
				wait = min(max(ra, wait), backoffCapRejected)
				r.retryAfter = 0
			}
			r.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-r.ua.after(wait):
		}
	}
}

// connPoll is how often a TCP/TLS registration checks its connection.
const connPoll = time.Second

// watchConn waits up to d while the registration's connection stays up; it
// reports false when the connection went away (or ctx ended) first.
func (r *registration) watchConn(ctx context.Context, d time.Duration) bool {
	r.mu.Lock()
	addr := r.connAddr
	r.mu.Unlock()
	deadline := r.ua.after(d)
	ka := r.keepAlive()
	flow := flowCheck{wait: defaulted(r.ua.pongWait, pongWait)}
	if addr != "" {
		r.ua.pongs.watch(addr) // pong.go
		defer r.ua.pongs.unwatch(addr)
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline:
			return true
		case <-r.ua.connCheck(connPoll):
			if addr != "" && !r.ua.connected(r.acct.Transport, addr) {
				return false
			}
			now := time.Now()
			if flow.failed(&r.ua.pongs, addr, now) {
				// A registrar that answers pings left one unanswered:
				// the flow is dead even though writes still succeed.
				r.ua.log.Warn("sip registrar stopped answering keep-alives; closing the connection", "account", r.acct.ID,
					"registrar", addr, "wait", flow.wait)
				r.ua.dropConn(r.acct.Transport, addr) // pong.go
				return false
			}
			if ka.due(now) {
				// RFC 5626 CRLF keep-alive ping; a write that fails
				// means the connection is gone.
				if !r.ua.ping(r.acct.Transport, addr) {
					return false
				}
				flow.sent(now)
				if r.probePreferred(ctx) {
					return false
				}
			}
		}
	}
}

// newRequest builds a fresh REGISTER: a new Via branch and no stale
// Authorization each time (pitfall 4); Call-ID and From tag stay.
func (r *registration) newRequest(expires time.Duration) *sipmsg.Request {
	u := r.ua
	a := r.acct
	req := sipmsg.NewRequest(sipmsg.REGISTER, r.requestURI())
	if a.Transport != "udp" {
		req.SetTransport(strings.ToUpper(a.Transport))
	}
	r.route(req) // nat.go: outbound proxy and the chosen target
	aor := u.aor(a)
	from := &sipmsg.FromHeader{DisplayName: a.Display, Address: aor, Params: sipmsg.NewParams()}
	from.Params.Add("tag", r.fromTag)
	to := &sipmsg.ToHeader{DisplayName: a.Display, Address: aor}
	secs := int(expires / time.Second)
	contact := &sipmsg.ContactHeader{Address: u.contactFor(a, a.Transport), Params: sipmsg.NewParams()}
	contact.Params.Add("expires", strconv.Itoa(secs))
	stale := r.staleContact(contact.Address) // nat.go: the address we left
	callID := sipmsg.CallIDHeader(r.callID)
	r.mu.Lock()
	r.cseq++
	cseq := &sipmsg.CSeqHeader{SeqNo: r.cseq, MethodName: sipmsg.REGISTER}
	r.mu.Unlock()
	exp := sipmsg.ExpiresHeader(secs)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(cseq)
	req.AppendHeader(contact)
	if stale != nil {
		req.AppendHeader(stale)
	}
	req.AppendHeader(&exp)
	req.AppendHeader(sipmsg.NewHeader("Allow", allowMethods))
	req.AppendHeader(u.userAgentHeader())
	return req
}

// transact sends req and answers digest challenges. sentAuth reports whether
// the final response came after we sent credentials.
func (r *registration) transact(ctx context.Context, req *sipmsg.Request) (res *sipmsg.Response, sentAuth bool, err error) {
	client := r.ua.legs[r.acct.Transport].client
	res, err = r.ua.doWithAuth(ctx, client, req, r.acct)
	sentAuth = req.GetHeader("Authorization") != nil || req.GetHeader("Proxy-Authorization") != nil
	if cs := req.CSeq(); cs != nil {
		r.mu.Lock()
		r.cseq = max(r.cseq, cs.SeqNo)
		r.mu.Unlock()
	}
	return res, sentAuth, err
}

// register performs one registration (with auth) and records the outcome.
func (r *registration) register(ctx context.Context, expires time.Duration) (time.Duration, failKind, error) {
	req := r.newRequest(expires)
	res, sentAuth, err := r.transact(ctx, req)
	if err == nil && res.StatusCode == 423 {
		// Interval Too Brief: retry once with the registrar's minimum.
		if h := res.GetHeader("Min-Expires"); h != nil {
			if n, perr := strconv.Atoi(strings.TrimSpace(h.Value())); perr == nil && n > 0 {
				req = r.newRequest(time.Duration(n) * time.Second)
				res, sentAuth, err = r.transact(ctx, req)
			}
		}
	}
	if ctx.Err() != nil {
		return 0, 0, ctx.Err()
	}
	who := fmt.Sprintf("registration of %s at %s", r.acct.User, r.acct.Registrar)
	if errors.Is(err, ErrUnsupportedChallenge) && res != nil {
		r.fail(fmt.Sprintf("%s rejected: %v (%d %s)", who, err, res.StatusCode, res.Reason), res.StatusCode)
		return 0, failRejected, err
	}
	if err != nil {
		msg := fmt.Sprintf("%s failed: %v", who, err)
		var opErr *net.OpError
		tlsMsg, isTLS := describeTLSError(err, r.acct.CAFile)
		switch {
		case isTLS:
			msg = who + " failed: " + tlsMsg
		case errors.Is(err, sipmsg.ErrTransactionTimeout):
			msg = who + " failed: no response from the registrar (timeout)"
		case errors.As(err, &opErr):
			msg = fmt.Sprintf("%s failed: cannot reach the registrar (%s: %v)", who, opErr.Op, opErr.Err)
		}
		r.fail(msg, 0)
		return 0, failNetwork, err
	}
	code := res.StatusCode
	switch {
	case res.IsSuccess():
		granted := grantedExpires(res, r.ua.contactFor(r.acct, r.acct.Transport), expires)
		r.learn(res) // nat.go: a changed public address re-registers at once
		r.mu.Lock()
		r.connAddr = res.Source()
		regained := r.st.State != RegRegistered
		if regained || r.lastLogged != "" {
			r.ua.log.Info("sip registered", "account", r.acct.ID, "user", r.acct.User, "registrar", r.acct.Registrar, "expires", granted)
		}
		r.st.State = RegRegistered
		r.st.LastError = ""
		r.st.LastCode = code
		r.st.Expires = time.Now().Add(granted)
		r.lastLogged = ""
		r.mu.Unlock()
		if regained {
			r.ua.registered(r.acct) // subscribe.go
		}
		return granted, 0, nil
	case (code == 401 || code == 407) && r.acct.Password == "":
		r.fail(fmt.Sprintf("%s rejected: the registrar wants a password and none is configured (%d %s)", who, code, res.Reason), code)
		return 0, failRejected, errors.New("no password")
	case (code == 401 || code == 407 || code == 403) && sentAuth:
		r.fail(fmt.Sprintf("%s rejected: wrong user name or password (%d %s)", who, code, res.Reason), code)
		return 0, failRejected, errors.New("authentication failed")
	case code >= 500 && code < 600:
		if code == 503 {
			if h := res.GetHeader("Retry-After"); h != nil {
				f := strings.Fields(h.Value())
				if len(f) > 0 {
					if n, perr := strconv.Atoi(f[0]); perr == nil && n > 0 {
						r.mu.Lock()
						r.retryAfter = time.Duration(n) * time.Second
						r.mu.Unlock()
					}
				}
			}
		}
		r.fail(fmt.Sprintf("%s failed: %d %s", who, code, res.Reason), code)
		return 0, failNetwork, errors.New("server error")
	default:
		r.fail(fmt.Sprintf("%s rejected: %d %s", who, code, res.Reason), code)
		return 0, failRejected, errors.New("rejected")
	}
}

// fail records a failure and logs it once per distinct message.
func (r *registration) fail(msg string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.State = RegFailed
	r.st.LastError = msg
	r.st.LastCode = code
	r.st.Expires = time.Time{}
	if r.lastLogged != msg {
		r.lastLogged = msg
		r.ua.log.Warn(msg, "account", r.acct.ID)
	}
}

// grantedExpires reads the lifetime the registrar granted our contact.
func grantedExpires(res *sipmsg.Response, ours sipmsg.Uri, asked time.Duration) time.Duration {
	for _, h := range res.GetHeaders("Contact") {
		ct, ok := h.(*sipmsg.ContactHeader)
		if !ok {
			continue
		}
		a := ct.Address
		if a.User != ours.User || !strings.EqualFold(a.Host, ours.Host) || a.Port != ours.Port {
			continue
		}
		if v, ok := ct.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// unregister removes our binding (Expires: 0) if we are registered.
func (r *registration) unregister(ctx context.Context) {
	r.mu.Lock()
	registered := r.st.State == RegRegistered
	r.mu.Unlock()
	if !registered {
		return
	}
	req := r.newRequest(0)
	res, _, err := r.transact(ctx, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.State = RegUnregistered
	r.st.Expires = time.Time{}
	switch {
	case err != nil:
		r.st.LastError = fmt.Sprintf("unregistration of %s at %s failed: %v", r.acct.User, r.acct.Registrar, err)
		r.st.LastCode = 0
	case !res.IsSuccess():
		r.st.LastError = fmt.Sprintf("unregistration of %s at %s rejected: %d %s", r.acct.User, r.acct.Registrar, res.StatusCode, res.Reason)
		r.st.LastCode = res.StatusCode
	default:
		r.st.LastCode = res.StatusCode
		r.ua.log.Info("sip unregistered", "account", r.acct.ID, "user", r.acct.User)
	}
}
