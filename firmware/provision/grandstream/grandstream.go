// Package grandstream reads Grandstream HT80x/HT81x XML provisioning files
// (<gs_provision><config><P47>...</P47></config></gs_provision>) into the
// native configuration model.
//
// The HT802 layout has one SIP account per port: port 1's values are P47,
// P35, P34 ... and port 2's P747, P735, P734 .... The HT81x layout has two
// SIP profiles with those same numbers and per-port blocks (user P4060+i,
// authentication ID P4090+i, password P4120+i, name P4180+i, profile
// P4150+i, port enable P4595+i, off-hook auto-dial P4210+i for port i+1);
// a file using any per-port block is read as HT81x, and each port takes
// the server, transport, codecs, dial plan and the rest from its profile.
//
// Files are sparse: a P-value not sent keeps its current value. Unknown
// P-values, and known ones Loopstart has no setting for, are listed as
// ignored with a reason (Map documents every one the FusionPBX HT802 and
// HT814 templates write). A value that cannot be used is refused with its
// P-value name and the native path, and nothing is applied.
package grandstream

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision/vendor"
)

// Format is the vendor.Doc format name.
const Format = "grandstream"

// RootElement is the root element of a Grandstream XML file.
const RootElement = "gs_provision"

// Options say what a file is converted against.
type Options struct {
	// Current is the configuration in force: a port keeps the account
	// it is bound to. Nil means port n uses account id "n".
	Current *config.Config
	// MAC is the gateway's MAC in lowercase hex; a file whose <mac> names
	// another one is refused. Empty skips the check.
	MAC string
}

// value is one P-value read from the file.
type value struct {
	v    string
	line int
}

