package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
)

// NAT traversal and server failover for registrations.
//
// Every request's Via carries rport (RFC 3581); the registrar's answers
// then say in Via received= and rport= where our requests came from. Over
// UDP that is our public address behind a NAT: the Contact we register
// moves there, and a change (the NAT gave us a new port) registers again
// at once. Keep-alives hold the NAT's binding open: OPTIONS over UDP every
// Account.KeepAlive (their answers reveal a changed public port, which a
// bare CRLF could not), CRLF pings (RFC 5626) over TCP and TLS.
//
// A registration's targets are, in order, every address of the registrar
// (through the outbound proxy, if any: SRV by priority and weight, then
// A/AAAA) and then every address of the backup registrar. A timeout, a
// transport error or a 5xx moves to the next target; a keep-alive the
// current target leaves unanswered moves on at once; while registered
// anywhere but the first target, each keep-alive asks the first one, and
// registers there again as soon as it answers (fail-back).

const (
	// attemptTimeout bounds a REGISTER to one target while more remain.
	attemptTimeout = 4 * time.Second
	// probeTimeout bounds a keep-alive OPTIONS.
	probeTimeout = 2 * time.Second
	// failoverProbe is how often a UDP registration with somewhere else
	// to go (another address of the registrar, a backup registrar) asks
	// the target in use whether it is alive, when its keep-alive is off
	// or slower: a lost server is then left, and the registration
	// restored elsewhere, within failoverProbe + probeTimeout + one
	// REGISTER (under 10 s), whatever the NAT keep-alive.
	failoverProbe = 5 * time.Second
)

// regTarget is one place to register: the Request-URI (the registrar or
// the backup registrar) and the address the request goes to.
type regTarget struct {
	uri  sipmsg.Uri
	addr netip.AddrPort
	// sni is true when the address stands for a TLS host name, which
	// sipgo must dial itself to verify the certificate.
	sni bool
}

// natState is a registration's targets, failover and public address.
type natState struct {
	mu      sync.Mutex
	targets []regTarget
	cur     int  // index of the target in use; -1 = none yet
	start   int  // where the next registration starts
	redo    bool // register again at once (a new public address, fail-back)
	public  netip.AddrPort
	// registered is the Contact the last REGISTER carried.
	registered sipmsg.Uri
	// suspect is the target whose keep-alive went unanswered; when the
	// REGISTER that follows succeeds there all the same, it is a server
	// that ignores OPTIONS, and its keep-alives are REGISTERs (optionless).
	suspect    netip.AddrPort
	optionless map[netip.AddrPort]bool
}

// again reports (and clears) whether the registration should be renewed
// at once.
func (n *natState) again() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.redo
	n.redo = false
	return r
}

// checkNATAccount validates an account's NAT and resilience settings.
func checkNATAccount(a *Account) error {
	if a.KeepAlive < 0 {
		return fmt.Errorf("keep-alive %v: must not be negative", a.KeepAlive)
	}
	for _, f := range []struct{ name, v string }{{"outbound proxy", a.OutboundProxy}, {"backup registrar", a.BackupRegistrar}} {
		if f.v == "" {
			continue
		}
		if a.Registrar == "" {
			return fmt.Errorf("%s %q needs a registrar", f.name, f.v)
		}
		var uri sipmsg.Uri
		if err := sipmsg.ParseUri(f.v, &uri); err != nil {
			return fmt.Errorf("%s %q: %w", f.name, f.v, err)
		}
		if (uri.Scheme != "sip" && uri.Scheme != "sips") || uri.Host == "" {
			return fmt.Errorf("%s %q: want sip:host[:port] or sips:host[:port]", f.name, f.v)
		}
	}
	return nil
}

// serverURIs returns the Request-URIs a registers at, preferred first.
func (r *registration) serverURIs() []sipmsg.Uri {
	out := []sipmsg.Uri{r.registrar}
	if b := r.acct.BackupRegistrar; b != "" {
		var uri sipmsg.Uri
		if sipmsg.ParseUri(b, &uri) == nil { // checked in New
			uri.User = ""
			out = append(out, uri)
		}
	}
	return out
}

