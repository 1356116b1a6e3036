package webui

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// hostNames decides which Host values the server answers: IP addresses,
// localhost, the machine's host name (also under .local, its mDNS name)
// and the configured names. Anything else is a name an attacker's DNS
// may point at the device (DNS rebinding), so a page from another site
// could reach the UI as same-origin.
type hostNames struct {
	extra map[string]bool

	mu       sync.Mutex
	hostname string // os.Hostname, lower case
}

// newHostNames accepts the names in extra besides the built-in ones.
func newHostNames(extra []string) *hostNames {
	h := &hostNames{extra: map[string]bool{}, hostname: machineName()}
	for _, e := range extra {
		if n := hostOnly(e); n != "" {
			h.extra[n] = true
		}
	}
	return h
}

// machineName is the lower-case host name, "" if unknown.
func machineName() string {
	n, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(n, "."))
}

// hostOnly is a Host value's host part: without port and brackets, lower
// case, without a final dot; an IPv6 zone's %25 is read as %.
func hostOnly(host string) string {
	h := host
	if hn, _, err := net.SplitHostPort(h); err == nil {
		h = hn
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	h = strings.Replace(h, "%25", "%", 1)
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// allowed reports whether a request with this Host may be served. An
// empty Host (HTTP/1.0, never sent by a browser) is allowed.
func (h *hostNames) allowed(host string) bool {
	if host == "" {
		return true
	}
	name := hostOnly(host)
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	if name == "localhost" || h.extra[name] {
		return true
	}
	h.mu.Lock()
	hn := h.hostname
	h.mu.Unlock()
	if isMachineName(name, hn) {
		return true
	}
	// The host name may have changed since (DHCP, the admin): read it again.
	hn = machineName()
	h.mu.Lock()
	h.hostname = hn
	h.mu.Unlock()
	return isMachineName(name, hn)
}

// isMachineName reports whether name is the host name hn, its first
// label, or that label under .local.
func isMachineName(name, hn string) bool {
	if hn == "" {
		return false
	}
	short, _, _ := strings.Cut(hn, ".")
	return name == hn || name == short || name == short+".local"
}

// misdirected refuses a request for a name that is not the device's.
func misdirected(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusMisdirectedRequest)
	fmt.Fprintf(w, "misdirected request: host %q is not a name of this device (use its address, or add the name with loopstart run --web-host)\n", r.Host)
}

// CheckHost wraps h (such as the HTTP-to-HTTPS redirect) in the server's
// Host check: requests for names that are not the device's get 421.
func (s *Server) CheckHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.allowed(r.Host) {
			misdirected(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// ServerLimits are the connection limits of the web UI's http.Server.
type ServerLimits struct {
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// the http.Server timeouts of the same names.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header.
	MaxHeaderBytes int
}

// DefaultServerLimits cut off clients that send a request, or read an
// answer, too slowly to be anything but a held connection. A firmware
// upload with a session, the live log stream and the sim API's recordings
// get longer (Server.ServeHTTP moves their deadlines).
var DefaultServerLimits = ServerLimits{
	ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
	WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second,
	MaxHeaderBytes: 32 << 10,
}

// NewHTTPServer returns an http.Server for h with l's limits.
func NewHTTPServer(h http.Handler, l ServerLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout,
		WriteTimeout: l.WriteTimeout, IdleTimeout: l.IdleTimeout, MaxHeaderBytes: l.MaxHeaderBytes}
}

// uploadTime is how long a firmware upload may take to send and answer.
const uploadTime = 15 * time.Minute

// hashTime bounds the answer to a request that hashes a password.
const hashTime = 5 * time.Minute

// extendDeadlines lifts the server's read and write timeouts for the
// requests that need longer: a firmware upload with a session (a large
// body over a slow link), the live log stream with a session (no end)
// and, from loopback, the sim API (a recording of up to a minute). Only
// the upload needs its read deadline moved: the others' bodies are small,
// and the server drops the read deadline once a body is read. Without a
// session these
// routes keep the short limits, so a client cannot hold a connection by
// aiming at them. Login, first setup and a password change get hashTime
// to write their answer, whoever sends them.
func (s *Server) extendDeadlines(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/firmware" && s.trusted(r):
		end := time.Now().Add(uploadTime)
		_ = rc.SetReadDeadline(end)
		_ = rc.SetWriteDeadline(end)
	case r.Method == http.MethodGet && (r.URL.Path == "/api/logs/stream" || r.URL.Path == "/api/status/stream") && s.trusted(r):
		_ = rc.SetWriteDeadline(time.Time{})
	case r.Method == http.MethodPost && (r.URL.Path == "/api/login" || r.URL.Path == "/api/setup" || r.URL.Path == "/api/password"):
		// The password hash (argon2id, 19 MiB) takes well under a second
		// on a board's core but a minute or more under emulation; the
		// answer must not be lost to the write deadline. Attempts are
		// rate-limited and locked out before they reach the hash.
		_ = rc.SetWriteDeadline(time.Now().Add(hashTime))
	case strings.HasPrefix(r.URL.Path, "/api/sim/") && s.opts.Sim != nil && isLoopback(r):
		_ = rc.SetWriteDeadline(time.Now().Add(3 * time.Minute))
	}
}

// trusted reports a request that will pass requireAuth's login check.
func (s *Server) trusted(r *http.Request) bool {
	if s.auth == nil {
		return isLoopback(r)
	}
	ss, _ := s.requestSession(r)
	return ss != nil
}
