package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/loopstart/loopstart/voice/dialplan"
)

// Validate checks the configuration's meaning: account ids present and
// unique, users present and well formed, registrar URIs, numeric ranges,
// enumerated values, codec lists, port numbers 1..MaxPorts and unique,
// port accounts defined and not shared, dial plans, extensions and the
// provisioning URL. Empty optional fields are valid (they mean the
// default). It returns a *ValidationError listing every problem, or nil.
func (c *Config) Validate() error {
	return c.render(c.check())
}

func (c *Config) check() []problem {
	m := &mapper{}
	c.checkAccounts(m)
	c.checkPorts(m)
	if c.SIP != nil {
		if msg := checkText(c.SIP.UserAgent, 128); msg != "" {
			m.add(sectSIP, 0, "user-agent", "user-agent", 0, "%s", msg)
		}
		for _, f := range []struct{ name, v string }{
			{"direct-calls", c.SIP.DirectCalls}, {"ignore-strangers", c.SIP.IgnoreStrangers},
		} {
			switch f.v {
			case "", "true", "false":
			default:
				m.add(sectSIP, 0, f.name, f.name, 0, "%q: want true or false", f.v)
			}
		}
		if c.SIP.DNS != "" {
			if msg := checkDNSServer(c.SIP.DNS); msg != "" {
				m.add(sectSIP, 0, "dns", "dns", 0, "%s", msg)
			}
		}
	}
	if p := c.Provisioning; p != nil {
		// The URL may be left out when the element only says how
		// DHCP-supplied servers and encrypted profiles are handled.
		dhcpOnly := p.URL == "" && (p.AllowDHCP != "" || p.AllowInsecure != "" || p.ProfileKey != "" || p.RequireSignature != "")
		if msg := checkProvisioningURL(p.URL); msg != "" && !dhcpOnly {
			m.add(sectProvisioning, 0, "url", "url", 0, "%s", msg)
		}
		for _, f := range []struct{ name, v string }{{"allow-dhcp", p.AllowDHCP}, {"allow-insecure", p.AllowInsecure}, {"require-signature", p.RequireSignature}} {
			switch f.v {
			case "", "true", "false":
			default:
				m.add(sectProvisioning, 0, f.name, f.name, 0, "%q: want true or false", f.v)
			}
		}
		if p.Interval != 0 && (p.Interval < MinProvisioningInterval || p.Interval > MaxProvisioningInterval) {
			m.add(sectProvisioning, 0, "interval", "interval", 0, "%d is out of range %d..%d seconds",
				p.Interval, MinProvisioningInterval, MaxProvisioningInterval)
		}
	}
	if f := c.Firmware; f != nil {
		if msg := checkProvisioningURL(f.URL); msg != "" {
			m.add(sectFirmware, 0, "url", "url", 0, "%s", msg)
		}
		switch f.AllowDowngrade {
		case "", "true", "false":
		default:
			m.add(sectFirmware, 0, "allow-downgrade", "allow-downgrade", 0, "%q: want true or false", f.AllowDowngrade)
		}
	}
	return m.ps
}