// proxyURI is the account's outbound proxy, ok false without one.
func (r *registration) proxyURI() (sipmsg.Uri, bool) {
	var uri sipmsg.Uri
	if r.acct.OutboundProxy == "" || sipmsg.ParseUri(r.acct.OutboundProxy, &uri) != nil {
		return uri, false
	}
	uri.User = ""
	return uri, true
}

// resolveTargets resolves every server's next hop; on failure it keeps the
// targets it had.
func (r *registration) resolveTargets(ctx context.Context) []regTarget {
	proxy, haveProxy := r.proxyURI()
	var out []regTarget
	var errs []error
	for _, srv := range r.serverURIs() {
		hop := srv
		if haveProxy {
			hop = proxy
		}
		if r.acct.Transport == "tls" {
			if _, err := netip.ParseAddr(strings.Trim(hop.Host, "[]")); err != nil {
				// A TLS name is dialled by sipgo, which verifies the
				// certificate against it.
				out = append(out, regTarget{uri: srv, sni: true})
				continue
			}
		}
		addrs, err := r.ua.res.resolve(ctx, hop, r.acct.Transport)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range addrs {
			out = append(out, regTarget{uri: srv, addr: a})
		}
	}
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	if len(out) == 0 {
		if len(r.nat.targets) > 0 {
			r.ua.log.Warn("sip registrar lookup failed; keeping the addresses found before", "account", r.acct.ID, "error", errors.Join(errs...))
			return r.nat.targets
		}
		return nil
	}
	if len(errs) > 0 {
		r.ua.log.Debug("sip registrar lookup", "account", r.acct.ID, "error", errors.Join(errs...))
	}
	r.nat.targets = out
	return out
}

// registerAny registers at the first target that answers, starting where
// the last keep-alive said (the first target unless it was lost).
func (r *registration) registerAny(ctx context.Context, expires time.Duration) (time.Duration, failKind, error) {
	targets := r.resolveTargets(ctx)
	if len(targets) == 0 {
		msg := fmt.Sprintf("registration of %s at %s failed: cannot resolve the registrar", r.acct.User, r.acct.Registrar)
		r.fail(msg, 0)
		return 0, failNetwork, errors.New(msg)
	}
	r.nat.mu.Lock()
	start := r.nat.start
	r.nat.start = 0
	r.nat.mu.Unlock()
	if start >= len(targets) {
		start = 0
	}
	var (
		granted time.Duration
		kind    failKind
		err     error
	)
	for i := start; i < len(targets); i++ {
		r.nat.mu.Lock()
		r.nat.cur = i
		r.nat.mu.Unlock()
		actx, cancel := ctx, context.CancelFunc(func() {})
		if i < len(targets)-1 {
			actx, cancel = context.WithTimeout(ctx, attemptTimeout)
		}
		granted, kind, err = r.register(actx, expires)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		if timedOut {
			kind = failNetwork
			r.fail(fmt.Sprintf("registration of %s at %s failed: no response from %s (timeout)", r.acct.User, r.acct.Registrar, targets[i].String()), 0)
		}
		if err == nil {
			r.noteAnswered(targets[i])
		} else {
			// Down for REGISTER too: it was lost, not deaf to OPTIONS.
			r.nat.mu.Lock()
			if r.nat.suspect == targets[i].addr {
				r.nat.suspect = netip.AddrPort{}
			}
			r.nat.mu.Unlock()
		}
		if err == nil || kind != failNetwork {
			if err == nil && i > 0 {
				r.ua.log.Warn("sip registered at an alternate target", "account", r.acct.ID, "target", targets[i].String())
			}
			return granted, kind, err
		}
		if i < len(targets)-1 {
			r.ua.log.Warn("sip registration target failed; trying the next", "account", r.acct.ID,
				"target", targets[i].String(), "next", targets[i+1].String(), "error", err)
		}
	}
	return granted, kind, err
}