// pnum matches a P-value element name.
var pnum = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^P([0-9]{1,6})$`) })

// maxPerPort is the number of ports the HT81x per-port blocks describe.
const maxPerPort = 4

// block holds the P-values of one HT802 port or HT81x profile, by field.
type block struct {
	active, server, user, authUser, password, name        int
	transport, expires, srtp, dialPlan, mwi, features     int
	flashEvent, flashDTMF, noCW, flashMin, flashMax       int
	hotline, hotlineDelay, confTransfer, noThreeWay, noEC int
	outboundProxy, failover, nat                          int
	codecs, dtmf                                          []int
}

// blocks are HT802 ports 1 and 2, or HT81x profiles 1 and 2.
var blocks = [2]block{
	{active: 271, server: 47, user: 35, authUser: 36, password: 34, name: 3,
		transport: 130, expires: 32, srtp: 183, dialPlan: 4200, mwi: 99, features: 191,
		flashEvent: 74, flashDTMF: 28080, noCW: 91, flashMin: 251, flashMax: 252,
		hotline: 71, hotlineDelay: 4045, confTransfer: 4560, noThreeWay: 4830, noEC: 824,
		outboundProxy: 48, failover: 967, nat: 52,
		codecs: []int{57, 58, 59, 60, 61, 62, 46}, dtmf: []int{850, 851, 852}},
	{active: 401, server: 747, user: 735, authUser: 736, password: 734, name: 703,
		transport: 830, expires: 732, srtp: 443, dialPlan: 4201, mwi: 709, features: 751,
		flashEvent: 774, flashDTMF: 28081, noCW: 791, flashMin: 811, flashMax: 812,
		hotline: 771, hotlineDelay: 4046, confTransfer: 4561, noThreeWay: 4831, noEC: 825,
		outboundProxy: 748, failover: 987, nat: 730,
		codecs: []int{757, 758, 759, 760, 761, 762, 814}, dtmf: []int{860, 861, 862}},
}

// HT81x per-port blocks: P-value of port i+1 is base+i.
const (
	ppUser     = 4060
	ppAuthUser = 4090
	ppPassword = 4120
	ppProfile  = 4150
	ppName     = 4180
	ppHotline  = 4210
	ppEnable   = 4595
)

// Global P-values.
const (
	pUpgradeProto = 212
	pConfigPath   = 237
	pHTTPUser     = 1360
	pHTTPPass     = 1361
	pAutoCheck    = 194
	pCheckMinutes = 193
	pSTUN         = 76 // STUN server, for the accounts whose NAT traversal is STUN
	pKeepAlive    = 84 // keep-alive interval in seconds, for every account sending them
)

// codec payload numbers Grandstream uses, and the native names.
var codecByNumber = map[string]string{"0": "pcmu", "8": "pcma", "9": "g722"}

// reader is one conversion in progress.
type reader struct {
	d    *vendor.Doc
	vals map[int]value
	used map[int]bool
	cur  *config.Config
}

func (r *reader) get(p int) (value, bool) {
	v, ok := r.vals[p]
	if ok {
		r.used[p] = true
	}
	return v, ok
}

func pname(p int) string { return "P" + strconv.Itoa(p) }

// Convert reads a Grandstream XML file into a vendor.Doc, the partial
// native configuration it amounts to. A malformed file, or one for
// another MAC, is an error and no Doc. Values that cannot be used are
// recorded in the Doc, and also returned as its *vendor.Error.
func Convert(data []byte, opts Options) (*vendor.Doc, error) {
	leaves, err := vendor.Leaves(data, RootElement)
	if err != nil {
		return nil, fmt.Errorf("grandstream profile: %w", err)
	}
	r := &reader{d: vendor.NewDoc(Format), vals: map[int]value{}, used: map[int]bool{}, cur: opts.Current}
	var order []int
	for _, l := range leaves {
		if len(l.Parents) == 1 && l.Name == "mac" {
			mac := strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(l.Value))
			if opts.MAC != "" && mac != "" && mac != strings.ToLower(opts.MAC) {
				return nil, fmt.Errorf("grandstream profile: line %d: <mac> %s is not this gateway's %s", l.Line, l.Value, opts.MAC)
			}
			continue
		}
		m := pnum().FindStringSubmatch(l.Name)
		if m == nil {
			r.d.Ignore(l.Name, l.Line, "not a P-value")
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if _, seen := r.vals[n]; !seen {
			order = append(order, n)
		}
		r.vals[n] = value{l.Value, l.Line}
	}
	r.convert()
	for _, n := range order {
		if r.used[n] {
			continue
		}
		reason, ok := ignored[n]
		switch {
		case ok:
		case inBlocks(n):
			reason = "no port here takes this port's or profile's values"
		case n == pSTUN:
			reason = "no account the file sets uses STUN (NAT traversal 1)"
		case n == pKeepAlive:
			reason = "no account the file sets sends keep-alives (NAT traversal 1, 2 or 3)"
		default:
			reason = "unknown P-value"
		}
		r.d.Ignore(pname(n), r.vals[n].line, reason)
	}
	return r.d, r.d.Err()
}

// perPort reports whether the file uses the HT81x per-port blocks.
func (r *reader) perPort() bool {
	for i := range maxPerPort {
		for _, base := range []int{ppUser, ppAuthUser, ppPassword, ppProfile, ppName, ppHotline, ppEnable} {
			if _, ok := r.vals[base+i]; ok {
				return true
			}
		}
	}
	return false
}

// accountOf is the account id port n is bound to.
func (r *reader) accountOf(n int) string {
	if r.cur != nil {
		for _, p := range r.cur.Ports {
			if p.N == n && p.Account != "" {
				return p.Account
			}
		}
	}
	return strconv.Itoa(n)
}

// onBoard reports whether port n exists here (any port when there is no
// current configuration, or it has no ports).
func (r *reader) onBoard(n int) bool {
	if r.cur == nil || len(r.cur.Ports) == 0 {
		return true
	}
	return slices.ContainsFunc(r.cur.Ports, func(p config.Port) bool { return p.N == n })
}

func (r *reader) convert() {
	if r.perPort() {
		for i := range maxPerPort {
			r.ht81xPort(i)
		}
	} else {
		for i := range blocks {
			r.ht802Port(i + 1)
		}
	}
	r.provisioning()
}

// skip marks P-values as read and lists them as ignored for a reason.
func (r *reader) skip(reason string, ps ...int) {
	for _, p := range ps {
		if v, ok := r.get(p); ok {
			r.d.Ignore(pname(p), v.line, reason)
		}
	}
}

// blockParams lists every P-value of a block.
func (b block) params() []int {
	ps := []int{b.active, b.server, b.user, b.authUser, b.password, b.name, b.transport, b.expires, b.srtp,
		b.dialPlan, b.mwi, b.features, b.flashEvent, b.flashDTMF, b.noCW, b.flashMin, b.flashMax,
		b.hotline, b.hotlineDelay, b.confTransfer, b.noThreeWay, b.noEC, b.outboundProxy, b.failover, b.nat}
	return append(append(ps, b.codecs...), b.dtmf...)
}

// ht802Port reads HT802 port n's block.
func (r *reader) ht802Port(n int) {
	b := blocks[n-1]
	if !r.onBoard(n) {
		r.skip(fmt.Sprintf("port %d is not on this gateway", n), b.params()...)
		return
	}
	if v, ok := r.get(b.active); ok {
		if v.v == "0" {
			r.skip(fmt.Sprintf("port %d's account is off (%s=0)", n, pname(b.active)), b.params()...)
			r.d.Ignore(pname(b.active), v.line, fmt.Sprintf("port %d's account is off: its values are not applied", n))
			return
		}
		r.d.Ignore(pname(b.active), v.line, "an account is on while a port uses it")
	}
	acct := r.accountOf(n)
	r.credentials(acct, b.user, b.authUser, b.password, b.name)
	r.profile(n, acct, b)
}

// ht81xPort reads HT81x port i+1's per-port block and its profile.
func (r *reader) ht81xPort(i int) {
	n := i + 1
	own := []int{ppUser + i, ppAuthUser + i, ppPassword + i, ppProfile + i, ppName + i, ppHotline + i, ppEnable + i}
	sent := slices.ContainsFunc(own, func(p int) bool { _, ok := r.vals[p]; return ok })
	if !sent {
		return
	}
	if !r.onBoard(n) {
		r.skip(fmt.Sprintf("port %d is not on this gateway", n), own...)
		return
	}
	if v, ok := r.get(ppEnable + i); ok {
		if v.v == "0" {
			r.skip(fmt.Sprintf("port %d is off (%s=0)", n, pname(ppEnable+i)), own...)
			r.d.Ignore(pname(ppEnable+i), v.line, fmt.Sprintf("port %d is off: its values are not applied", n))
			return
		}
		r.d.Ignore(pname(ppEnable+i), v.line, "a port is on while it has an account")
	}
	prof := 0
	if v, ok := r.get(ppProfile + i); ok {
		switch v.v {
		case "0", "":
		case "1":
			prof = 1
		default:
			r.d.Refuse(pname(ppProfile+i), "", v.line, "profile %q: want 0 (profile 1) or 1 (profile 2)", v.v)
			return
		}
		r.d.Ignore(pname(ppProfile+i), v.line, fmt.Sprintf("port %d takes profile %d", n, prof+1))
	}
	b := blocks[prof]
	if v, ok := r.vals[b.active]; ok && v.v == "0" {
		r.skip(fmt.Sprintf("port %d's profile %d is off (%s=0)", n, prof+1, pname(b.active)), own...)
		return
	}
	acct := r.accountOf(n)
	r.credentials(acct, ppUser+i, ppAuthUser+i, ppPassword+i, ppName+i)
	if v, ok := r.get(ppHotline + i); ok {
		r.d.SetPort(n, acct, "hotline", v.v, pname(ppHotline+i), v.line)
	}
	// The profile's own user, password and name are HT802 fields; the
	// HT81x ports have their own.
	r.skip("an HT81x port's credentials come from its per-port block", b.user, b.authUser, b.password, b.name)
	r.profile(n, acct, b)
	// Profiles are shared: P271/P401 say only whether one is on.
	r.skip("an HT81x profile is on while a port uses it", b.active)
}

func (r *reader) credentials(acct string, user, authUser, password, name int) {
	for _, f := range []struct {
		p     int
		field string
	}{{user, "user"}, {authUser, "auth-user"}, {password, "password"}, {name, "display-name"}} {
		if v, ok := r.get(f.p); ok {
			r.d.SetAccount(acct, f.field, v.v, pname(f.p), v.line)
		}
	}
}

// profile applies a block's server, transport, media and port settings
// to port n and its account.
func (r *reader) profile(n int, acct string, b block) {
	// Profile values can be read for several ports: mark them used only
	// through get, and read them with vals.
	if v, ok := r.get(b.server); ok {
		reg := v.v
		if reg != "" && !strings.HasPrefix(reg, "sip:") && !strings.HasPrefix(reg, "sips:") {
			reg = "sip:" + reg
		}
		r.d.SetAccount(acct, "registrar", reg, pname(b.server), v.line)
	}
	r.enum(b.transport, map[string]string{"0": "udp", "1": "tcp", "2": "tls"}, func(s string, v value) {
		r.d.SetAccount(acct, "transport", s, pname(b.transport), v.line)
	}, vendor.AccountPath(acct, "transport"))
	if v, ok := r.get(b.expires); ok {
		min, err := strconv.Atoi(v.v)
		if err != nil || min <= 0 {
			r.d.Refuse(pname(b.expires), vendor.AccountPath(acct, "expires"), v.line, "%q is not a number of minutes", v.v)
		} else {
			r.d.SetAccount(acct, "expires", strconv.Itoa(min*60), pname(b.expires), v.line)
		}
	}
	r.enum(b.srtp, map[string]string{"0": "off", "1": "optional", "2": "mandatory"}, func(s string, v value) {
		r.d.SetAccount(acct, "srtp", s, pname(b.srtp), v.line)
	}, vendor.AccountPath(acct, "srtp"))
	r.servers(acct, b)
	r.nat(acct, b)
	r.codecs(acct, b.codecs)
	r.dtmf(n, acct, b.dtmf)
	if v, ok := r.get(b.dialPlan); ok {
		r.d.SetPort(n, acct, "dial-plan", v.v, pname(b.dialPlan), v.line)
	}
	yesNo := map[string]string{"0": "false", "1": "true"}
	noYes := map[string]string{"0": "true", "1": "false"}
	r.enum(b.mwi, yesNo, func(s string, v value) { r.d.SetAccount(acct, "mwi-subscribe", s, pname(b.mwi), v.line) }, vendor.AccountPath(acct, "mwi-subscribe"))
	r.enum(b.features, yesNo, func(s string, v value) { r.d.SetPort(n, acct, "local-features", s, pname(b.features), v.line) }, vendor.PortPath(n, "local-features"))
	r.enum(b.noCW, noYes, func(s string, v value) { r.d.SetPort(n, acct, "call-waiting", s, pname(b.noCW), v.line) }, vendor.PortPath(n, "call-waiting"))
	r.enum(b.confTransfer, yesNo, func(s string, v value) {
		r.d.SetPort(n, acct, "conference-transfer", s, pname(b.confTransfer), v.line)
	}, vendor.PortPath(n, "conference-transfer"))
	r.enum(b.noThreeWay, noYes, func(s string, v value) { r.d.SetPort(n, acct, "three-way", s, pname(b.noThreeWay), v.line) }, vendor.PortPath(n, "three-way"))
	r.enum(b.noEC, map[string]string{"0": "on", "1": "off"}, func(s string, v value) {
		r.d.SetPort(n, acct, "echo-canceller", s, pname(b.noEC), v.line)
	}, vendor.PortPath(n, "echo-canceller"))
	r.flash(n, acct, b)
	if v, ok := r.get(b.hotline); ok {
		r.d.SetPort(n, acct, "hotline", v.v, pname(b.hotline), v.line)
	}
	if v, ok := r.get(b.hotlineDelay); ok {
		if d, err := strconv.Atoi(v.v); err != nil || d < 0 || d > 60 {
			r.d.Refuse(pname(b.hotlineDelay), vendor.PortPath(n, "hotline-delay"), v.line, "%q: want 0..60 seconds", v.v)
		} else {
			r.d.SetPort(n, acct, "hotline-delay", v.v, pname(b.hotlineDelay), v.line)
		}
	}
}

// enum maps a P-value through a table, refusing values not in it.
func (r *reader) enum(p int, table map[string]string, set func(string, value), path string) {
	v, ok := r.get(p)
	if !ok {
		return
	}
	s, ok := table[v.v]
	if !ok {
		keys := make([]string, 0, len(table))
		for k, t := range table {
			keys = append(keys, k+" ("+t+")")
		}
		slices.Sort(keys)
		r.d.Refuse(pname(p), path, v.line, "%q is not one of %s", v.v, strings.Join(keys, ", "))
		return
	}
	set(s, v)
}

// codecs turns the codec choices into the account's preference list:
// the codecs Loopstart has, in the order given.
func (r *reader) codecs(acct string, ps []int) {
	var list []string
	var sent []string
	line := 0
	for _, p := range ps {
		v, ok := r.get(p)
		if !ok {
			continue
		}
		if line == 0 {
			line = v.line
		}
		sent = append(sent, pname(p))
		if c, ok := codecByNumber[v.v]; ok && !slices.Contains(list, c) {
			list = append(list, c)
		}
	}
	if len(sent) == 0 {
		return
	}
	if len(list) == 0 {
		r.d.Refuse(sent[0], vendor.AccountPath(acct, "codecs"), line, "none of the codecs chosen is PCMU (0), PCMA (8) or G.722 (9)")
		return
	}
	r.d.SetAccount(acct, "codecs", strings.Join(list, ","), strings.Join(sent, ","), line)
}

// dtmf takes the first DTMF priority: 102 (SIP INFO) sends INFO, 101
// (RFC 2833) and 100 (in audio) send RFC 4733 events when the call
// negotiated them and in band otherwise.
func (r *reader) dtmf(n int, acct string, ps []int) {
	for i, p := range ps {
		v, ok := r.get(p)
		if !ok {
			continue
		}
		if i > 0 {
			r.d.Ignore(pname(p), v.line, "only the first DTMF priority decides")
			continue
		}
		switch v.v {
		case "100", "101":
			r.d.SetPort(n, acct, "dtmf", "rfc4733", pname(p), v.line)
		case "102":
			r.d.SetPort(n, acct, "dtmf", "info", pname(p), v.line)
		default:
			r.d.Refuse(pname(p), vendor.PortPath(n, "dtmf"), v.line, "%q is not 100 (in audio), 101 (RFC 2833) or 102 (SIP INFO)", v.v)
		}
	}
}

// flash reads the hook-flash relay and the flash window.
func (r *reader) flash(n int, acct string, b block) {
	ev, evOK := r.get(b.flashEvent)
	dt, dtOK := r.get(b.flashDTMF)
	switch {
	case dtOK && dt.v == "1":
		r.d.SetPort(n, acct, "flash-relay", "rfc4733", pname(b.flashDTMF), dt.line)
		if evOK {
			r.d.Ignore(pname(b.flashEvent), ev.line, fmt.Sprintf("%s=1 sends flash as a DTMF event", pname(b.flashDTMF)))
		}
	case dtOK && dt.v != "0":
		r.d.Refuse(pname(b.flashDTMF), vendor.PortPath(n, "flash-relay"), dt.line, "%q is not 0 (no) or 1 (yes)", dt.v)
	default:
		if dtOK && !evOK {
			r.d.Ignore(pname(b.flashDTMF), dt.line, "0 leaves the flash relay to "+pname(b.flashEvent))
		}
		r.enum(b.flashEvent, map[string]string{"0": "", "1": "info-hookflash"}, func(s string, v value) {
			r.d.SetPort(n, acct, "flash-relay", s, pname(b.flashEvent), v.line)
		}, vendor.PortPath(n, "flash-relay"))
	}
	lo, loOK := r.get(b.flashMin)
	hi, hiOK := r.get(b.flashMax)
	if !loOK && !hiOK {
		return
	}
	// A window needs both ends: an end not sent keeps the current one,
	// or Grandstream's default (300-1100 ms).
	loMS, hiMS := 300, 1100
	if r.cur != nil {
		for _, p := range r.cur.Ports {
			if p.N == n {
				if l, h, err := p.FlashWindow(); err == nil && h > 0 {
					loMS, hiMS = int(l.Milliseconds()), int(h.Milliseconds())
				}
			}
		}
	}
	param, line := pname(b.flashMax), hi.line
	for _, e := range []struct {
		v   value
		ok  bool
		p   int
		dst *int
	}{{lo, loOK, b.flashMin, &loMS}, {hi, hiOK, b.flashMax, &hiMS}} {
		if !e.ok {
			continue
		}
		ms, err := strconv.Atoi(e.v.v)
		if err != nil || ms <= 0 {
			r.d.Refuse(pname(e.p), vendor.PortPath(n, "flash"), e.v.line, "%q is not a number of milliseconds", e.v.v)
			return
		}
		*e.dst = ms
	}
	if loOK {
		param, line = pname(b.flashMin), lo.line
		if hiOK {
			param += "," + pname(b.flashMax)
		}
	}
	r.d.SetPort(n, acct, "flash", fmt.Sprintf("%dms-%dms", loMS, hiMS), param, line)
}

// provisioning reads the config server (P237 with the protocol P212 and
// the HTTP credentials P1360/P1361) and the check interval (P194/P193).
func (r *reader) provisioning() {
	proto, protoOK := r.get(pUpgradeProto)
	path, pathOK := r.get(pConfigPath)
	user, userOK := r.get(pHTTPUser)
	pass, passOK := r.get(pHTTPPass)
	scheme := ""
	if protoOK {
		switch proto.v {
		case "0":
			scheme = "tftp"
		case "1":
			scheme = "http"
		case "2":
			scheme = "https"
		case "3", "4":
			r.d.Refuse(pname(pUpgradeProto), vendor.ProvisioningPath("url"), proto.line, "%s (FTP) is not supported: use 0 (TFTP), 1 (HTTP) or 2 (HTTPS)", proto.v)
			return
		default:
			r.d.Refuse(pname(pUpgradeProto), vendor.ProvisioningPath("url"), proto.line, "%q is not 0 (TFTP), 1 (HTTP) or 2 (HTTPS)", proto.v)
			return
		}
	}
	var cur string
	if r.cur != nil && r.cur.Provisioning != nil {
		cur = r.cur.Provisioning.URL
	}
	host := ""
	switch {
	case pathOK && path.v != "":
		host = path.v
	case pathOK:
		r.d.Ignore(pname(pConfigPath), path.line, "empty: the current provisioning server is kept")
	}
	if host == "" && cur != "" && (protoOK || userOK || passOK) {
		host = cur
	}
	if host == "" {
		for _, v := range []struct {
			p  int
			ok bool
			v  value
		}{{pUpgradeProto, protoOK, proto}, {pHTTPUser, userOK, user}, {pHTTPPass, passOK, pass}} {
			if v.ok {
				r.d.Ignore(pname(v.p), v.v.line, "no provisioning server to apply it to")
			}
		}
	} else {
		// Keep what the current URL says where the file says nothing.
		curScheme, curUser, curPass := splitURL(cur)
		s, u, p := splitURL(host)
		rest := stripURL(host)
		if s == "" {
			s = scheme
		} else if protoOK && s != scheme {
			r.d.Ignore(pname(pUpgradeProto), proto.line, "the config server path names its own scheme")
		}
		s = firstOf(s, curScheme, "https")
		if userOK {
			u = user.v
		} else if u == "" {
			u = curUser
		}
		if passOK {
			p = pass.v
		} else if p == "" {
			p = curPass
		}
		url := s + "://"
		if u != "" {
			url += escapeUser(u)
			if p != "" {
				url += ":" + escapeUser(p)
			}
			url += "@"
		}
		url += rest
		if !strings.HasSuffix(url, "/") && !strings.Contains(rest, "?") && !looksLikeFile(rest) {
			url += "/"
		}
		param, line := pname(pConfigPath), path.line
		if !pathOK {
			param, line = pname(pUpgradeProto), proto.line
			if !protoOK {
				param, line = pname(pHTTPUser), user.line
				if !userOK {
					param, line = pname(pHTTPPass), pass.line
				}
			}
		}
		r.d.SetProvisioning("url", url, param, line)
	}
	check, checkOK := r.get(pAutoCheck)
	minutes, minOK := r.get(pCheckMinutes)
	if !checkOK {
		if minOK {
			r.d.Ignore(pname(pCheckMinutes), minutes.line, "applies with P194=3 only")
		}
		return
	}
	path2 := vendor.ProvisioningPath("interval")
	switch check.v {
	case "0":
		r.d.Ignore(pname(pAutoCheck), check.line, "0 (no automatic check): the provisioning interval is kept")
		if minOK {
			r.d.Ignore(pname(pCheckMinutes), minutes.line, "applies with P194=3 only")
		}
	case "1", "2":
		secs := map[string]int{"1": 86400, "2": 7 * 86400}[check.v]
		r.setInterval(secs, pname(pAutoCheck), check.line)
		if minOK {
			r.d.Ignore(pname(pCheckMinutes), minutes.line, "applies with P194=3 only")
		}
	case "3":
		if !minOK {
			r.setInterval(10080*60, pname(pAutoCheck), check.line)
			return
		}
		m, err := strconv.Atoi(minutes.v)
		if err != nil || m <= 0 {
			r.d.Refuse(pname(pCheckMinutes), path2, minutes.line, "%q is not a number of minutes", minutes.v)
			return
		}
		r.setInterval(m*60, pname(pAutoCheck)+","+pname(pCheckMinutes), minutes.line)
	default:
		r.d.Refuse(pname(pAutoCheck), path2, check.line, "%q is not 0 (no), 1 (daily), 2 (weekly) or 3 (every P193 minutes)", check.v)
	}
}

// setInterval sets the interval if there is (or will be) a provisioning element.
func (r *reader) setInterval(secs int, param string, line int) {
	r.d.SetProvisioning("interval", strconv.Itoa(secs), param, line)
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// splitURL returns the scheme and credentials of a URL or host/path.
func splitURL(s string) (scheme, user, pass string) {
	rest := s
	if i := strings.Index(rest, "://"); i > 0 {
		scheme, rest = strings.ToLower(rest[:i]), rest[i+3:]
	}
	host, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		user, pass, _ = strings.Cut(host[:at], ":")
		user, pass = unescape(user), unescape(pass)
	}
	return scheme, user, pass
}

// stripURL removes the scheme and credentials.
func stripURL(s string) string {
	if i := strings.Index(s, "://"); i > 0 {
		s = s[i+3:]
	}
	host, path, hasPath := strings.Cut(s, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		host = host[at+1:]
	}
	if hasPath {
		return host + "/" + path
	}
	return host
}

// looksLikeFile reports a path whose last element names a file.
func looksLikeFile(s string) bool {
	_, path, _ := strings.Cut(s, "/")
	last := path[strings.LastIndex(path, "/")+1:]
	return strings.HasSuffix(last, ".xml") || strings.HasSuffix(last, ".cfg")
}

func escapeUser(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
