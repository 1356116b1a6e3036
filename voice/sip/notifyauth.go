package sip

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/netip"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// The digest server side of resync NOTIFYs (RFC 3261 22.4, RFC 8760):
//
//   - every challenge offers SHA-256 first, then MD5, both with qop=auth
//     and one fresh nonce;
//   - a nonce is ours only while it is in a bounded table, at most
//     nonceLife after it was issued; it authenticates one request, then is
//     gone, so a replayed request is refused; each attempt's nc must be
//     above the last one seen with that nonce;
//   - the digest uri must be the request's Request-URI;
//   - after lockoutFailures failed attempts within lockoutWindow from one
//     source IP, or for one account, every attempt from that source or for
//     that account fails for lockoutTime, whatever its credentials;
//   - every failure — no credentials, a wrong password, an unknown user or
//     realm, a stale or replayed nonce, a lockout — gets the same answer: 401
//     with fresh challenges, so no answer tells a password or a user apart.
const (
	notifyRealm     = "loopstart"
	nonceLife       = 5 * time.Minute
	maxNonces       = 256
	lockoutFailures = 5
	lockoutWindow   = 10 * time.Minute
	lockoutTime     = 10 * time.Minute
	maxFailKeys     = 1024
)

// challengeAlgorithms are the algorithms offered, preferred first.
var challengeAlgorithms = []string{"SHA-256", "MD5"}

// digestGuard issues and checks digest nonces and counts failures.
type digestGuard struct {
	// now is the clock; nil means time.Now (tests replace it).
	now func() time.Time

	mu     sync.Mutex
	nonces map[string]nonceState
	fails  map[string]*failures // "ip " + address or "account " + id
}

// nonceState is an issued nonce's birth and the highest nc used with it.
type nonceState struct {
	issued time.Time
	nc     int
}

// failures are the recent failed attempts of one source or account.
type failures struct {
	at          []time.Time // within lockoutWindow, at most lockoutFailures
	lockedUntil time.Time
}

func (g *digestGuard) clock() time.Time {
	if g.now != nil {
		return g.now()
	}
	return time.Now()
}

// challenges issues a nonce and returns the WWW-Authenticate headers that
// offer it.
func (g *digestGuard) challenges() []sipmsg.Header {
	b := make([]byte, 16)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	g.mu.Lock()
	now := g.clock()
	if g.nonces == nil {
		g.nonces = map[string]nonceState{}
	}
	if len(g.nonces) >= maxNonces {
		g.pruneNonces(now)
	}
	g.nonces[nonce] = nonceState{issued: now}
	g.mu.Unlock()
	hdrs := make([]sipmsg.Header, 0, len(challengeAlgorithms))
	for _, alg := range challengeAlgorithms {
		c := digest.Challenge{Realm: notifyRealm, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}}
		hdrs = append(hdrs, sipmsg.NewHeader("WWW-Authenticate", c.String()))
	}
	return hdrs
}

// pruneNonces drops expired nonces and, while the table is still full,
// the oldest one. g.mu is held.
func (g *digestGuard) pruneNonces(now time.Time) {
	var oldest string
	for k, n := range g.nonces {
		if now.Sub(n.issued) > nonceLife {
			delete(g.nonces, k)
			continue
		}
		if oldest == "" || n.issued.Before(g.nonces[oldest].issued) {
			oldest = k
		}
	}
	if len(g.nonces) >= maxNonces && oldest != "" {
		delete(g.nonces, oldest)
	}
}

// check reports whether req carries valid credentials for a; a failed
// attempt is counted against its source IP and a.
func (g *digestGuard) check(req *sipmsg.Request, a *Account) bool {
	h := req.GetHeader("Authorization")
	if h == nil {
		return false // not an attempt: nothing to count
	}
	src := "ip " + req.Source()
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		src = "ip " + ap.Addr().Unmap().String()
	}
	acct := "account " + a.ID
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock()
	if g.locked(src, now) || g.locked(acct, now) {
		return false
	}
	if g.verify(req, a, h.Value(), now) {
		return true
	}
	g.fail(src, now)
	g.fail(acct, now)
	return false
}

// verify checks one Authorization value; it takes the nonce's nc (and on
// success the nonce). g.mu is held.
func (g *digestGuard) verify(req *sipmsg.Request, a *Account, value string, now time.Time) bool {
	cred, err := digest.ParseCredentials(value)
	if err != nil {
		return false
	}
	ns, ok := g.nonces[cred.Nonce]
	if !ok {
		return false
	}
	if now.Sub(ns.issued) > nonceLife {
		delete(g.nonces, cred.Nonce)
		return false
	}
	if cred.Nc <= ns.nc {
		return false
	}
	ns.nc = cred.Nc
	g.nonces[cred.Nonce] = ns
	if cred.QOP != "auth" || cred.Cnonce == "" {
		return false
	}
	alg := cred.Algorithm
	if alg == "" {
		alg = "MD5"
	}
	if alg != "MD5" && alg != "SHA-256" {
		return false
	}
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(cred.URI, &uri); err != nil || uri.String() != req.Recipient.String() {
		return false
	}
	user := a.AuthUser
	if user == "" {
		user = a.User
	}
	// Compute the digest even for a wrong user or realm, so that a
	// failure takes the same time whatever made it fail.
	known := a.Password != "" && cred.Username == user && cred.Realm == notifyRealm
	chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: alg, QOP: []string{"auth"}}
	want, err := digest.Digest(chal, digest.Options{Method: req.Method.String(), URI: cred.URI,
		Username: cred.Username, Password: a.Password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 || !known {
		return false
	}
	delete(g.nonces, cred.Nonce) // single use
	return true
}

// locked reports whether key is locked out at now. g.mu is held.
func (g *digestGuard) locked(key string, now time.Time) bool {
	f := g.fails[key]
	return f != nil && now.Before(f.lockedUntil)
}

// fail counts a failure of key at now, locking it out at the
// lockoutFailures-th within lockoutWindow. g.mu is held.
func (g *digestGuard) fail(key string, now time.Time) {
	if g.fails == nil {
		g.fails = map[string]*failures{}
	}
	f := g.fails[key]
	if f == nil {
		if len(g.fails) >= maxFailKeys {
			g.pruneFails(now)
		}
		f = &failures{}
		g.fails[key] = f
	}
	kept := f.at[:0]
	for _, t := range f.at {
		if now.Sub(t) < lockoutWindow {
			kept = append(kept, t)
		}
	}
	f.at = append(kept, now)
	if len(f.at) >= lockoutFailures {
		f.lockedUntil = now.Add(lockoutTime)
		f.at = f.at[:0]
	}
}

// pruneFails drops keys with nothing recent and no lockout and, while the
// table is still full, one whose last failure is oldest. g.mu is held.
func (g *digestGuard) pruneFails(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, f := range g.fails {
		last := f.lockedUntil
		if n := len(f.at); n > 0 && f.at[n-1].After(last) {
			last = f.at[n-1]
		}
		if now.After(f.lockedUntil) && (len(f.at) == 0 || now.Sub(f.at[len(f.at)-1]) >= lockoutWindow) {
			delete(g.fails, k)
			continue
		}
		if oldest == "" || last.Before(oldestAt) {
			oldest, oldestAt = k, last
		}
	}
	if len(g.fails) >= maxFailKeys && oldest != "" {
		delete(g.fails, oldest)
	}
}