// String names a target for logs.
func (t regTarget) String() string {
	if !t.addr.IsValid() {
		return t.uri.String()
	}
	return t.uri.String() + " via " + t.addr.String()
}

// noteAnswered records a REGISTER answered by t: if t's keep-alive had
// gone unanswered just before, t ignores OPTIONS and is kept alive with
// REGISTERs from now on.
func (r *registration) noteAnswered(t regTarget) {
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	suspect := r.nat.suspect
	r.nat.suspect = netip.AddrPort{}
	if !suspect.IsValid() || suspect != t.addr || r.nat.optionless[t.addr] {
		return
	}
	if r.nat.optionless == nil {
		r.nat.optionless = map[netip.AddrPort]bool{}
	}
	r.nat.optionless[t.addr] = true
	r.ua.log.Info("sip registrar answers REGISTER but not OPTIONS; its keep-alives are REGISTERs", "account", r.acct.ID, "target", t.String())
}

// current returns the target in use; ok false before the first.
func (r *registration) current() (regTarget, int, bool) {
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	if r.nat.cur < 0 || r.nat.cur >= len(r.nat.targets) {
		return regTarget{}, -1, false
	}
	return r.nat.targets[r.nat.cur], r.nat.cur, true
}

// requestURI is the Request-URI of our REGISTER: the current target's.
func (r *registration) requestURI() sipmsg.Uri {
	if t, _, ok := r.current(); ok {
		return t.uri
	}
	return r.registrar
}

// route sends a request outside a dialog through the outbound proxy (a
// loose Route) to the current target's address.
func (r *registration) route(req *sipmsg.Request) {
	r.routeTo(req, -1)
}

// routeTo is route to target i (-1 = the current one).
func (r *registration) routeTo(req *sipmsg.Request, i int) {
	if proxy, ok := r.proxyURI(); ok {
		p := proxy
		p.UriParams = sipmsg.NewParams()
		if proxy.UriParams != nil {
			if tp, ok := proxy.UriParams.Get("transport"); ok {
				p.UriParams.Add("transport", tp)
			}
		}
		p.UriParams.Add("lr", "")
		req.PrependHeader(&sipmsg.RouteHeader{Address: p})
	}
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	if i < 0 {
		i = r.nat.cur
	}
	if i < 0 || i >= len(r.nat.targets) {
		return
	}
	if t := r.nat.targets[i]; t.addr.IsValid() && !t.sni {
		req.SetDestination(hostPort(t.addr))
	}
}

// RouteOut sends an INVITE or other request outside a dialog from acct the
// way its registration goes: through the outbound proxy to the registrar
// target in use. Requests of accounts without a registrar, and requests
// not to the account's registrar domain, are left alone.
func (u *UA) routeOut(acct *Account, req *sipmsg.Request) {
	r := u.regOf[acct]
	if r == nil || !strings.EqualFold(req.Transport(), acct.Transport) {
		return
	}
	if !strings.EqualFold(req.Recipient.Host, r.registrar.Host) || req.Recipient.Port != r.registrar.Port {
		return
	}
	r.route(req)
}

// publicAddr is the public address the registrar saw a's UDP requests come
// from, when it differs from ours; invalid otherwise.
func (u *UA) publicAddr(a *Account, tp string) netip.AddrPort {
	r := u.regOf[a]
	if r == nil || tp != "udp" || a.Transport != "udp" {
		return netip.AddrPort{}
	}
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	return r.nat.public
}

// serverAddrs returns every resolved target address of a's registration.
func (u *UA) serverAddrs(a *Account) []netip.AddrPort {
	r := u.regOf[a]
	if r == nil {
		return nil
	}
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	out := make([]netip.AddrPort, 0, len(r.nat.targets))
	for _, t := range r.nat.targets {
		if t.addr.IsValid() {
			out = append(out, t.addr)
		}
	}
	return out
}

