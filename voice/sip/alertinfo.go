package sip

import (
	"strings"
)

// AlertInfo returns the Alert-Info header values of an incoming call's
// INVITE, joined with ", " ("" for an outgoing call or none).
func (c *Call) AlertInfo() string {
	if c.dss == nil || c.dss.InviteRequest == nil {
		return ""
	}
	hs := c.dss.InviteRequest.GetHeaders("Alert-Info")
	vs := make([]string, 0, len(hs))
	for _, h := range hs {
		vs = append(vs, h.Value())
	}
	return strings.Join(vs, ", ")
}

// RingPattern reads an Alert-Info header value (RFC 3261 20.1: a list of
// "<URI>;param" elements) and returns the Telcordia GR-506 distinctive
// ringing pattern it asks for, 1 to 5 (Bellcore-dr1 … dr5; 1 is normal
// ringing, 5 a ring splash), or 0 when it names none this gateway knows.
// The first element that names a pattern wins. Recognised, without regard
// to case:
//
//   - "Bellcore-drN" anywhere in the URI or in an info= parameter
//     (<http://127.0.0.1/Bellcore-dr2>, <Bellcore-dr2>, info=Bellcore-dr2:
//     the Asterisk, Polycom, Yealink, AudioCodes and Aastra spelling);
//   - RFC 7462 alert URNs: urn:alert:service:normal and
//     urn:alert:source:external give 1, urn:alert:source:internal 2,
//     urn:alert:priority:high 3;
//   - the info= names Asterisk and Polycom configurations use:
//     alert-external (1), alert-internal (2), alert-priority (3).
func RingPattern(alertInfo string) int {
	for _, el := range splitAlertInfo(alertInfo) {
		uri, params := el, ""
		if strings.HasPrefix(el, "<") {
			end := strings.IndexByte(el, '>')
			if end < 0 {
				continue
			}
			uri, params = el[1:end], el[end+1:]
		} else if i := strings.IndexByte(el, ';'); i >= 0 {
			uri, params = el[:i], el[i:]
		}
		if n := namedPattern(strings.ToLower(strings.TrimSpace(uri))); n > 0 {
			return n
		}
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "info") {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"`)
			if n := namedPattern(strings.ToLower(v)); n > 0 {
				return n
			}
		}
	}
	return 0
}

// splitAlertInfo splits a header value at the commas between elements,
// not those inside <...> or a quoted string.
func splitAlertInfo(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>' && depth > 0:
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	return append(out, strings.TrimSpace(v[start:]))
}

// alertNames maps the lower-case names RingPattern knows to patterns.
var alertNames = map[string]int{
	"urn:alert:service:normal":  1,
	"urn:alert:source:external": 1,
	"urn:alert:source:internal": 2,
	"urn:alert:priority:high":   3,
	"alert-external":            1,
	"alert-internal":            2,
	"alert-priority":            3,
}

// namedPattern returns the pattern a lower-case URI or info value names.
func namedPattern(s string) int {
	if n, ok := alertNames[s]; ok {
		return n
	}
	if i := strings.LastIndex(s, "bellcore-dr"); i >= 0 {
		rest := s[i+len("bellcore-dr"):]
		if len(rest) > 0 && rest[0] >= '1' && rest[0] <= '5' && (len(rest) == 1 || !isDigit(rest[1])) {
			return int(rest[0] - '0')
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
