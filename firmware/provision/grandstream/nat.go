package grandstream

import (
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// transports maps P130/P830 to the native transport.
var transports = map[string]string{"0": "udp", "1": "tcp", "2": "tls"}

// servers reads a block's outbound proxy and failover SIP server. Both
// take host[:port] (or a sip: URI) and become sip: URIs carrying the
// block's transport when the file sends one.
func (r *reader) servers(acct string, b block) {
	transport := ""
	if v, ok := r.vals[b.transport]; ok {
		transport = transports[v.v]
	}
	for _, f := range []struct {
		p     int
		field string
	}{{b.outboundProxy, "outbound-proxy"}, {b.failover, "backup-registrar"}} {
		v, ok := r.get(f.p)
		if !ok {
			continue
		}
		uri, err := vendor.ServerURI(v.v, transport)
		if err != nil {
			r.d.Refuse(pname(f.p), vendor.AccountPath(acct, f.field), v.line, "%v", err)
			continue
		}
		r.d.SetAccount(acct, f.field, uri, pname(f.p), v.line)
	}
}

// nat reads a block's NAT traversal (0 no, 1 STUN, 2 keep-alive only,
// 3 UPnP) with the global keep-alive interval (P84) and STUN server
// (P76). Traversal 0 turns keep-alives off and STUN off; 1 sends
// keep-alives and asks the STUN server; 2 sends keep-alives only; 3 is
// taken as 2, since no UPnP port mapping is done. Keep-alives that were
// off and are turned on without P84 take the default interval. Without
// the block's traversal, P84 sets the interval of an account already
// sending keep-alives and P76 the server of one already using STUN.
func (r *reader) nat(acct string, b block) {
	kaPath, stunPath := vendor.AccountPath(acct, "keep-alive"), vendor.AccountPath(acct, "stun")
	interval, kaOK := r.global(pKeepAlive, kaPath, vendor.KeepAliveSeconds)
	server, stunOK := r.global(pSTUN, stunPath, vendor.STUNServer)
	cur := r.cur.Account(acct)
	mode, modeOK := r.get(b.nat)
	if !modeOK {
		if kaOK && (cur == nil || cur.KeepAlive != "0") {
			r.used[pKeepAlive] = true
			r.d.SetAccount(acct, "keep-alive", interval.v, pname(pKeepAlive), interval.line)
		}
		if stunOK && cur != nil && cur.STUN != "" {
			r.used[pSTUN] = true
			r.d.SetAccount(acct, "stun", server.v, pname(pSTUN), server.line)
		}
		return
	}
	switch mode.v {
	case "0":
		r.d.SetAccount(acct, "keep-alive", "0", pname(b.nat), mode.line)
		r.d.SetAccount(acct, "stun", "", pname(b.nat), mode.line)
		return
	case "1", "2", "3":
	default:
		r.d.Refuse(pname(b.nat), kaPath, mode.line, "%q is not 0 (no), 1 (STUN), 2 (keep-alive only) or 3 (UPnP)", mode.v)
		return
	}
	switch {
	case kaOK:
		r.used[pKeepAlive] = true
		r.d.SetAccount(acct, "keep-alive", interval.v, pname(pKeepAlive), interval.line)
	case cur == nil || cur.KeepAlive == "0":
		r.d.SetAccount(acct, "keep-alive", "", pname(b.nat), mode.line)
	}
	switch {
	case mode.v != "1":
		r.d.SetAccount(acct, "stun", "", pname(b.nat), mode.line)
	case stunOK:
		r.used[pSTUN] = true
		r.d.SetAccount(acct, "stun", server.v, pname(pSTUN), server.line)
	}
}

// global reads a global P-value that applies to several accounts,
// converted by conv. A bad value is refused once, naming path (the first
// account's); it is marked used only when refused or applied, so that one
// applying to no account is listed as ignored.
func (r *reader) global(p int, path string, conv func(string) (string, error)) (value, bool) {
	v, ok := r.vals[p]
	if !ok {
		return v, false
	}
	s, err := conv(v.v)
	if err != nil {
		if !r.used[p] {
			r.used[p] = true
			r.d.Refuse(pname(p), path, v.line, "%v", err)
		}
		return v, false
	}
	v.v = s
	return v, true
}