// viaPublic reads the address a response's top Via says our request came
// from: received= (or the sent-by host) and rport= (or the sent-by port).
func viaPublic(res *sipmsg.Response) (netip.AddrPort, bool) {
	via := res.Via()
	if via == nil || via.Params == nil {
		return netip.AddrPort{}, false
	}
	host := via.Host
	if v, ok := via.Params.Get("received"); ok && v != "" {
		host = v
	}
	port := via.Port
	if v, ok := via.Params.Get("rport"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 65535 {
			return netip.AddrPort{}, false
		}
		port = n
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil || port <= 0 || port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}

// learn takes the public address from a UDP answer of the registrar. It
// reports whether it changed, and then asks for a new registration.
func (r *registration) learn(res *sipmsg.Response) bool {
	if r.acct.Transport != "udp" {
		return false
	}
	pub, ok := viaPublic(res)
	if !ok {
		return false
	}
	if local, err := netip.ParseAddr(r.ua.host); err == nil && pub == netip.AddrPortFrom(local.Unmap(), uint16(r.ua.port)) {
		pub = netip.AddrPort{} // no NAT between us
	}
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	if pub == r.nat.public {
		return false
	}
	old := r.nat.public
	r.nat.public = pub
	r.nat.redo = true
	r.ua.log.Info("sip public address changed", "account", r.acct.ID, "old", old.String(), "new", pub.String())
	return true
}

// keepAlive is the account's keep-alive schedule.
func (r *registration) keepAlive() *kaSchedule {
	return &kaSchedule{every: r.acct.KeepAlive, next: time.Now().Add(r.acct.KeepAlive)}
}

// kaSchedule says when keep-alives are due.
type kaSchedule struct {
	every time.Duration // 0 = never
	next  time.Time
}

// due reports whether a keep-alive is due at now and, if so, schedules the
// next one interval later (not from the missed time, so a stalled clock
// does not fire a burst).
func (k *kaSchedule) due(now time.Time) bool {
	if k.every <= 0 || now.Before(k.next) {
		return false
	}
	k.next = now.Add(k.every)
	return true
}

// idle waits up to d (the registration's refresh) sending UDP keep-alives;
// it returns early when the registration must be renewed now: a changed
// public address, a lost target, or the preferred target back.
func (r *registration) idle(ctx context.Context, d time.Duration) {
	deadline := r.ua.after(d)
	for {
		var tick <-chan time.Time
		if every := r.probeEvery(); every > 0 {
			tick = r.ua.after(every)
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline:
			return
		case <-tick:
			if !r.keepAliveUDP(ctx) {
				return
			}
		}
	}
}

// probeEvery is the interval of UDP keep-alives: the account's, or
// failoverProbe when that is off or slower and the registration has more
// than one target; 0 = none.
func (r *registration) probeEvery() time.Duration {
	every := r.acct.KeepAlive
	r.nat.mu.Lock()
	alternates := len(r.nat.targets) > 1
	r.nat.mu.Unlock()
	if alternates && (every <= 0 || every > failoverProbe) {
		every = failoverProbe
	}
	return every
}

// keepAliveUDP sends one OPTIONS keep-alive to the current target; false
// means register again now.
func (r *registration) keepAliveUDP(ctx context.Context) bool {
	t, i, ok := r.current()
	if !ok {
		return true
	}
	r.nat.mu.Lock()
	optionless := t.addr.IsValid() && r.nat.optionless[t.addr]
	r.nat.mu.Unlock()
	if optionless {
		return false // the keep-alive is a REGISTER
	}
	res, err := r.options(ctx, i)
	if ctx.Err() != nil {
		return true
	}
	if err != nil {
		r.ua.log.Warn("sip registrar does not answer the keep-alive; registering elsewhere", "account", r.acct.ID,
			"target", t.String(), "error", err)
		r.nat.mu.Lock()
		r.nat.start = i + 1
		r.nat.suspect = t.addr
		r.nat.mu.Unlock()
		r.mu.Lock()
		r.st.State = RegRegistering
		r.mu.Unlock()
		return false
	}
	if r.learn(res) {
		r.nat.again()
		return false
	}
	return !r.probePreferred(ctx)
}

// probePreferred asks the first target whether it is back while we are
// registered elsewhere; true means it answered and we register there now.
func (r *registration) probePreferred(ctx context.Context) bool {
	_, i, ok := r.current()
	if !ok || i == 0 {
		return false
	}
	if _, err := r.options(ctx, 0); err != nil {
		return false
	}
	r.ua.log.Info("sip preferred registrar answers again; returning to it", "account", r.acct.ID)
	r.nat.mu.Lock()
	r.nat.start = 0
	r.nat.mu.Unlock()
	return true
}

// options sends an OPTIONS to target i and returns its answer (any
// final response means the server is alive).
func (r *registration) options(ctx context.Context, i int) (*sipmsg.Response, error) {
	u := r.ua
	r.nat.mu.Lock()
	if i < 0 || i >= len(r.nat.targets) {
		r.nat.mu.Unlock()
		return nil, errors.New("no such target")
	}
	t := r.nat.targets[i]
	r.nat.mu.Unlock()
	req := sipmsg.NewRequest(sipmsg.OPTIONS, t.uri)
	if r.acct.Transport != "udp" {
		req.SetTransport(strings.ToUpper(r.acct.Transport))
	}
	r.routeTo(req, i)
	aor := u.aor(r.acct)
	from := &sipmsg.FromHeader{Address: aor, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: aor})
	callID := sipmsg.CallIDHeader(uuid.NewString())
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.OPTIONS})
	req.AppendHeader(u.userAgentHeader())
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	res, err := u.legs[r.acct.Transport].client.Do(pctx, req)
	if err != nil {
		return nil, fmt.Errorf("keep-alive to %s: %w", t.String(), err)
	}
	if res.StatusCode == 503 {
		return nil, fmt.Errorf("keep-alive to %s: %d %s", t.String(), res.StatusCode, res.Reason)
	}
	return res, nil
}

