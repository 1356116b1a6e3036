package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// maxIdentityNumber and maxIdentityName bound what CallerIdentity keeps: a
// caller-ID number is at most 20 digits, a name at most 50 characters
// (the line shortens both further for its standard).
const (
	maxIdentityNumber = 20
	maxIdentityName   = 50
)

// CallerIdentity is who an incoming call is from, as the phone's caller ID
// shows it.
type CallerIdentity struct {
	// Number is the caller's number: the digits of the identity's user
	// part (a leading + and visual separators dropped); "" when there is
	// none or the caller withheld it.
	Number string
	// Name is the caller's display name; "" when absent or withheld.
	Name string
	// Private is set when the caller withheld the identity (Privacy: id
	// or header, an anonymous identity, RPID privacy=full).
	Private bool
	// Unavailable is set when the request carries no usable number and
	// the caller did not withhold it (the "out of area" case).
	Unavailable bool
}

// Caller returns the identity of an incoming call's caller (zero for an
// outgoing call).
func (c *Call) Caller() CallerIdentity { return c.caller }

// callerIdentity reads an incoming INVITE's caller: P-Asserted-Identity,
// else Remote-Party-ID, else From, with Privacy applied.
func callerIdentity(req *sipmsg.Request) CallerIdentity {
	var privacy []string
	for _, h := range req.GetHeaders("Privacy") {
		privacy = append(privacy, h.Value())
	}
	src := ""
	rpid := false
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		src = h.Value()
	} else if h := req.GetHeader("Remote-Party-ID"); h != nil {
		src, rpid = h.Value(), true
	} else if h := req.GetHeader("From"); h != nil {
		src = h.Value()
	}
	return identityFrom(src, rpid, strings.Join(privacy, ";"))
}

// identityFrom makes the caller identity from one identity header value
// (a name-addr, or the first of a list), whether it is a Remote-Party-ID
// (whose privacy parameter counts) and the Privacy header values.
func identityFrom(value string, rpid bool, privacy string) CallerIdentity {
	display, uri, params := parseNameAddr(value)
	var id CallerIdentity
	if privacyWithholds(privacy) {
		id.Private = true
	}
	if rpid {
		if p, ok := headerParam(params, "privacy"); ok {
			switch strings.ToLower(p) {
			case "full", "uri", "name":
				id.Private = true
			}
		}
	}
	user, host := uriUserHost(uri)
	if strings.EqualFold(user, "anonymous") || strings.EqualFold(host, "anonymous.invalid") ||
		strings.EqualFold(display, "anonymous") {
		id.Private = true
	}
	if id.Private {
		return CallerIdentity{Private: true}
	}
	id.Number = dialableNumber(user)
	id.Name = cleanName(display)
	if id.Number == "" {
		id.Unavailable = true
	}
	return id
}

// privacyWithholds reports whether Privacy header values (RFC 3323, 3325)
// ask to withhold the caller's identity: id, header or user.
func privacyWithholds(v string) bool {
	for _, tok := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' }) {
		switch strings.ToLower(tok) {
		case "id", "header", "user":
			return true
		}
	}
	return false
}

// parseNameAddr splits `"Display" <uri>;params` or `uri;params` (the first
// entry of a comma-separated list) into the display name (unquoted and
// unescaped), the URI and the header parameters after it.
func parseNameAddr(s string) (display, uri, params string) {
	s = strings.TrimSpace(s)
	rest := s
	if strings.HasPrefix(rest, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(rest); i++ {
			c := rest[i]
			if c == '\\' && i+1 < len(rest) {
				i++
				b.WriteByte(rest[i])
				continue
			}
			if c == '"' {
				break
			}
			b.WriteByte(c)
		}
		display = b.String()
		if i >= len(rest) {
			return display, "", ""
		}
		rest = rest[i+1:]
	}
	if lt := strings.IndexByte(rest, '<'); lt >= 0 {
		if display == "" {
			display = strings.TrimSpace(rest[:lt])
		}
		gt := strings.IndexByte(rest[lt:], '>')
		if gt < 0 {
			return display, strings.TrimSpace(rest[lt+1:]), ""
		}
		uri = rest[lt+1 : lt+gt]
		params = rest[lt+gt+1:]
		if c := strings.IndexByte(params, ','); c >= 0 {
			params = params[:c]
		}
		return display, strings.TrimSpace(uri), strings.TrimSpace(params)
	}
	// addr-spec: parameters after the URI are header parameters.
	rest = strings.TrimSpace(rest)
	if c := strings.IndexByte(rest, ','); c >= 0 {
		rest = rest[:c]
	}
	if semi := strings.IndexByte(rest, ';'); semi >= 0 {
		return display, strings.TrimSpace(rest[:semi]), rest[semi:]
	}
	return display, rest, ""
}

// headerParam finds parameter name in ";a=b;c=d" (case-insensitive name;
// quotes around the value removed).
func headerParam(params, name string) (string, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Trim(strings.TrimSpace(v), `"`), true
		}
	}
	return "", false
}

// uriUserHost returns the user and host of a sip:, sips: or tel: URI (a
// tel: URI's number is its user; URI parameters and headers dropped).
func uriUserHost(uri string) (user, host string) {
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return "", ""
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			user, host = rest[:at], rest[at+1:]
			if c := strings.IndexByte(user, ':'); c >= 0 {
				user = user[:c] // user:password
			}
			if c := strings.IndexByte(user, ';'); c >= 0 {
				user = user[:c] // user parameters
			}
		} else {
			host = rest
		}
		if c := strings.IndexAny(host, ";?"); c >= 0 {
			host = host[:c]
		}
		if c := strings.LastIndexByte(host, ':'); c >= 0 && !strings.HasSuffix(host, "]") {
			host = host[:c]
		}
	case "tel":
		user = rest
		if c := strings.IndexAny(user, ";?"); c >= 0 {
			user = user[:c]
		}
	}
	return unescapeURI(user), host
}

// unescapeURI decodes %XX escapes; a malformed escape is kept as is.
func unescapeURI(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// dialableNumber returns user's digits when it is a telephone number: an
// optional leading +, then digits with visual separators (- . ( ) and
// space); "" for anything else or more than maxIdentityNumber digits.
func dialableNumber(user string) string {
	user = strings.TrimPrefix(user, "+")
	var b [maxIdentityNumber]byte
	n := 0
	for i := range len(user) {
		c := user[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(b) {
				return ""
			}
			b[n] = c
			n++
		case c == '-' || c == '.' || c == '(' || c == ')' || c == ' ':
		default:
			return ""
		}
	}
	return string(b[:n])
}

// cleanName keeps a display name's printable ASCII (caller-ID alphabets are
// ASCII), trimmed and shortened to maxIdentityName.
func cleanName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7F {
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if len(out) > maxIdentityName {
		out = strings.TrimSpace(out[:maxIdentityName])
	}
	return out
}
