package provision

import (
	"net"
	"net/url"
	"path"
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
// MAC in lowercase hex: the MAC-specific names of every format (native,
// Grandstream, Cisco SPA) before the generic ones. The first file found
// wins.
func FileNames(macHex string) []string {
	return []string{"loopstart-" + macHex + ".xml", "cfg" + macHex + ".xml", "spa" + macHex + ".cfg", "spa" + macHex + ".xml",
		"loopstart.xml", "cfg.xml"}
}

// IsGrandstreamBinary reports a file name in Grandstream's binary
// configuration format: cfg and a MAC, without .xml. Such a file is
// refused by its name, never fetched.
func IsGrandstreamBinary(name string) bool {
	hex, ok := strings.CutPrefix(path.Base(name), "cfg")
	if !ok || len(hex) != 12 {
		return false
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Candidates returns the URLs to try for one server, in order: the
// server's URL with its macros expanded if it names a file, else the
// FileNames in that directory. A URL naming a Grandstream binary file
// (cfg<mac>) comes first, followed by its directory's FileNames.
func Candidates(server *url.URL, id Identity) ([]*url.URL, error) {
	raw := id.Expand(server.String())
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	var out []*url.URL
	if !strings.HasSuffix(u.Path, "/") {
		if !IsGrandstreamBinary(u.Path) {
			return []*url.URL{u}, nil
		}
		// A Grandstream URL naming the binary file: it is refused, and the
		// files of its directory are tried after it.
		out = append(out, u)
		dir := *u
		dir.Path = path.Dir(u.Path) + "/"
		dir.RawPath = ""
		u = &dir
	}
	for _, f := range FileNames(id.MACHex()) {
		c := *u
		c.Path = u.Path + f
		c.RawPath = ""
		out = append(out, &c)
	}
	return out, nil
}