// ping writes an RFC 5626 CRLF keep-alive on the TCP/TLS connection to
// addr; false when it cannot.
func (u *UA) ping(transport, addr string) bool {
	pool := u.sua.TransportLayer().Pool(transport)
	if pool == nil || addr == "" {
		return false
	}
	c := pool.Get(addr)
	if c == nil {
		return false
	}
	defer c.TryClose() // undo the reference Get took
	w, ok := c.(interface{ Write([]byte) (int, error) })
	if !ok {
		return true // nothing to write with: the connection check stands
	}
	_, err := w.Write([]byte("\r\n\r\n"))
	return err == nil
}

// staleContact returns, once after our public address changed, the
// Contact we registered before with expires=0 so that the registrar drops
// it; nil otherwise.
func (r *registration) staleContact(now sipmsg.Uri) *sipmsg.ContactHeader {
	r.nat.mu.Lock()
	defer r.nat.mu.Unlock()
	old := r.nat.registered
	r.nat.registered = now
	if old.Host == "" || (strings.EqualFold(old.Host, now.Host) && old.Port == now.Port) {
		return nil
	}
	ct := &sipmsg.ContactHeader{Address: old, Params: sipmsg.NewParams()}
	ct.Params.Add("expires", "0")
	return ct
}

// firstHop returns the route set entry an in-dialog request of c goes to
// first, as stored in the dialog (the INVITE's top Record-Route for a call
// we answered, the answer's bottom one for a call we placed); nil without
// a route set.
func (c *Call) firstHop() *sipmsg.RecordRouteHeader {
	var hdrs []sipmsg.Header
	top := true
	if c.incoming {
		if c.dss != nil && c.dss.InviteRequest != nil {
			hdrs = c.dss.InviteRequest.GetHeaders("Record-Route")
		}
	} else if c.dcs != nil && c.dcs.InviteResponse != nil {
		hdrs = c.dcs.InviteResponse.GetHeaders("Record-Route")
		top = false
	}
	if len(hdrs) == 0 {
		return nil
	}
	h := hdrs[0]
	if !top {
		h = hdrs[len(hdrs)-1]
	}
	rr, _ := h.(*sipmsg.RecordRouteHeader)
	return rr
}

