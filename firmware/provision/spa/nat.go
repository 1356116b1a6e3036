package spa

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// outboundProxy reads Outbound_Proxy_n_ with Use_Outbound_Proxy_n_.
// Use No clears the account's outbound proxy; Yes sets it to the
// element's host[:port] as a sip: URI, with SIP_Transport_n_ when the
// file gives one. Without Use_Outbound_Proxy_n_ the proxy changes only
// an account already using one (the SPA's default is No).
func (r *reader) outboundProxy(n int, acct string) {
	path := vendor.AccountPath(acct, "outbound-proxy")
	proxy, proxyName, proxyOK := r.getLine(n, "Outbound_Proxy")
	use, useName, useOK := r.getLine(n, "Use_Outbound_Proxy")
	cur := r.cur.Account(acct)
	on := cur != nil && cur.OutboundProxy != ""
	if useOK {
		v, valid := yesNo(use.v)
		if !valid {
			r.d.Refuse(useName, path, use.line, "%q: want Yes or No", use.v)
			return
		}
		on = v
		if !on {
			r.d.SetAccount(acct, "outbound-proxy", "", useName, use.line)
			if proxyOK {
				r.d.Ignore(proxyName, proxy.line, useName+" is No")
			}
			return
		}
	}
	if !proxyOK {
		if useOK && !on {
			return
		}
		if useOK && (cur == nil || cur.OutboundProxy == "") {
			r.d.Refuse(useName, path, use.line, "Yes needs Outbound_Proxy_%d_", n)
		}
		return
	}
	if !on {
		r.d.Ignore(proxyName, proxy.line, "applies only with Use_Outbound_Proxy_n_ Yes")
		return
	}
	if strings.TrimSpace(proxy.v) == "" {
		r.d.Refuse(proxyName, path, proxy.line, "empty, but Use_Outbound_Proxy_%d_ is Yes", n)
		return
	}
	uri, err := vendor.ServerURI(proxy.v, r.transport(n))
	if err != nil {
		r.d.Refuse(proxyName, path, proxy.line, "%v", err)
		return
	}
	r.d.SetAccount(acct, "outbound-proxy", uri, proxyName, proxy.line)
}

// transport is line n's SIP_Transport_n_ as a native transport, "" when
// not sent or AUTO.
func (r *reader) transport(n int) string {
	v, ok := r.lines[n]["SIP_Transport"]
	if !ok {
		return ""
	}
	switch t := strings.ToLower(v.v); t {
	case "udp", "tcp", "tls":
		return t
	}
	return ""
}

// keepAlive reads NAT_Keep_Alive_Enable_n_ with the keep-alive interval
// (NAT_Keep_Alive_Intvl, or NAT_Keep_Alive_Intvl_n_ for the line). No
// turns keep-alives off; Yes turns them on at the interval, or at the
// account's current one, or the default when they were off. An interval
// without the enable changes only an account sending keep-alives.
func (r *reader) keepAlive(n int, acct string) {
	path := vendor.AccountPath(acct, "keep-alive")
	ivName := "NAT_Keep_Alive_Intvl"
	iv, ivOK := r.lines[n][ivName]
	if ivOK {
		ivName = fmt.Sprintf("%s_%d_", ivName, n)
	} else {
		iv, ivOK = r.glob[ivName]
	}
	interval := ""
	if ivOK {
		s, err := vendor.KeepAliveSeconds(iv.v)
		if err != nil {
			if !r.used[ivName] {
				r.d.Refuse(ivName, path, iv.line, "%v", err)
			}
			r.used[ivName] = true
			ivOK = false
		}
		interval = s
	}
	cur := r.cur.Account(acct)
	en, enName, enOK := r.getLine(n, "NAT_Keep_Alive_Enable")
	if !enOK {
		if ivOK && (cur == nil || cur.KeepAlive != "0") {
			r.used[ivName] = true
			r.d.SetAccount(acct, "keep-alive", interval, ivName, iv.line)
		}
		return
	}
	on, valid := yesNo(en.v)
	switch {
	case !valid:
		r.d.Refuse(enName, path, en.line, "%q: want Yes or No", en.v)
	case !on:
		r.d.SetAccount(acct, "keep-alive", "0", enName, en.line)
	case ivOK:
		r.used[ivName] = true
		r.d.SetAccount(acct, "keep-alive", interval, ivName, iv.line)
	case cur == nil || cur.KeepAlive == "0":
		r.d.SetAccount(acct, "keep-alive", "", enName, en.line)
	}
}

// stun applies STUN_Enable and STUN_Server, which are global, to the
// accounts of ports: Enable No clears <stun>, Yes sets the server
// (host[:port], port 3478 by default). A server without the enable
// changes only accounts already using STUN.
func (r *reader) stun(ports []int) {
	en, enOK := r.glob["STUN_Enable"]
	srv, srvOK := r.glob["STUN_Server"]
	if !enOK && !srvOK {
		return
	}
	on, valid := true, true
	if enOK {
		on, valid = yesNo(en.v)
	}
	server := ""
	if srvOK {
		s, err := vendor.STUNServer(srv.v)
		if err != nil {
			path := "loopstart/account/stun"
			if len(ports) > 0 {
				path = vendor.AccountPath(r.accountOf(ports[0]), "stun")
			}
			r.used["STUN_Server"] = true
			r.d.Refuse("STUN_Server", path, srv.line, "%v", err)
			srvOK = false
		}
		server = s
	}
	for _, n := range ports {
		acct := r.accountOf(n)
		path := vendor.AccountPath(acct, "stun")
		cur := r.cur.Account(acct)
		switch {
		case enOK && !valid:
			if !r.used["STUN_Enable"] {
				r.d.Refuse("STUN_Enable", path, en.line, "%q: want Yes or No", en.v)
			}
			r.used["STUN_Enable"] = true
		case enOK && !on:
			r.used["STUN_Enable"] = true
			r.d.SetAccount(acct, "stun", "", "STUN_Enable", en.line)
			if srvOK {
				r.used["STUN_Server"] = true
			}
		case srvOK && (enOK || cur != nil && cur.STUN != ""):
			if enOK {
				r.used["STUN_Enable"] = true
			}
			r.used["STUN_Server"] = true
			r.d.SetAccount(acct, "stun", server, "STUN_Server", srv.line)
		case enOK && on && !srvOK && (cur == nil || cur.STUN == ""):
			if !r.used["STUN_Enable"] {
				r.d.Refuse("STUN_Enable", path, en.line, "Yes needs STUN_Server")
			}
			r.used["STUN_Enable"] = true
		case enOK:
			r.used["STUN_Enable"] = true // Yes with the current server
		}
	}
}

// stunPorts are the ports the global NAT settings reach: the lines the file
// converted, and the configured ports it does not mention.
func (r *reader) stunPorts(converted []int) []int {
	out := slices.Clone(converted)
	if r.cur != nil {
		for _, p := range r.cur.Ports {
			if _, inFile := r.lines[p.N]; !inFile && !slices.Contains(out, p.N) {
				out = append(out, p.N)
			}
		}
	}
	slices.Sort(out)
	return out
}