func (c *Config) checkAccounts(m *mapper) {
	firstByID := map[string]int{}
	for i, a := range c.Accounts {
		switch j, dup := firstByID[a.ID]; {
		case a.ID == "":
			m.add(sectAccount, i, "", "@id", 0, "id attribute missing")
		case dup:
			m.add(sectAccount, i, "", "@id", 0, "duplicate id %q (account[%d] has it too)", a.ID, j+1)
		default:
			firstByID[a.ID] = i
			if msg := checkToken(a.ID, 32); msg != "" {
				m.add(sectAccount, i, "", "@id", 0, "id %s", msg)
			}
		}
		if a.User == "" {
			m.add(sectAccount, i, "user", "user", 0, "missing")
		} else if msg := checkSIPUser(a.User); msg != "" {
			m.add(sectAccount, i, "user", "user", 0, "%s", msg)
		}
		if a.AuthUser != "" {
			if msg := checkSIPUser(a.AuthUser); msg != "" {
				m.add(sectAccount, i, "auth-user", "auth-user", 0, "%s", msg)
			}
		}
		var reg Registrar
		regOK := false
		if a.Registrar != "" {
			r, err := ParseRegistrar(a.Registrar)
			if err != nil {
				m.add(sectAccount, i, "registrar", "registrar", 0, "%v", err)
			} else {
				reg, regOK = r, true
			}
			if a.Password == "" {
				m.add(sectAccount, i, "password", "password", 0, "missing (an account with a registrar needs one)")
			}
		}
		if msg := checkText(a.Password, 128); msg != "" {
			m.add(sectAccount, i, "password", "password", 0, "%s", msg)
		}
		if msg := checkText(a.DisplayName, 64); msg != "" {
			m.add(sectAccount, i, "display-name", "display-name", 0, "%s", msg)
		}
		if a.Expires != 0 && (a.Expires < MinExpires || a.Expires > MaxExpires) {
			m.add(sectAccount, i, "expires", "expires", 0, "%d is out of range %d..%d seconds", a.Expires, MinExpires, MaxExpires)
		}
		transport := a.Transport
		if a.Transport != "" {
			if msg := checkEnum(a.Transport, transports); msg != "" {
				m.add(sectAccount, i, "transport", "transport", 0, "%s", msg)
			} else if regOK {
				switch {
				case reg.Scheme == "sips" && a.Transport != "tls":
					m.add(sectAccount, i, "transport", "transport", 0, "%q conflicts with the sips: registrar, which needs tls", a.Transport)
				case reg.Transport != "" && reg.Transport != a.Transport:
					m.add(sectAccount, i, "transport", "transport", 0, "%q conflicts with the registrar's ;transport=%s", a.Transport, reg.Transport)
				}
			}
		} else if regOK && reg.Transport != "" {
			transport = reg.Transport
		}
		if a.CAFile != "" {
			if transport != "tls" {
				m.add(sectAccount, i, "ca-file", "ca-file", 0, "only applies to transport tls")
			} else if msg := checkText(a.CAFile, 4096); msg != "" {
				m.add(sectAccount, i, "ca-file", "ca-file", 0, "%s", msg)
			}
		}
		if a.SRTP != "" {
			if msg := checkEnum(a.SRTP, srtpModes); msg != "" {
				m.add(sectAccount, i, "srtp", "srtp", 0, "%s", msg)
			}
		}
		if a.Codecs != "" {
			if _, err := ParseCodecs(a.Codecs); err != nil {
				m.add(sectAccount, i, "codecs", "codecs", 0, "%v", err)
			}
		}
		switch a.MWISubscribe {
		case "", "false":
		case "true":
			if a.Registrar == "" {
				m.add(sectAccount, i, "mwi-subscribe", "mwi-subscribe", 0, "needs a registrar to subscribe at")
			}
		default:
			m.add(sectAccount, i, "mwi-subscribe", "mwi-subscribe", 0, "%q: want true or false", a.MWISubscribe)
		}
		if a.Mailbox != "" {
			if msg := checkMailbox(a.Mailbox); msg != "" {
				m.add(sectAccount, i, "mailbox", "mailbox", 0, "%s", msg)
			}
		}
		checkNAT(m, i, &a)
	}
}

