package vendor

import "strings"

// Mapping is one row of a format's documented map: a vendor parameter and
// the native configuration path it sets, or "ignored: REASON".
type Mapping struct {
	// Param is the vendor's name: P47, or Proxy_n_ with n the line.
	Param string
	// Target is a native path such as account/registrar or
	// port/dial-plan (the account and port the parameter's line or port
	// belongs to), or "ignored: " and a reason.
	Target string
}

// IgnoredPrefix starts the Target of a parameter that changes nothing.
const IgnoredPrefix = "ignored: "

// IsIgnored reports whether the mapping changes nothing.
func (m Mapping) IsIgnored() bool { return strings.HasPrefix(m.Target, IgnoredPrefix) }
