package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// Who may start a call (or ask OPTIONS):
//
//   - an account with a registrar registers a random Contact user, new for
//     each UA; a new INVITE is for that account only when its Request-URI
//     user is that Contact user and it comes from the registrar — from one
//     of its resolved addresses with its port, or over the TCP/TLS
//     connection the account registered on. The To user is never used to
//     pick the account; it is the number the caller dialed when it differs
//     from the account's user (one-stage dialing on an FXO trunk);
//   - an account without a registrar, or any account when
//     Config.DirectCalls is on, is called by its own user from anywhere
//     (peer-to-peer); with DirectCalls that user is the dialed number;
//   - requests from our own listen address (a port calling another through
//     the UA, DialAccount) reach the account whose user they address;
//   - anything else is a stranger: no ring, and the same answer whatever
//     the user — 404 Not Found, or nothing with Config.IgnoreStrangers.
//     Over UDP the listener gives it without a transaction
//     (stateless.go).

// targetsTTL is how long resolved registrar addresses are reused.
const targetsTTL = 30 * time.Second

// trustState holds the Contact users and the registrars' resolved addresses.
type trustState struct {
	contactUser map[*Account]string // accounts with a registrar only
	byContact   map[string]*Account

	// lookup resolves a registrar host name; nil means net.DefaultResolver.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)

	mu      sync.Mutex
	targets map[*Account]resolvedTargets
}

// resolvedTargets are a registrar's addresses at one time.
type resolvedTargets struct {
	addrs   []netip.AddrPort
	at      time.Time
	literal bool // the registrar's host is an IP address: no lookup
}

// newContactUser returns 16 random hex digits.
func newContactUser() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ContactUser returns the user part of the Contact account accountID
// registers: random for an account with a registrar, its own user without
// one; "" for an unknown account.
func (u *UA) ContactUser(accountID string) string {
	a := u.account(accountID)
	if a == nil {
		return ""
	}
	return u.contactUserOf(a)
}

func (u *UA) contactUserOf(a *Account) string {
	if cu, ok := u.trust.contactUser[a]; ok {
		return cu
	}
	return a.User
}

// contactFor is our Contact for account a over transport tp: at the
// public address the registrar saw when it differs from ours (nat.go).
func (u *UA) contactFor(a *Account, tp string) sipmsg.Uri {
	uri := u.contactURI(u.contactUserOf(a), tp)
	if pub := u.publicAddr(a, tp); pub.IsValid() {
		uri.Host, uri.Port = pub.Addr().String(), int(pub.Port())
	}
	return uri
}

// acceptsDirect reports whether a is called by its own user from anywhere.
func (u *UA) acceptsDirect(a *Account) bool {
	return a.Registrar == "" || u.cfg.DirectCalls
}

// registrarTargets returns the addresses a's registrar sends from: every
// A/AAAA of its host with its port (5060, 5061 for TLS, when none is given).
func (u *UA) registrarTargets(a *Account) []netip.AddrPort {
	addrs := slices.Clone(u.registrarOwnTargets(a))
	// The backup registrar's and outbound proxy's addresses too (nat.go).
	for _, ap := range u.serverAddrs(a) {
		if !slices.Contains(addrs, ap) {
			addrs = append(addrs, ap)
		}
	}
	return addrs
}

