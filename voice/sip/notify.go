package sip

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Check-sync NOTIFY policy.
const (
	// NotifyResyncInterval is the least time between two accepted
	// resync NOTIFYs; one arriving sooner gets 503 with Retry-After.
	NotifyResyncInterval = 60 * time.Second
	// notifyNonceLife bounds the age of a digest nonce we issued.
	notifyNonceLife = 5 * time.Minute
	// notifyRealm is the digest realm of our challenges.
	notifyRealm = "loopstart"
)

// notifyState authenticates and rate limits check-sync NOTIFYs for one UA.
type notifyState struct {
	once sync.Once
	key  []byte // nonce HMAC key, random per UA

	mu   sync.Mutex
	last time.Time // last accepted resync

	// now is the clock; nil means time.Now (tests replace it).
	now func() time.Time
	// lookup resolves a registrar host name; nil means net.DefaultResolver.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

func (n *notifyState) clock() time.Time {
	if n.now != nil {
		return n.now()
	}
	return time.Now()
}

func (n *notifyState) init() {
	n.once.Do(func() {
		n.key = make([]byte, 32)
		rand.Read(n.key)
	})
}

// nonce makes a stateless nonce: time and an HMAC over it.
func (n *notifyState) nonce() string {
	n.init()
	ts := strconv.FormatInt(n.clock().Unix(), 16)
	return ts + "." + n.mac(ts)
}

func (n *notifyState) mac(ts string) string {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte(ts))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// checkNonce reports whether nonce is ours (ok) and still fresh.
func (n *notifyState) checkNonce(nonce string) (ok, fresh bool) {
	n.init()
	ts, sum, found := strings.Cut(nonce, ".")
	if !found || !hmac.Equal([]byte(sum), []byte(n.mac(ts))) {
		return false, false
	}
	sec, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return false, false
	}
	age := n.clock().Sub(time.Unix(sec, 0))
	return true, age >= -time.Minute && age <= notifyNonceLife
}

// allow takes the rate limit: it reports whether a resync may run now
// and, if not, how long to wait; prev is the slot's previous time, for
// giving it back.
func (n *notifyState) allow() (ok bool, wait time.Duration, prev time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock()
	prev = n.last
	if !prev.IsZero() && now.Sub(prev) < NotifyResyncInterval {
		return false, NotifyResyncInterval - now.Sub(prev), prev
	}
	n.last = now
	return true, 0, prev
}

// fromRegistrar reports whether src (ip:port) is the account's registrar.
func (n *notifyState) fromRegistrar(a *Account, src string) bool {
	if a.Registrar == "" {
		return false
	}
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return false
	}
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(a.Registrar, &uri); err != nil || uri.Host == "" {
		return false
	}
	host := strings.Trim(uri.Host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap() == ap.Addr().Unmap()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	lookup := n.lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ips, err := lookup(ctx, host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if ip.Unmap() == ap.Addr().Unmap() {
			return true
		}
	}
	return false
}

// digestOK checks the request's Authorization against the account's
// credentials. present says there was one; stale that its nonce expired.
func (n *notifyState) digestOK(req *sipmsg.Request, a *Account) (ok, present, stale bool) {
	h := req.GetHeader("Authorization")
	if h == nil || a.Password == "" {
		return false, h != nil, false
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return false, true, false
	}
	ours, fresh := n.checkNonce(cred.Nonce)
	if !ours {
		return false, true, false
	}
	if !fresh {
		return false, true, true
	}
	user := a.AuthUser
	if user == "" {
		user = a.User
	}
	if cred.Username != user || cred.Realm != notifyRealm {
		return false, true, false
	}
	chal := &digest.Challenge{Realm: notifyRealm, Nonce: cred.Nonce, Algorithm: cred.Algorithm}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: req.Method.String(), URI: cred.URI,
		Username: user, Password: a.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		return false, true, false
	}
	return subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) == 1, true, false
}

// onNotify answers a NOTIFY outside a subscription: a registrar's
// Event: check-sync (and the other resync events PBXs send, ANCHORS/COMPAT
// section 5) goes to Config.OnNotify. Only NOTIFYs addressed to one of our
// accounts are passed on; others get 404, a missing Event 400, and an
// event nobody handles 489 Bad Event.
//
// A NOTIFY is trusted when it comes from the account's registrar (its
// source IP is the registrar host's address) or carries digest
// credentials for the account, which a 401 asks for; a wrong answer gets
// 403, and an account with neither a registrar match nor a password
// can only be reached with 403. Accepted resyncs are limited to one per
// NotifyResyncInterval (503 with Retry-After otherwise).
func (u *UA) onNotify(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if h := missingHeader(req, false); h != "" {
		u.respond(req, tx, 400, "Missing "+h)
		return
	}
	acct := u.lookupAccount(req)
	if acct == nil {
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
	n := &u.notify
	if !n.fromRegistrar(acct, req.Source()) {
		ok, present, stale := n.digestOK(req, acct)
		switch {
		case ok:
		case acct.Password == "":
			u.log.Warn("sip notify refused: not from the registrar", "event", event, "source", req.Source(), "account", acct.ID)
			u.respond(req, tx, 403, "Forbidden")
			return
		case present && !stale:
			u.log.Warn("sip notify refused: wrong credentials", "event", event, "source", req.Source(), "account", acct.ID)
			u.respond(req, tx, 403, "Forbidden")
			return
		default:
			chal := digest.Challenge{Realm: notifyRealm, Nonce: n.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
			u.respond(req, tx, 401, "Unauthorized", sipmsg.NewHeader("WWW-Authenticate", chal.String()))
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