func (c *Config) checkPorts(m *mapper) {
	firstByN := map[int]int{}
	portByAccount := map[string]int{}
	portByExt := map[string]int{}
	for i, p := range c.Ports {
		switch j, dup := firstByN[p.N]; {
		case p.N == 0:
			m.add(sectPort, i, "", "@n", 0, "n attribute missing (the port number, 1..%d)", MaxPorts)
		case p.N < 1 || p.N > MaxPorts:
			m.add(sectPort, i, "", "@n", 0, "n %d is out of range 1..%d", p.N, MaxPorts)
		case dup:
			m.add(sectPort, i, "", "@n", 0, "duplicate port n=%d (port[%d] has it too)", p.N, j+1)
		default:
			firstByN[p.N] = i
		}
		switch j, shared := portByAccount[p.Account]; {
		case p.Account == "":
			m.add(sectPort, i, "", "@account", 0, "account attribute missing")
		case c.Account(p.Account) == nil:
			m.add(sectPort, i, "", "@account", 0, "account %q is not defined", p.Account)
		case shared:
			m.add(sectPort, i, "", "@account", 0, "account %q is already used by %s", p.Account, c.path(sectPort, j, "")[len("loopstart/"):])
		default:
			portByAccount[p.Account] = i
		}
		if p.Country != "" {
			if msg := checkEnum(p.Country, countries); msg != "" {
				m.add(sectPort, i, "country", "country", 0, "%s", msg)
			}
		}
		if p.CallerID != "" {
			if msg := checkEnum(p.CallerID, callerIDModes); msg != "" {
				m.add(sectPort, i, "caller-id", "caller-id", 0, "%s", msg)
			}
		}
		if _, _, err := p.FlashWindow(); err != nil {
			m.add(sectPort, i, "flash", "flash", 0, "%v", err)
		}
		for _, b := range []struct{ name, v string }{
			{"call-waiting", p.CallWaiting}, {"three-way", p.ThreeWay}, {"conference-transfer", p.ConferenceTransfer},
		} {
			if msg := checkEnum(b.v, []string{"", "true", "false"}); msg != "" {
				m.add(sectPort, i, b.name, b.name, 0, "%s", msg)
			}
		}
		if p.EchoCanceller != "" {
			if msg := checkEnum(p.EchoCanceller, onOff); msg != "" {
				m.add(sectPort, i, "echo-canceller", "echo-canceller", 0, "%s", msg)
			}
		}
		if p.EchoTail != 0 && (p.EchoTail < MinEchoTail || p.EchoTail > MaxEchoTail) {
			m.add(sectPort, i, "echo-tail", "echo-tail", 0, "%d ms is out of range %d..%d", p.EchoTail, MinEchoTail, MaxEchoTail)
		}
		if p.Fax != "" {
			if msg := checkEnum(p.Fax, faxModes); msg != "" {
				m.add(sectPort, i, "fax", "fax", 0, "%s", msg)
			}
		}
		if p.DialPlan != "" {
			if err := CheckDialPlan(p.DialPlan); err != nil {
				m.add(sectPort, i, "dial-plan", "dial-plan", 0, "%v", err)
			}
		}
		if err := CheckStarCodes(p.StarCodes); err != nil {
			m.add(sectPort, i, "star-codes", "star-codes", 0, "%v", err)
		}
		if p.FlashRelay != "" {
			if msg := checkEnum(p.FlashRelay, flashRelayModes); msg != "" {
				m.add(sectPort, i, "flash-relay", "flash-relay", 0, "%s", msg)
			}
		}
		if p.DTMF != "" {
			if msg := checkEnum(p.DTMF, dtmfModes); msg != "" {
				m.add(sectPort, i, "dtmf", "dtmf", 0, "%s", msg)
			}
		}
		if p.LocalFeatures != "" && p.LocalFeatures != "true" && p.LocalFeatures != "false" {
			m.add(sectPort, i, "local-features", "local-features", 0, "%q is not true or false", p.LocalFeatures)
		}
		if p.Hotline != "" {
			if msg := checkSIPUser(p.Hotline); msg != "" {
				m.add(sectPort, i, "hotline", "hotline", 0, "%s", msg)
			}
		}
		if p.HotlineDelay < 0 || p.HotlineDelay > 60 {
			m.add(sectPort, i, "hotline-delay", "hotline-delay", 0, "%d is not between 0 and 60 seconds", p.HotlineDelay)
		}
		checkFXO(m, i, p)
		checkGains(m, i, p)
		if p.Extension != "" {
			if msg := checkExtension(p.Extension); msg != "" {
				m.add(sectPort, i, "extension", "extension", 0, "%s", msg)
			} else if j, dup := portByExt[p.Extension]; dup {
				m.add(sectPort, i, "extension", "extension", 0, "%q is already the extension of %s", p.Extension, c.path(sectPort, j, "")[len("loopstart/"):])
			} else {
				portByExt[p.Extension] = i
			}
		}
	}
}

func checkEnum(v string, allowed []string) string {
	if slices.Contains(allowed, v) {
		return ""
	}
	return fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// checkText rejects control characters and overlong values.
func checkText(v string, max int) string {
	if len(v) > max {
		return fmt.Sprintf("longer than %d bytes", max)
	}
	for _, r := range v {
		if r == unicode.ReplacementChar || unicode.IsControl(r) {
			return "contains a control or invalid character"
		}
	}
	return ""
}

// checkToken accepts letters, digits and . _ : -.
func checkToken(v string, max int) string {
	if len(v) > max {
		return fmt.Sprintf("is longer than %d characters", max)
	}
	if !simpleID().MatchString(v) {
		return fmt.Sprintf("%q may only hold letters, digits and . _ : -", v)
	}
	return ""
}

// checkSIPUser accepts the characters RFC 3261 allows unescaped in a user part.
func checkSIPUser(v string) string {
	if len(v) > 64 {
		return "longer than 64 characters"
	}
	for _, r := range v {
		ok := r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.!~*'()&=+$,;?/", r))
		if !ok {
			return fmt.Sprintf("%q has a character not allowed in a SIP user: %q", v, r)
		}
	}
	return ""
}

// checkMailbox checks a mailbox URI: sip: or sips:, an optional user,
// then a host, port and parameters as a registrar has them.
func checkMailbox(v string) string {
	if len(v) > 256 {
		return "longer than 256 characters"
	}
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok || (scheme != "sip" && scheme != "sips") {
		return fmt.Sprintf("%q must start with \"sip:\" or \"sips:\"", v)
	}
	if user, host, ok := strings.Cut(rest, "@"); ok {
		if user == "" {
			return fmt.Sprintf("%q: empty user before @", v)
		}
		if msg := checkSIPUser(user); msg != "" {
			return msg
		}
		rest = host
	}
	if _, err := ParseRegistrar(scheme + ":" + rest); err != nil {
		return err.Error()
	}
	return ""
}

func checkExtension(v string) string {
	if len(v) > 15 {
		return "longer than 15 digits"
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r == '*' || r == '#') {
			return fmt.Sprintf("%q may only hold digits, * and #", v)
		}
	}
	return ""
}

