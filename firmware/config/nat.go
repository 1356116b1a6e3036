package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// MaxKeepAlive bounds <keep-alive>, in seconds.
const MaxKeepAlive = 3600

// checkNAT checks an account's NAT and resilience elements: keep-alive,
// stun, outbound-proxy and backup-registrar.
func checkNAT(m *mapper, i int, a *Account) {
	if a.KeepAlive != "" {
		n, err := strconv.Atoi(a.KeepAlive)
		switch {
		case err != nil:
			m.add(sectAccount, i, "keep-alive", "keep-alive", 0, "%q: want seconds, 0 for off", a.KeepAlive)
		case n < 0 || n > MaxKeepAlive:
			m.add(sectAccount, i, "keep-alive", "keep-alive", 0, "%d is out of range 0..%d seconds", n, MaxKeepAlive)
		}
	}
	if a.STUN != "" {
		if msg := checkHostPort(a.STUN, false); msg != "" {
			m.add(sectAccount, i, "stun", "stun", 0, "%s", msg)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"outbound-proxy", a.OutboundProxy}, {"backup-registrar", a.BackupRegistrar},
	} {
		if f.v == "" {
			continue
		}
		if a.Registrar == "" {
			m.add(sectAccount, i, f.name, f.name, 0, "needs a registrar")
			continue
		}
		if _, err := ParseRegistrar(f.v); err != nil {
			m.add(sectAccount, i, f.name, f.name, 0, "%v", err)
		}
	}
}

// checkDNSServer checks <dns>: an IP address with an optional port.
func checkDNSServer(v string) string {
	if msg := checkHostPort(v, true); msg != "" {
		return msg
	}
	host, _, err := net.SplitHostPort(v)
	if err != nil {
		host = v
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil {
		return fmt.Sprintf("%q: want an IP address, optionally with :port", v)
	}
	return ""
}

// checkHostPort checks host:port, or a bare host when portOptional.
func checkHostPort(v string, portOptional bool) string {
	if len(v) > 256 {
		return "longer than 256 characters"
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		if !portOptional {
			return fmt.Sprintf("%q: want host:port", v)
		}
		host, port = v, "53"
	}
	if host == "" {
		return fmt.Sprintf("%q: empty host", v)
	}
	if msg := checkText(host, 253); msg != "" {
		return msg
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':') {
			return fmt.Sprintf("%q: bad character %q in host", v, r)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q: port must be 1..65535", v)
	}
	return ""
}
