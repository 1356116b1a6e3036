// Package provision fetches the gateway's configuration from a
// provisioning server, the way PBXs provision ATAs: the server comes from
// the configuration (<provisioning><url>) or from DHCP options 160, 66,
// 150 and 43; files are fetched over tftp://, http:// or https:// (with
// certificate verification and optional HTTP digest or basic auth, the
// credentials given in the URL as user:password@); a URL that ends in "/"
// names a directory in which the files
//
//	loopstart-<mac>.xml, cfg<mac>.xml, loopstart.xml
//
// are tried in that order (MAC in lowercase hex without separators), and
// the URL may use the macros $MAC, $MODEL and $VERSION. A file may be
// partial: it is merged onto the current configuration (accounts by id,
// ports by number, other elements replaced), the result is validated in
// full by firmware/config, and only then applied. A bad file, an
// unreachable server or a certificate mismatch keeps the old
// configuration; the reason, and the time of the last success and
// failure, are in Status and the log. Resync runs periodically with random
// jitter, is deferred while a call is up, and can be asked for at once
// (the web UI, a SIP NOTIFY Event: check-sync).
package provision

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DHCP option codes that name a provisioning server.
const (
	// OptTFTPServer is option 66, the TFTP server name (or a URL).
	OptTFTPServer = 66
	// OptProvisioningURL is option 160, a provisioning URL (Polycom,
	// Grandstream).
	OptProvisioningURL = 160
	// OptCiscoTFTP is option 150, a list of TFTP server IPv4 addresses.
	OptCiscoTFTP = 150
	// OptVendorSpecific is option 43, vendor-specific information: a URL
	// as text, or sub-options of which any holding a URL is used.
	OptVendorSpecific = 43
)

// ErrNoServer means the DHCP options name no provisioning server.
var ErrNoServer = errors.New("no provisioning server in the DHCP options")

// ServerFromDHCP turns the raw DHCP options a lease carried into
// provisioning server URLs, most specific first: option 160, 66, 150, 43.
// A bare host name or address becomes tftp://HOST/. Malformed options are
// skipped; if none gives a server the error is ErrNoServer, joined with
// the reasons options were skipped.
func ServerFromDHCP(opts map[uint8][]byte) ([]*url.URL, error) {
	var out []*url.URL
	var errs []error
	seen := map[string]bool{}
	add := func(opt int, s string) {
		u, err := parseServer(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("option %d: %w", opt, err))
			return
		}
		if !seen[u.String()] {
			seen[u.String()] = true
			out = append(out, u)
		}
	}
	if v, ok := opts[OptProvisioningURL]; ok {
		add(OptProvisioningURL, cString(v))
	}
	if v, ok := opts[OptTFTPServer]; ok {
		add(OptTFTPServer, cString(v))
	}
	if v, ok := opts[OptCiscoTFTP]; ok {
		if len(v) == 0 || len(v)%4 != 0 {
			errs = append(errs, fmt.Errorf("option %d: length %d is not a multiple of 4", OptCiscoTFTP, len(v)))
		}
		for i := 0; i+4 <= len(v); i += 4 {
			add(OptCiscoTFTP, net.IP(v[i:i+4]).String())
		}
	}
	if v, ok := opts[OptVendorSpecific]; ok {
		if s := cString(v); printable(s) && strings.Contains(s, "://") {
			add(OptVendorSpecific, s)
		} else {
			found := false
			for i := 0; i+2 <= len(v); {
				code, n := v[i], int(v[i+1])
				if code == 0 || code == 255 {
					i++
					continue
				}
				if i+2+n > len(v) {
					errs = append(errs, fmt.Errorf("option 43: sub-option %d truncated", code))
					break
				}
				if s := cString(v[i+2 : i+2+n]); printable(s) && strings.Contains(s, "://") {
					add(OptVendorSpecific, s)
					found = true
				}
				i += 2 + n
			}
			if !found && len(errs) == 0 && len(out) == 0 {
				errs = append(errs, errors.New("option 43: no URL in it"))
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.Join(append([]error{ErrNoServer}, errs...)...)
	}
	return out, nil
}

// cString trims NULs and white space that some servers pad options with.
func cString(b []byte) string {
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
}

func printable(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// parseServer reads a server as given in an option or the config: a URL
// with a supported scheme, or a bare host[:port] meaning TFTP.
func parseServer(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	if !printable(s) {
		return nil, fmt.Errorf("%q is not text", s)
	}
	if !strings.Contains(s, "://") {
		s = "tftp://" + s
		if !strings.Contains(s[len("tftp://"):], "/") {
			s += "/"
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "tftp", "http", "https":
	default:
		return nil, fmt.Errorf("%q: scheme %s not supported (tftp, http, https)", s, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q: no host", s)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}
