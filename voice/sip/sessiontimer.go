package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Session timers (RFC 4028). Our INVITEs offer "timer" with
// Session-Expires DefaultSessionExpires and Min-SE MinSessionExpires; a
// 422 is answered by the INVITE again with the Min-SE it asks for. An
// INVITE asking for less than MinSessionExpires gets 422; otherwise our
// 2xx states the interval and who refreshes. The refresher re-INVITEs at
// half the interval; the other side sends BYE when no refresh came by
// the interval less min(32 s, a third of it).

const (
	// MinSessionExpires is the smallest session interval we accept and
	// the Min-SE we state (RFC 4028 4: never below 90 s).
	MinSessionExpires = 90 * time.Second
	// DefaultSessionExpires is the session interval our INVITEs ask for.
	DefaultSessionExpires = 1800 * time.Second
	// maxSessionExpires bounds the interval a 422's Min-SE may push us to.
	maxSessionExpires = 24 * time.Hour
	// max422 bounds the INVITEs sent again after a 422.
	max422 = 2
)

// ReasonSessionExpired ends a call whose session timer ran out without a
// refresh (EventEnded).
const ReasonSessionExpired = "session expired"

// Refresher roles of Session-Expires, for the request it is in.
const (
	refresherUAC = "uac"
	refresherUAS = "uas"
)

// errBadSessionExpires is a Session-Expires or Min-SE we cannot read.
var errBadSessionExpires = errors.New("bad session-expires")

// sessionExpires is a parsed Session-Expires: the interval and the
// refresher ("uac", "uas" or "" when not given).
type sessionExpires struct {
	interval  time.Duration
	refresher string
}

// String renders the header value.
func (s sessionExpires) String() string {
	v := strconv.FormatInt(int64(s.interval/time.Second), 10)
	if s.refresher != "" {
		v += ";refresher=" + s.refresher
	}
	return v
}

// parseDeltaSeconds reads delta-seconds (RFC 3261 25.1) of at most
// maxSessionExpires, with its generic parameters ignored.
func parseDeltaSeconds(v string) (time.Duration, string, error) {
	num, params, _ := strings.Cut(v, ";")
	num = strings.TrimSpace(num)
	if num == "" || len(num) > 10 || strings.TrimLeft(num, "0123456789") != "" {
		return 0, "", fmt.Errorf("%w: %q", errBadSessionExpires, v)
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 || n > uint64(maxSessionExpires/time.Second) {
		return 0, "", fmt.Errorf("%w: %q", errBadSessionExpires, v)
	}
	return time.Duration(n) * time.Second, params, nil
}

// parseSessionExpires reads a Session-Expires value, "1800;refresher=uac".
func parseSessionExpires(v string) (sessionExpires, error) {
	d, params, err := parseDeltaSeconds(v)
	if err != nil {
		return sessionExpires{}, err
	}
	se := sessionExpires{interval: d}
	for _, p := range strings.Split(params, ";") {
		k, val, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "refresher") {
			continue
		}
		switch r := strings.ToLower(strings.TrimSpace(val)); r {
		case refresherUAC, refresherUAS:
			se.refresher = r
		default:
			return sessionExpires{}, fmt.Errorf("%w: refresher %q", errBadSessionExpires, val)
		}
	}
	return se, nil
}

// parseMinSE reads a Min-SE value.
func parseMinSE(v string) (time.Duration, error) {
	d, _, err := parseDeltaSeconds(v)
	return d, err
}

// msgSessionExpires returns a message's Session-Expires, ok false when it
// has none or a bad one.
func msgSessionExpires(m interface {
	GetHeaders(string) []sipmsg.Header
}) (sessionExpires, bool) {
	hs := msgHeaders(m, "Session-Expires")
	if len(hs) == 0 {
		return sessionExpires{}, false
	}
	se, err := parseSessionExpires(hs[0].Value())
	return se, err == nil
}

// sessionTimer is a call's session timer state.
type sessionTimer struct {
	interval  time.Duration // 0: no session timer
	weRefresh bool
	started   bool
	// asked is the Session-Expires our INVITE asks for (after a 422, the
	// Min-SE it gave).
	asked time.Duration
	// minSE is the Min-SE our requests state.
	minSE time.Duration
	// reset wakes the timer when a refresh went through.
	reset chan struct{}
}

// after is the clock of in-call timers (session timers, glare back-off).
func (u *UA) afterCall(d time.Duration) <-chan time.Time {
	if u.callAfter != nil {
		return u.callAfter(d)
	}
	return time.After(d)
}

// sessionOfferHeaders are the session timer headers of our first INVITE.
func sessionOfferHeaders(asked, minSE time.Duration) []sipmsg.Header {
	return []sipmsg.Header{
		sipmsg.NewHeader("Session-Expires", sessionExpires{interval: asked}.String()),
		sipmsg.NewHeader("Min-SE", strconv.FormatInt(int64(minSE/time.Second), 10)),
	}
}

// retry422 prepares our INVITE again after a 422 (RFC 4028 7.4): the
// Session-Expires and Min-SE raised to the 422's Min-SE. It reports false
// when the 422 cannot be satisfied or we asked too often.
func (c *Call) retry422(req *sipmsg.Request, res *sipmsg.Response, tries *int) bool {
	if res.StatusCode != 422 || *tries >= max422 {
		return false
	}
	h := res.GetHeader("Min-SE")
	if h == nil {
		return false
	}
	min, err := parseMinSE(h.Value())
	c.mu.Lock()
	asked := c.st.asked
	c.mu.Unlock()
	if err != nil || min <= asked {
		return false
	}
	*tries++
	c.mu.Lock()
	c.st.asked, c.st.minSE = min, min
	c.mu.Unlock()
	req.RemoveHeader("Session-Expires")
	req.RemoveHeader("x")
	req.RemoveHeader("Min-SE")
	for _, h := range sessionOfferHeaders(min, min) {
		req.AppendHeader(h)
	}
	c.ua.log.Info("sip session interval too small for the far end", "call", c.id, "min_se", min)
	return true
}

