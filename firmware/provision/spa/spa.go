// Package spa reads Cisco/Linksys SPA flat profiles (<flat-profile> XML,
// as SPA112/SPA122 take them) into the native configuration model.
//
// Elements are named after the device's web fields, line fields ending
// in _n_ (Proxy_1_, User_ID_2_); they may sit in nested groups such as
// <router-configuration><Time_Setup>. The last occurrence of an element
// wins. <X/> leaves a value unchanged, <X></X> empties it. Elements
// Loopstart has no setting for, and unknown ones, are listed as ignored
// with a reason (Map documents every one the FusionPBX SPA112 template
// writes). A value that cannot be used is refused with its element name
// and the native path, and nothing is applied.
package spa

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
const Format = "spa"

// RootElement is the root element of a flat profile.
const RootElement = "flat-profile"

// Options say what a file is converted against.
type Options struct {
	// Current is the configuration in force: a port keeps the account
	// it is bound to. Nil means line n uses account id "n".
	Current *config.Config
}

// value is one element read from the file.
type value struct {
	v    string
	line int
}

// lineField matches a per-line element: Proxy_1_ is ("Proxy", 1).
var lineField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)_([1-8])_$`) })

// reader is one conversion in progress.
type reader struct {
	d     *vendor.Doc
	lines map[int]map[string]value // line -> base name -> value
	glob  map[string]value
	used  map[string]bool // full element names
	cur   *config.Config
	// converted lists the lines whose values were applied.
	converted []int
}

// Convert reads a flat profile into a vendor.Doc, the partial native
// configuration it amounts to. A malformed file is an error and no Doc.
// Values that cannot be used are recorded in the Doc, and also returned
// as its *vendor.Error.
func Convert(data []byte, opts Options) (*vendor.Doc, error) {
	leaves, err := vendor.Leaves(data, RootElement)
	if err != nil {
		return nil, fmt.Errorf("spa profile: %w", err)
	}
	r := &reader{d: vendor.NewDoc(Format), lines: map[int]map[string]value{}, glob: map[string]value{}, used: map[string]bool{}, cur: opts.Current}
	var order []string
	seen := map[string]bool{}
	for _, l := range leaves {
		if l.SelfClosing {
			continue // <X/>: unchanged
		}
		if !seen[l.Name] {
			seen[l.Name] = true
			order = append(order, l.Name)
		}
		v := value{l.Value, l.Line}
		if m := lineField().FindStringSubmatch(l.Name); m != nil {
			n, _ := strconv.Atoi(m[2])
			if r.lines[n] == nil {
				r.lines[n] = map[string]value{}
			}
			r.lines[n][m[1]] = v
			continue
		}
		r.glob[l.Name] = v
	}
	lines := make([]int, 0, len(r.lines))
	for n := range r.lines {
		lines = append(lines, n)
	}
	slices.Sort(lines)
	for _, n := range lines {
		r.line(n)
	}
	ports := r.stunPorts(r.converted)
	for _, n := range ports {
		if !slices.Contains(r.converted, n) {
			r.keepAlive(n, r.accountOf(n)) // the global interval only
		}
	}
	r.stun(ports)
	r.provisioning()
	for _, name := range order {
		if r.used[name] {
			continue
		}
		var v value
		base := name
		if m := lineField().FindStringSubmatch(name); m != nil {
			n, _ := strconv.Atoi(m[2])
			v, base = r.lines[n][m[1]], m[1]+"_n_"
		} else {
			v = r.glob[name]
		}
		reason, ok := ignored[base]
		if !ok {
			reason, ok = unusedWhy[base]
		}
		if !ok {
			reason = "unknown element"
		}
		r.d.Ignore(name, v.line, reason)
	}
	return r.d, r.d.Err()
}

func (r *reader) getLine(n int, base string) (value, string, bool) {
	name := fmt.Sprintf("%s_%d_", base, n)
	v, ok := r.lines[n][base]
	if ok {
		r.used[name] = true
	}
	return v, name, ok
}

func (r *reader) getGlobal(name string) (value, bool) {
	v, ok := r.glob[name]
	if ok {
		r.used[name] = true
	}
	return v, ok
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

func (r *reader) onBoard(n int) bool {
	if r.cur == nil || len(r.cur.Ports) == 0 {
		return true
	}
	return slices.ContainsFunc(r.cur.Ports, func(p config.Port) bool { return p.N == n })
}

// yesNo parses an SPA boolean.
func yesNo(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "1", "true", "on":
		return true, true
	case "no", "0", "false", "off":
		return false, true
	}
	return false, false
}

// line converts line n's elements.
func (r *reader) line(n int) {
	if !r.onBoard(n) {
		for base := range r.lines[n] {
			name := fmt.Sprintf("%s_%d_", base, n)
			r.used[name] = true
			r.d.Ignore(name, r.lines[n][base].line, fmt.Sprintf("line %d is not on this gateway", n))
		}
		return
	}
	if v, name, ok := r.getLine(n, "Line_Enable"); ok {
		if on, valid := yesNo(v.v); valid && !on {
			for base, lv := range r.lines[n] {
				full := fmt.Sprintf("%s_%d_", base, n)
				if !r.used[full] {
					r.used[full] = true
					r.d.Ignore(full, lv.line, fmt.Sprintf("line %d is off (%s=No)", n, name))
				}
			}
			r.d.Ignore(name, v.line, fmt.Sprintf("line %d is off: its values are not applied", n))
			return
		}
		r.d.Ignore(name, v.line, "a line is on while a port uses its account")
	}
	acct := r.accountOf(n)
	setA := func(base, field string) {
		if v, name, ok := r.getLine(n, base); ok {
			r.d.SetAccount(acct, field, v.v, name, v.line)
		}
	}
	if v, name, ok := r.getLine(n, "Proxy"); ok {
		reg := v.v
		if reg != "" && !strings.HasPrefix(reg, "sip:") && !strings.HasPrefix(reg, "sips:") {
			reg = "sip:" + reg
		}
		r.d.SetAccount(acct, "registrar", reg, name, v.line)
	}
	setA("User_ID", "user")
	setA("Password", "password")
	setA("Display_Name", "display-name")
	auth, authName, authOK := r.getLine(n, "Auth_ID")
	use, useName, useOK := r.getLine(n, "Use_Auth_ID")
	switch {
	case useOK:
		on, valid := yesNo(use.v)
		if !valid {
			r.d.Refuse(useName, vendor.AccountPath(acct, "auth-user"), use.line, "%q: want Yes or No", use.v)
			break
		}
		if !on {
			r.d.SetAccount(acct, "auth-user", "", useName, use.line)
			if authOK {
				r.d.Ignore(authName, auth.line, useName+" is No")
			}
		} else if authOK {
			r.d.SetAccount(acct, "auth-user", auth.v, authName, auth.line)
		}
	case authOK:
		r.d.Ignore(authName, auth.line, "applies only with Use_Auth_ID_n_ Yes")
	}
	if v, name, ok := r.getLine(n, "Register_Expires"); ok {
		if _, err := strconv.Atoi(v.v); err != nil {
			r.d.Refuse(name, vendor.AccountPath(acct, "expires"), v.line, "%q is not a number of seconds", v.v)
		} else {
			r.d.SetAccount(acct, "expires", v.v, name, v.line)
		}
	}
	if v, name, ok := r.getLine(n, "SIP_Transport"); ok {
		switch t := strings.ToLower(v.v); t {
		case "udp", "tcp", "tls":
			r.d.SetAccount(acct, "transport", t, name, v.line)
		case "auto", "":
			r.d.SetAccount(acct, "transport", "", name, v.line)
		default:
			r.d.Refuse(name, vendor.AccountPath(acct, "transport"), v.line, "%q is not UDP, TCP, TLS or AUTO", v.v)
		}
	}
	r.outboundProxy(n, acct)
	r.keepAlive(n, acct)
	r.converted = append(r.converted, n)
	r.codecs(n, acct)
	if v, name, ok := r.getLine(n, "DTMF_Tx_Method"); ok {
		switch m := strings.ToLower(v.v); {
		case m == "info":
			r.d.SetPort(n, acct, "dtmf", "info", name, v.line)
		case slices.Contains([]string{"inband", "avt", "auto", "inband+info", "avt+info"}, m):
			r.d.SetPort(n, acct, "dtmf", "rfc4733", name, v.line)
		default:
			r.d.Refuse(name, vendor.PortPath(n, "dtmf"), v.line, "%q is not InBand, AVT, INFO or Auto", v.v)
		}
	}
	if v, name, ok := r.getLine(n, "Hook_Flash_Tx_Method"); ok {
		switch strings.ToLower(v.v) {
		case "none", "":
			r.d.SetPort(n, acct, "flash-relay", "", name, v.line)
		case "avt":
			r.d.SetPort(n, acct, "flash-relay", "rfc4733", name, v.line)
		case "info":
			r.d.SetPort(n, acct, "flash-relay", "info-hookflash", name, v.line)
		default:
			r.d.Refuse(name, vendor.PortPath(n, "flash-relay"), v.line, "%q is not None, AVT or INFO", v.v)
		}
	}
	if v, name, ok := r.getLine(n, "Dial_Plan"); ok {
		r.d.SetPort(n, acct, "dial-plan", v.v, name, v.line)
	}
	if v, name, ok := r.getLine(n, "Call_Waiting_Serv"); ok {
		if on, valid := yesNo(v.v); valid {
			r.d.SetPort(n, acct, "call-waiting", strconv.FormatBool(on), name, v.line)
		} else {
			r.d.Refuse(name, vendor.PortPath(n, "call-waiting"), v.line, "%q: want Yes or No", v.v)
		}
	}
	if v, name, ok := r.getLine(n, "Xfer_When_Hangup_Conf"); ok {
		if on, valid := yesNo(v.v); valid {
			r.d.SetPort(n, acct, "conference-transfer", strconv.FormatBool(on), name, v.line)
		} else {
			r.d.Refuse(name, vendor.PortPath(n, "conference-transfer"), v.line, "%q: want Yes or No", v.v)
		}
	}
	for _, f := range []struct{ base, field, yes, no string }{
		{"Three_Way_Call_Serv", "three-way", "true", "false"},
		{"Echo_Canc_Enable", "echo-canceller", "on", "off"},
	} {
		if v, name, ok := r.getLine(n, f.base); ok {
			on, valid := yesNo(v.v)
			switch {
			case !valid:
				r.d.Refuse(name, vendor.PortPath(n, f.field), v.line, "%q: want Yes or No", v.v)
			case on:
				r.d.SetPort(n, acct, f.field, f.yes, name, v.line)
			default:
				r.d.SetPort(n, acct, f.field, f.no, name, v.line)
			}
		}
	}
	if v, name, ok := r.getLine(n, "Mailbox_Subscribe_URL"); ok {
		if v.v == "" {
			r.d.SetAccount(acct, "mwi-subscribe", "false", name, v.line)
			r.d.SetAccount(acct, "mailbox", "", name, v.line)
		} else {
			mb := v.v
			if !strings.HasPrefix(mb, "sip:") && !strings.HasPrefix(mb, "sips:") {
				mb = "sip:" + mb
			}
			r.d.SetAccount(acct, "mwi-subscribe", "true", name, v.line)
			r.d.SetAccount(acct, "mailbox", mb, name, v.line)
		}
	}
}

// spaCodecs maps SPA codec names to native ones.
var spaCodecs = map[string]string{"g711u": "pcmu", "g711a": "pcma", "g722": "g722"}

// codecs builds the preference list: the preferred codecs Loopstart has,
// then (unless Use_Pref_Codec_Only_n_ is Yes) PCMU and PCMA.
func (r *reader) codecs(n int, acct string) {
	var list, sent []string
	line := 0
	for _, base := range []string{"Preferred_Codec", "Second_Preferred_Codec", "Third_Preferred_Codec"} {
		v, name, ok := r.getLine(n, base)
		if !ok {
			continue
		}
		if line == 0 {
			line = v.line
		}
		sent = append(sent, name)
		switch c, known := spaCodecs[strings.ToLower(v.v)]; {
		case known && !slices.Contains(list, c):
			list = append(list, c)
		case known, strings.EqualFold(v.v, "unspecified"), v.v == "":
		default:
			if !slices.Contains([]string{"g729a", "g726-32", "g726-16", "g726-24", "g726-40", "g723"}, strings.ToLower(v.v)) {
				r.d.Refuse(name, vendor.AccountPath(acct, "codecs"), v.line, "%q is not a codec name (G711u, G711a, G729a, G726-32 ...)", v.v)
				return
			}
		}
	}
	only := false
	if v, name, ok := r.getLine(n, "Use_Pref_Codec_Only"); ok {
		on, valid := yesNo(v.v)
		if !valid {
			r.d.Refuse(name, vendor.AccountPath(acct, "codecs"), v.line, "%q: want Yes or No", v.v)
			return
		}
		only = on
		sent = append(sent, name)
		if line == 0 {
			line = v.line
		}
	}
	if len(sent) == 0 {
		return
	}
	if !only {
		for _, c := range []string{"pcmu", "pcma"} {
			if !slices.Contains(list, c) {
				list = append(list, c)
			}
		}
	}
	if len(list) == 0 {
		r.d.Refuse(sent[0], vendor.AccountPath(acct, "codecs"), line, "no preferred codec is G711u, G711a or G722")
		return
	}
	r.d.SetAccount(acct, "codecs", strings.Join(list, ","), strings.Join(sent, ","), line)
}

// provisioning reads Profile_Rule and Resync_Periodic.
func (r *reader) provisioning() {
	if v, ok := r.getGlobal("Profile_Rule"); ok {
		u, err := ProfileRule(v.v)
		switch {
		case err != nil:
			r.d.Refuse("Profile_Rule", vendor.ProvisioningPath("url"), v.line, "%v", err)
		case u == "":
			r.d.Ignore("Profile_Rule", v.line, "empty: the current provisioning server is kept")
		default:
			r.d.SetProvisioning("url", u, "Profile_Rule", v.line)
		}
	}
	if v, ok := r.getGlobal("Resync_Periodic"); ok {
		secs, err := strconv.Atoi(v.v)
		switch {
		case err != nil || secs < 0:
			r.d.Refuse("Resync_Periodic", vendor.ProvisioningPath("interval"), v.line, "%q is not a number of seconds", v.v)
		case secs == 0:
			r.d.Ignore("Resync_Periodic", v.line, "0 (never): the provisioning interval is kept")
		default:
			r.d.SetProvisioning("interval", v.v, "Resync_Periodic", v.line)
		}
	}
}

// ProfileRule turns an SPA profile rule into a provisioning URL:
// "[--uid u --pwd p]http://host/path?mac=$MA" becomes
// "http://u:p@host/path?mac=$MAC". $MA (the MAC, lowercase hex) becomes
// $MAC, $PN and $PSN (product name and series) become $MODEL; a rule
// without a scheme is TFTP, as on the device. Of |-separated
// alternatives the first without a (condition)? prefix is taken. Options
// other than --uid and --pwd (such as --key) are refused. An empty rule
// gives "".
func ProfileRule(rule string) (string, error) {
	rule = strings.TrimSpace(rule)
	if rule == "" {
		return "", nil
	}
	var alt string
	for _, a := range splitAlternatives(rule) {
		a = strings.TrimSpace(a)
		if strings.HasPrefix(a, "(") {
			continue
		}
		alt = a
		break
	}
	if alt == "" {
		return "", fmt.Errorf("%q: every alternative has a condition; one without is needed", rule)
	}
	user, pass := "", ""
	if strings.HasPrefix(alt, "[") {
		end := strings.IndexByte(alt, ']')
		if end < 0 {
			return "", fmt.Errorf("%q: [ without ]", rule)
		}
		opts := strings.Fields(alt[1:end])
		alt = strings.TrimSpace(alt[end+1:])
		for i := 0; i < len(opts); i++ {
			switch opts[i] {
			case "--uid", "--pwd":
				if i+1 >= len(opts) {
					return "", fmt.Errorf("%q: %s needs a value", rule, opts[i])
				}
				if opts[i] == "--uid" {
					user = opts[i+1]
				} else {
					pass = opts[i+1]
				}
				i++
			default:
				return "", fmt.Errorf("%q: option %s is not supported (only --uid and --pwd)", rule, opts[i])
			}
		}
	}
	if alt == "" {
		return "", fmt.Errorf("%q: no URL after the options", rule)
	}
	scheme, rest := "tftp", alt
	if i := strings.Index(alt, "://"); i > 0 {
		scheme, rest = strings.ToLower(alt[:i]), alt[i+3:]
	}
	switch scheme {
	case "tftp", "http", "https":
	default:
		return "", fmt.Errorf("%q: scheme %s is not tftp, http or https", rule, scheme)
	}
	rest = strings.NewReplacer("$MAU", "$MAC", "$MA", "$MAC", "$PSN", "$MODEL", "$PN", "$MODEL").Replace(rest)
	if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(rest, "$MAC", ""), "$MODEL", ""), "$") {
		return "", fmt.Errorf("%q: only the $MA, $PN and $PSN macros are supported", rule)
	}
	u := scheme + "://"
	if user != "" {
		u += escape(user)
		if pass != "" {
			u += ":" + escape(pass)
		}
		u += "@"
	}
	return u + rest, nil
}

// splitAlternatives splits a rule at the | outside [] and ().
func splitAlternatives(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case '|':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func escape(s string) string {
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