// sendInDialog sends an in-dialog request of c with send. When the route
// set's first hop is a host name, we resolve it (SRV, A) ourselves, at the
// configured DNS server, and the request goes to its first address; a
// timeout or transport error moves it to the next, so a call can still end
// after the proxy it went through died. sipgo routes a dialog's requests
// by the route entry's host, so the entry names the address tried, and
// gets its name back afterwards. Otherwise it is send(req) as it is.
func (c *Call) sendInDialog(ctx context.Context, req *sipmsg.Request, send func(context.Context, *sipmsg.Request) error) error {
	hop := c.firstHop()
	if hop == nil {
		return send(ctx, req)
	}
	if _, err := netip.ParseAddr(strings.Trim(hop.Address.Host, "[]")); err == nil {
		return send(ctx, req)
	}
	tp := strings.ToLower(req.Transport())
	if tp == "tls" {
		return send(ctx, req) // sipgo dials TLS names itself, to verify them
	}
	name := hop.Address
	addrs, err := c.ua.res.resolve(ctx, name, tp)
	if err != nil || len(addrs) == 0 {
		return send(ctx, req)
	}
	defer c.ua.pointHop(hop, name.Host, name.Port)
	// The address that answered the dialog's last request goes first:
	// after a failover the dead one is not waited for each time.
	c.mu.Lock()
	last := c.lastHop
	c.mu.Unlock()
	if i := slices.Index(addrs, last); i > 0 {
		addrs = append([]netip.AddrPort{last}, slices.Delete(slices.Clone(addrs), i, i+1)...)
	}
	var errs []error
	for i, a := range addrs {
		c.ua.pointHop(hop, a.Addr().String(), int(a.Port()))
		r := req.Clone()
		actx, cancel := ctx, context.CancelFunc(func() {})
		if i < len(addrs)-1 {
			actx, cancel = context.WithTimeout(ctx, attemptTimeout)
		}
		err := send(actx, r)
		cancel()
		if err == nil {
			c.mu.Lock()
			c.lastHop = a
			c.mu.Unlock()
			return nil
		}
		var de *sipgo.ErrDialogResponse
		var dv sipgo.ErrDialogResponse
		if errors.As(err, &de) || errors.As(err, &dv) || ctx.Err() != nil {
			return err // answered, or out of time: no other address helps
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
		if i < len(addrs)-1 {
			c.ua.log.Warn("sip in-dialog request failed; trying the route's next address", "call", c.id,
				"method", string(req.Method), "route", name.Host, "failed", a.String(), "next", addrs[i+1].String(), "error", err)
		}
	}
	return errors.Join(errs...)
}

// writeThroughHop writes a request that has no answer (an ACK) over the
// address of the dialog's named route that answered its last request,
// when there is one; otherwise as write does.
func (c *Call) writeThroughHop(req *sipmsg.Request, write func(*sipmsg.Request) error) error {
	hop := c.firstHop()
	c.mu.Lock()
	last := c.lastHop
	c.mu.Unlock()
	if hop == nil || !last.IsValid() {
		return write(req)
	}
	if _, err := netip.ParseAddr(strings.Trim(hop.Address.Host, "[]")); err == nil {
		return write(req)
	}
	c.ua.mu.Lock()
	host, port := hop.Address.Host, hop.Address.Port
	c.ua.mu.Unlock()
	c.ua.pointHop(hop, last.Addr().String(), int(last.Port()))
	defer c.ua.pointHop(hop, host, port)
	return write(req)
}

// pointHop sets where a dialog's route entry sends its requests (sipgo
// routes by the entry's host), under the lock its readers take.
func (u *UA) pointHop(hop *sipmsg.RecordRouteHeader, host string, port int) {
	u.mu.Lock()
	hop.Address.Host, hop.Address.Port = host, port
	u.mu.Unlock()
}