// registrarOwnTargets returns the addresses of a's registrar itself.
func (u *UA) registrarOwnTargets(a *Account) []netip.AddrPort {
	t := &u.trust
	t.mu.Lock()
	defer t.mu.Unlock()
	if rt, ok := t.targets[a]; ok && time.Since(rt.at) < targetsTTL {
		return rt.addrs
	}
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(a.Registrar, &uri); err != nil || uri.Host == "" {
		return nil
	}
	port := uri.Port
	if port == 0 {
		port = 5060
		if a.Transport == "tls" {
			port = 5061
		}
	}
	host := strings.Trim(uri.Host, "[]")
	var ips []netip.Addr
	literal := false
	if ip, err := netip.ParseAddr(host); err == nil {
		ips, literal = []netip.Addr{ip}, true
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		lookup := t.lookup
		if lookup == nil {
			lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		found, err := lookup(ctx, host)
		if err != nil {
			u.log.Debug("sip registrar lookup failed", "account", a.ID, "host", host, "error", err)
			if rt, ok := t.targets[a]; ok {
				return rt.addrs // keep the last answer rather than none
			}
		}
		ips = found
	}
	addrs := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		addrs = append(addrs, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	}
	if t.targets == nil {
		t.targets = map[*Account]resolvedTargets{}
	}
	t.targets[a] = resolvedTargets{addrs: addrs, at: time.Now(), literal: literal}
	return addrs
}

// trustNeedsLookup reports whether reading the trust rules now could wait
// for a DNS lookup: one under way (it holds the lock), an account's
// registrar not resolved yet, or resolved by name longer than targetsTTL
// ago. It never waits itself.
func (u *UA) trustNeedsLookup() bool {
	t := &u.trust
	if !t.mu.TryLock() {
		return true
	}
	defer t.mu.Unlock()
	for _, a := range u.accounts {
		if a.Registrar == "" {
			continue
		}
		rt, ok := t.targets[a]
		if !ok || (!rt.literal && time.Since(rt.at) >= targetsTTL) {
			return true
		}
	}
	return false
}

// fromRegistrarOf reports whether req came from a's registrar: from one of
// its targets (IP and port), from where its last 2xx to our REGISTER came,
// or over the TCP/TLS connection the account registered on.
func (u *UA) fromRegistrarOf(a *Account, req *sipmsg.Request) bool {
	if a.Registrar == "" {
		return false
	}
	src := req.Source()
	ap, err := netip.ParseAddrPort(src)
	if err != nil {
		return false
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	for _, r := range u.regs {
		if r.acct != a {
			continue
		}
		r.mu.Lock()
		conn := r.connAddr
		r.mu.Unlock()
		if conn == "" {
			continue
		}
		c, err := netip.ParseAddrPort(conn)
		if err != nil || netip.AddrPortFrom(c.Addr().Unmap(), c.Port()) != ap {
			continue
		}
		// UDP: the registrar answered from there. TCP/TLS: the same
		// remote address over the same transport is the same connection.
		if a.Transport == "udp" || strings.EqualFold(req.Transport(), a.Transport) {
			return true
		}
	}
	for _, t := range u.registrarTargets(a) {
		if t == ap {
			return true
		}
	}
	return false
}

// fromSelf reports whether req came from our own listen address.
func (u *UA) fromSelf(req *sipmsg.Request) bool {
	if !strings.EqualFold(req.Transport(), "udp") {
		return false
	}
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil || int(ap.Port()) != u.port {
		return false
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() {
		return true
	}
	if own := u.Addr().Addr().Unmap(); own.IsValid() && ip == own {
		return true
	}
	h, err := netip.ParseAddr(u.host)
	return err == nil && ip == h.Unmap()
}

// fromTrusted reports whether req came from us or from any account's
// registrar, or whether some account takes calls from anywhere.
func (u *UA) fromTrusted(req *sipmsg.Request) bool {
	if u.fromSelf(req) {
		return true
	}
	for _, a := range u.accounts {
		if u.acceptsDirect(a) || u.fromRegistrarOf(a, req) {
			return true
		}
	}
	return false
}

// incomingAccount picks the account a new INVITE is for and the number the
// caller dialed; nil when the request is a stranger's (see the rules above).
func (u *UA) incomingAccount(req *sipmsg.Request) (acct *Account, dialed string) {
	ruser := req.Recipient.User
	if ruser == "" {
		return nil, ""
	}
	toUser := ""
	if to := req.To(); to != nil {
		toUser = to.Address.User
	}
	if a, ok := u.trust.byContact[ruser]; ok && u.fromRegistrarOf(a, req) {
		if toUser != a.User {
			dialed = toUser
		}
		return a, dialed
	}
	a, ok := u.byUser[ruser]
	if !ok {
		return nil, ""
	}
	switch {
	case u.cfg.DirectCalls:
		return a, ruser
	case a.Registrar == "" || u.fromSelf(req):
		if toUser != a.User {
			dialed = toUser
		}
		return a, dialed
	}
	return nil, ""
}

// refuseStranger gives a stranger the one answer every stranger gets,
// whatever the user or method: 404 Not Found with no extra header, or
// nothing at all with Config.IgnoreStrangers.
func (u *UA) refuseStranger(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	u.log.Debug("sip request from a stranger refused", "method", req.Method.String(), "source", req.Source())
	u.penalize(req.Source(), "stranger")
	if u.cfg.IgnoreStrangers {
		return
	}
	u.respond(req, tx, 404, "Not Found")
}

// ignoresStranger reports whether req goes unanswered before any check:
// with Config.IgnoreStrangers, a request outside a dialog (no To tag) from
// a stranger, whatever its method or its faults, so that a scan does not
// even learn that a SIP stack listens. NOTIFY keeps its handler's own rule.
func (u *UA) ignoresStranger(req *sipmsg.Request) bool {
	if !u.cfg.IgnoreStrangers || req.IsAck() || req.Method == sipmsg.NOTIFY {
		return false
	}
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			return false
		}
	}
	return !u.fromTrusted(req)
}
