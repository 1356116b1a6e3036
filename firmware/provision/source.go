package provision

import (
	"net"
	"net/url"
	"strings"
)

// Identity is what the macros in a server URL expand to.
type Identity struct {
	// MAC is the gateway's MAC address.
	MAC net.HardwareAddr
	// Model is the board or product model, e.g. "loopstart-sim".
	Model string
	// Version is the firmware version.
	Version string
}

// MACHex is the MAC in lowercase hex without separators, as PBX
// templates name files (000b82123456).
func (id Identity) MACHex() string {
	return strings.ReplaceAll(strings.ToLower(id.MAC.String()), ":", "")
}

// Expand replaces $MAC, $MODEL and $VERSION in s (also written ${MAC},
// ...); $MAC is MACHex.
func (id Identity) Expand(s string) string {
	r := strings.NewReplacer(
		"${MAC}", id.MACHex(), "$MAC", id.MACHex(),
		"${MODEL}", url.PathEscape(id.Model), "$MODEL", url.PathEscape(id.Model),
		"${VERSION}", url.PathEscape(id.Version), "$VERSION", url.PathEscape(id.Version),
	)
	return r.Replace(s)
}

// FileNames are the files tried in a server directory, in order, for a
// MAC in lowercase hex.
func FileNames(macHex string) []string {
	return []string{"loopstart-" + macHex + ".xml", "cfg" + macHex + ".xml", "loopstart.xml"}
}

// Candidates returns the URLs to try for one server, in order: the
// server's URL with its macros expanded if it names a file, else the
// FileNames in that directory.
func Candidates(server *url.URL, id Identity) ([]*url.URL, error) {
	raw := id.Expand(server.String())
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(u.Path, "/") {
		return []*url.URL{u}, nil
	}
	var out []*url.URL
	for _, f := range FileNames(id.MACHex()) {
		c := *u
		c.Path = u.Path + f
		c.RawPath = ""
		out = append(out, &c)
	}
	return out, nil
}