func checkProvisioningURL(v string) string {
	if v == "" {
		return "missing"
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Sprintf("%q is not a URL", v)
	}
	switch u.Scheme {
	case "tftp", "http", "https":
	default:
		return fmt.Sprintf("%q: scheme must be tftp, http or https", v)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Sprintf("%q has no host", v)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q: port must be 1..65535", v)
		}
	}
	return ""
}

// Registrar is a parsed registrar URI.
type Registrar struct {
	// Scheme is "sip" or "sips".
	Scheme string
	// Host is a host name or IP address (IPv6 without brackets).
	Host string
	// Port is the port, 0 when the URI gives none.
	Port int
	// Transport is the ;transport= parameter, or "tls" for sips:, or "".
	Transport string
}

// HostPort is Host and Port joined for dialing; the port defaults to 5060
// (5061 for tls).
func (r Registrar) HostPort() string {
	p := r.Port
	if p == 0 {
		p = 5060
		if r.Transport == "tls" {
			p = 5061
		}
	}
	return net.JoinHostPort(r.Host, strconv.Itoa(p))
}

// ParseRegistrar parses sip:host[:port][;transport=udp|tcp|tls] or
// sips:host[:port]. A user part is refused: it belongs in <user>.
func ParseRegistrar(s string) (Registrar, error) {
	var r Registrar
	rest, ok := strings.CutPrefix(s, "sip:")
	r.Scheme = "sip"
	if !ok {
		if rest, ok = strings.CutPrefix(s, "sips:"); !ok {
			return r, fmt.Errorf("%q must start with \"sip:\" or \"sips:\"", s)
		}
		r.Scheme = "sips"
		r.Transport = "tls"
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if strings.Contains(hostport, "@") {
		return r, fmt.Errorf("%q: give only the registrar's host, the user goes in <user>", s)
	}
	if hostport == "" {
		return r, fmt.Errorf("%q has no host", s)
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.Index(hostport, "]")
		if end < 0 {
			return r, fmt.Errorf("%q: unclosed [ in IPv6 address", s)
		}
		host, port = hostport[1:end], hostport[end+1:]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return r, fmt.Errorf("%q: %q is not an IPv6 address", s, host)
		}
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return r, fmt.Errorf("%q: unexpected %q after the address", s, port)
			}
			port = p
		}
	} else {
		if h, p, ok := strings.Cut(hostport, ":"); ok {
			host, port = h, p
		}
		if !validHost(host) {
			return r, fmt.Errorf("%q: %q is not a host name or IP address", s, host)
		}
	}
	if port != "" || strings.HasSuffix(hostport, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return r, fmt.Errorf("%q: port %q must be 1..65535", s, port)
		}
		r.Port = n
	}
	r.Host = host
	if params != "" {
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(p, "=")
			if !strings.EqualFold(k, "transport") {
				return r, fmt.Errorf("%q: unsupported parameter %q (only ;transport= is allowed)", s, p)
			}
			v = strings.ToLower(v)
			if !slices.Contains(transports, v) {
				return r, fmt.Errorf("%q: transport %q is not one of %s", s, v, strings.Join(transports, ", "))
			}
			if r.Scheme == "sips" && v != "tls" {
				return r, fmt.Errorf("%q: sips: needs transport tls", s)
			}
			r.Transport = v
		}
	}
	return r, nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// ParseCodecs splits a codec preference list such as "g722, pcmu" into
// names, refusing unknown and repeated codecs.
func ParseCodecs(s string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(s, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			return nil, fmt.Errorf("%q has an empty entry", s)
		}
		if !slices.Contains(codecNames, c) {
			return nil, fmt.Errorf("%q is not one of %s", c, strings.Join(codecNames, ", "))
		}
		if slices.Contains(out, c) {
			return nil, fmt.Errorf("%q is listed twice", c)
		}
		out = append(out, c)
	}
	return out, nil
}