// tooSmall answers 422 to an INVITE (initial or re-INVITE) whose
// Session-Expires is below MinSessionExpires; it reports whether it did.
func (u *UA) tooSmall(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	se, ok := msgSessionExpires(req)
	if !ok || se.interval >= MinSessionExpires {
		return false
	}
	u.respond(req, tx, 422, "Session Interval Too Small",
		sipmsg.NewHeader("Min-SE", strconv.FormatInt(int64(MinSessionExpires/time.Second), 10)))
	return true
}

// answerSession decides the session timer of our 2xx to an INVITE or
// re-INVITE req (RFC 4028 9): the headers to add and the timer. A
// request that neither supports timer nor carries Session-Expires gets
// none, unless the call has one already (we keep it and refresh it
// ourselves when the far end cannot).
func (c *Call) answerSession(req *sipmsg.Request) []sipmsg.Header {
	se, has := msgSessionExpires(req)
	sup := supports(req, tagTimer)
	c.mu.Lock()
	cur := c.st.interval
	c.mu.Unlock()
	if !has && !sup && cur == 0 {
		return nil
	}
	if !has {
		se.interval = cur
		if se.interval == 0 {
			se.interval = DefaultSessionExpires
		}
	}
	if se.interval < MinSessionExpires {
		se.interval = MinSessionExpires
	}
	if se.refresher == "" || (!sup && se.refresher == refresherUAC) {
		// A caller without timer support cannot refresh: we do.
		se.refresher = refresherUAS
		if sup {
			se.refresher = refresherUAC
		}
	}
	c.setSession(se.interval, se.refresher == refresherUAS)
	hs := []sipmsg.Header{sipmsg.NewHeader("Session-Expires", se.String())}
	if sup {
		hs = append(hs, sipmsg.NewHeader("Require", tagTimer))
	}
	return hs
}

// answeredSession takes the session timer of a 2xx to our INVITE or
// re-INVITE: refresher uac means us.
func (c *Call) answeredSession(res *sipmsg.Response) {
	se, ok := msgSessionExpires(res)
	if !ok {
		return
	}
	c.setSession(se.interval, se.refresher != refresherUAS)
}

// setSession records the negotiated interval and role and starts the
// timer, or restarts its count when it runs.
func (c *Call) setSession(interval time.Duration, weRefresh bool) {
	c.mu.Lock()
	c.st.interval, c.st.weRefresh = interval, weRefresh
	start := !c.st.started && !c.finished
	if start {
		c.st.started = true
		c.st.reset = make(chan struct{}, 1)
	}
	reset := c.st.reset
	c.mu.Unlock()
	if start {
		c.ua.handlers.Add(1)
		go func() {
			defer c.ua.handlers.Done()
			c.runSessionTimer(reset)
		}()
		return
	}
	select {
	case reset <- struct{}{}:
	default:
	}
}

// refreshHeaders are the session timer headers of our re-INVITE, nil
// when the call has no session timer.
func (c *Call) refreshHeaders() []sipmsg.Header {
	c.mu.Lock()
	iv, we, minSE := c.st.interval, c.st.weRefresh, c.st.minSE
	c.mu.Unlock()
	if iv == 0 {
		return nil
	}
	r := refresherUAS
	if we {
		r = refresherUAC // we send this re-INVITE: its uac
	}
	if minSE == 0 {
		minSE = MinSessionExpires
	}
	return []sipmsg.Header{
		sipmsg.NewHeader("Supported", tagTimer),
		sipmsg.NewHeader("Session-Expires", sessionExpires{interval: iv, refresher: r}.String()),
		sipmsg.NewHeader("Min-SE", strconv.FormatInt(int64(minSE/time.Second), 10)),
	}
}

// runSessionTimer refreshes the session or ends it for want of a refresh.
func (c *Call) runSessionTimer(reset chan struct{}) {
	for {
		c.mu.Lock()
		iv, we := c.st.interval, c.st.weRefresh
		c.mu.Unlock()
		wait := iv - min(32*time.Second, iv/3)
		if we {
			wait = iv / 2
		}
		select {
		case <-c.done:
			return
		case <-reset:
			continue
		case <-c.ua.afterCall(wait):
		}
		if !we {
			c.ua.log.Info("sip session expired without a refresh", "call", c.id, "interval", iv)
			c.expire()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), reinviteTimeout)
		local := c.Local()
		err := c.Reinvite(ctx, local, local.Direction.orSendRecv())
		cancel()
		if err == nil {
			continue
		}
		c.ua.log.Info("sip session refresh failed", "call", c.id, "error", err)
		var re *refusedError
		if errors.As(err, &re) && re.code != 408 && re.code != 481 {
			continue // the session stands; try again at the next half
		}
		if errors.Is(err, ErrCallState) {
			return
		}
		c.expire()
		return
	}
}

// expire ends the call with a BYE: its session ran out.
func (c *Call) expire() {
	c.mu.Lock()
	if c.finished || c.state != stateAnswered {
		c.mu.Unlock()
		return
	}
	c.hangup = true
	// The dialog may end (and report) before byeUAS returns.
	c.endReason = ReasonSessionExpired
	c.mu.Unlock()
	if c.incoming {
		if err := c.byeUAS(context.Background()); err != nil {
			c.ua.log.Warn("sip bye failed", "call", c.id, "error", err)
		}
	} else {
		c.bye()
	}
	c.finish(Event{Kind: EventEnded, Reason: ReasonSessionExpired})
}
