package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
)

// The SIP extensions we implement besides RFC 3261 itself, by option tag:
// reliable provisional responses (RFC 3262, prack.go), session timers
// (RFC 4028, sessiontimer.go) and Replaces (RFC 3891, refer.go).
const (
	tag100rel   = "100rel"
	tagTimer    = "timer"
	tagReplaces = "replaces"
)

// supportedTags is our Supported header's value.
const supportedTags = tag100rel + ", " + tagTimer + ", " + tagReplaces

// supportedTag reports whether we implement the extension of option tag t.
func supportedTag(t string) bool {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case tag100rel, tagTimer, tagReplaces:
		return true
	}
	return false
}

// hasOptionTag reports whether a message's name headers (Require or
// Supported, in long or compact form) list option tag tag.
func hasOptionTag(hs []sipmsg.Header, tag string) bool {
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

// msgHeaders returns a message's headers of name and of its compact form
// (Supported is k, Session-Expires x).
func msgHeaders(m interface {
	GetHeaders(string) []sipmsg.Header
}, name string) []sipmsg.Header {
	hs := m.GetHeaders(name)
	var short string
	switch strings.ToLower(name) {
	case "supported":
		short = "k"
	case "session-expires":
		short = "x"
	}
	if short != "" {
		hs = append(hs, m.GetHeaders(short)...)
	}
	return hs
}

// requires reports whether m's Require lists tag.
func requires(m interface {
	GetHeaders(string) []sipmsg.Header
}, tag string) bool {
	return hasOptionTag(m.GetHeaders("Require"), tag)
}

// supports reports whether m's Supported or Require lists tag.
func supports(m interface {
	GetHeaders(string) []sipmsg.Header
}, tag string) bool {
	return hasOptionTag(msgHeaders(m, "Supported"), tag) || requires(m, tag)
}