// CodecList is the account's codec preference, DefaultCodecs if unset.
func (a Account) CodecList() []string {
	s := a.Codecs
	if s == "" {
		s = DefaultCodecs
	}
	l, err := ParseCodecs(s)
	if err != nil {
		l, _ = ParseCodecs(DefaultCodecs)
	}
	return l
}

// CheckDialPlan checks the syntax of a dial plan (package dialplan): an
// MGCP digit map such as "(1xx|[2-9]x.)", a Cisco SPA plan with <a:b>
// substitutions, '!' bars and S/L/P timers, or a Grandstream plan in
// braces such as "{x+|<=1617>[2-9]xxxxxx}".
func CheckDialPlan(s string) error {
	if len(s) > maxDialPlanLen {
		return fmt.Errorf("longer than %d characters", maxDialPlanLen)
	}
	if _, err := dialplan.Parse(s); err != nil {
		var de *dialplan.Error
		if errors.As(err, &de) {
			return fmt.Errorf("%q: column %d: %s", s, de.Pos+1, de.Msg)
		}
		return err
	}
	return nil
}

// maxDialPlanLen bounds a port's dial plan.
const maxDialPlanLen = 1024

// CheckStarCodes checks a port's star-code overrides: comma separated
// name=code pairs, names from StarCodeNames, codes of '*', '#' and digits
// (empty to turn a code off).
func CheckStarCodes(s string) error {
	if s == "" {
		return nil
	}
	for _, kv := range strings.Split(s, ",") {
		name, code, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return fmt.Errorf("%q is not name=code", kv)
		}
		if !slices.Contains(StarCodeNames, name) {
			return fmt.Errorf("unknown star code %q (use %s)", name, strings.Join(StarCodeNames, ", "))
		}
		if len(code) > 8 {
			return fmt.Errorf("star code %q is longer than 8 keys", code)
		}
		for i := 0; i < len(code); i++ {
			if c := code[i]; c != '*' && c != '#' && (c < '0' || c > '9') {
				return fmt.Errorf("star code %q may only hold digits, * and #", code)
			}
		}
	}
	return nil
}

// StarCodeNames are the feature codes a port's star-codes may set.
var StarCodeNames = []string{"cfa-on", "cfa-off", "cfb-on", "cfb-off", "cfna-on", "cfna-off",
	"dnd-on", "dnd-off", "acr-on", "acr-off", "block-cid", "cw-off"}

// Flash relay modes (Port.FlashRelay).
var flashRelayModes = []string{"rfc4733", "info-hookflash", "info-dtmf"}

// DTMF modes (Port.DTMF).
var dtmfModes = []string{"rfc4733", "info"}

// checkFXO checks a port's FXO trunk settings.
func checkFXO(m *mapper, i int, p Port) {
	intIn := func(name, v string, lo, hi int) {
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			m.add(sectPort, i, name, name, 0, "%q is not a whole number in %d..%d", v, lo, hi)
		}
	}
	intIn("answer-rings", p.AnswerRings, 1, 20)
	intIn("silence-timeout", p.SilenceTimeout, 1, 3600)
	intIn("pstn-strip", p.PSTNStrip, 0, 20)
	if p.AnswerRule != "" {
		if msg := checkEnum(p.AnswerRule, []string{"polarity", "immediate"}); msg != "" {
			m.add(sectPort, i, "answer-rule", "answer-rule", 0, "%s", msg)
		}
	}
	if p.DialTone != "" {
		if msg := checkEnum(p.DialTone, []string{"detect", "blind"}); msg != "" {
			m.add(sectPort, i, "dial-tone", "dial-tone", 0, "%s", msg)
		}
	}
	if p.PSTNPrefix != "" && strings.Trim(p.PSTNPrefix, "0123456789*#") != "" {
		m.add(sectPort, i, "pstn-prefix", "pstn-prefix", 0, "%q: want digits, * and # only", p.PSTNPrefix)
	}
	intIn("hunt-timeout", p.HuntTimeout, 5, 300)
	if p.PSTNTo != "" {
		// One target, or a hunt list of them separated by commas.
		for t := range strings.SplitSeq(p.PSTNTo, ",") {
			t = strings.TrimSpace(t)
			low := strings.ToLower(t)
			if t == "" || strings.ContainsAny(t, " \t<>\"") || (strings.Contains(t, "@") && !strings.HasPrefix(low, "sip:")) ||
				(strings.HasPrefix(low, "sip:") && len(t) == 4) {
				m.add(sectPort, i, "pstn-to", "pstn-to", 0, "%q: want an extension, a number or a sip: URI", t)
				break
			}
		}
	}
}
