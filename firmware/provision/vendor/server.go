package vendor

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/loopstart/loopstart/firmware/config"
)

// DefaultSTUNPort is the port a STUN server given without one listens on.
const DefaultSTUNPort = 3478

// ServerURI turns a vendor's server value (host, host:port, or a sip: or
// sips: URI) into the URI form <registrar>, <outbound-proxy> and
// <backup-registrar> take. transport (udp, tcp, tls or empty) is added as
// ;transport= to a sip: URI that names none. Empty stays empty.
func ServerURI(v, transport string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	uri := v
	lower := strings.ToLower(v)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		uri = "sip:" + v
	}
	if transport != "" && strings.HasPrefix(strings.ToLower(uri), "sip:") && !strings.Contains(strings.ToLower(uri), ";transport=") {
		uri += ";transport=" + transport
	}
	if _, err := config.ParseRegistrar(uri); err != nil {
		return "", fmt.Errorf("not a server address: %w", err)
	}
	return uri, nil
}

// STUNServer turns a vendor's STUN server value (host or host:port) into
// the host:port <stun> takes, with DefaultSTUNPort when none is given.
// Empty stays empty.
func STUNServer(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		if strings.Contains(v, ":") && !strings.HasPrefix(v, "[") {
			return "", fmt.Errorf("%q: want host or host:port", v)
		}
		host, port = strings.Trim(v, "[]"), strconv.Itoa(DefaultSTUNPort)
	}
	if host == "" {
		return "", fmt.Errorf("%q: empty host", v)
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':') {
			return "", fmt.Errorf("%q: bad character %q in host", v, r)
		}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port must be 1..65535", v)
	}
	return net.JoinHostPort(host, port), nil
}

// KeepAliveSeconds checks a vendor's keep-alive interval: whole seconds,
// 1..config.MaxKeepAlive.
func KeepAliveSeconds(v string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > config.MaxKeepAlive {
		return "", fmt.Errorf("%q: want 1..%d seconds", v, config.MaxKeepAlive)
	}
	return strconv.Itoa(n), nil
}
