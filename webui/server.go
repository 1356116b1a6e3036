// Package webui is the gateway's HTTP face: setup and login, the status
// page and the settings pages (server-rendered html/template with embedded
// assets), the JSON API (the same handlers answer JSON for
// Accept: application/json), live logs as server-sent events and, on the
// simulated board, the sim control API that drives the virtual phones
// (contract 5).
//
// Security: there is no default password. With a data directory
// (Options.DataDir) the first visit must set the admin password
// (POST /api/setup, argon2id hash stored in the data directory), proving
// it has the device with the setup code made on first start (shown in the
// log, stored in the data directory's SetupCodeFile until a password is
// set) or a press of the board's setup button (Options.SetupButton); every page
// and API then needs a session: the HttpOnly, SameSite=Strict cookie set by
// POST /api/login (Secure under HTTPS), or Authorization: Bearer TOKEN with
// the token /api/login returns. Browser (cookie) requests that change state
// must carry the session's CSRF token in the X-CSRF-Token header (or the
// csrf_token form field), and cross-origin browser requests are refused.
// Wrong passwords and setup codes lock the client out for a growing time,
// logins are rate-limited per client and in all, and at most MaxHashes
// password hashes run at once. Requests whose Host is not one of the
// device's names or an IP address are refused with 421 before any
// handler runs (DNS rebinding). Exceptions: the
// sim API answers loopback without login (contract 5), and /api/status
// answers loopback without login on the sim board (contract 6).
//
// Without a data directory there is no authentication at all, and
// everything but /healthz answers only loopback addresses.
package webui

import (
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/loopstart/loopstart/voice/status"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure a Server.
type Options struct {
	// Status returns a fresh snapshot of the gateway; required. Without
	// it /api/status and the status page answer 503.
	Status func() status.Status
	// Sim controls the simulated board's virtual phones; nil when the
	// gateway does not run on the sim board, and /api/sim/* is then 404.
	Sim SimControl
	// Logger receives request errors; nil means slog.Default().
	Logger *slog.Logger
	// Version is shown on the status page.
	Version string

	// DataDir is the data directory: it holds the admin password hash
	// (PasswordFile) and the HTTPS certificate. Empty means no
	// authentication: the web UI then answers only loopback.
	DataDir string
	// Config shows and changes the configuration (/api/config and the
	// settings pages); nil means the configuration cannot be changed here.
	Config Configurator
	// Provisioning reports on provisioning and starts a resync; nil
	// means the provisioning page only shows the configured URL.
	Provisioning Provisioner
	// Firmware reports on and performs firmware upgrades; nil means the
	// firmware page only shows the version.
	Firmware Firmware
	// Diagnostics turns the SIP trace on and off; nil hides it.
	Diagnostics Diagnostics
	// Capture runs packet captures (diagnostics page, /api/capture); nil
	// hides them.
	Capture Capturer
	// CallQuality has the finished calls' MOS, loss and jitter histograms
	// /metrics serves; nil leaves them out.
	CallQuality *status.CallQuality
	// MetricsAllow returns the addresses that may scrape /metrics without
	// a token (see ParseAllowList); nil means none.
	MetricsAllow func() []netip.Prefix
	// Ping replaces the diagnostics page's ICMP ping (tests); nil means Ping.
	Ping func(ctx context.Context, host string, count int) (PingResult, error)
	// Logs is the ring of recent log records the logs page shows and
	// streams; nil means the page is empty.
	Logs *LogRing
	// Now is the clock for sessions and the login lockout; nil means time.Now.
	Now func() time.Time
	// Hosts are extra names the device answers to (loopstart run
	// --web-host). Requests are served only when their Host is an IP
	// address, localhost, the machine's host name, that name under .local,
	// or one of these; others get 421 (DNS rebinding).
	Hosts []string
	// Features changes the ports' forwarding and screening settings (the
	// ports page and /api/ports/{n}/features); nil shows them read-only.
	Features FeatureControl
	// Reboot restarts the gateway (the device under `loopstart boot`,
	// else the process); nil hides it. It is called after the answer is
	// sent.
	Reboot func() error
	// FactoryReset erases the settings and the admin password and
	// restarts; nil hides it.
	FactoryReset func() error
	// TestCall rings port n's phone through its account and says what
	// happened (the first-run page's test call); nil hides it.
	TestCall func(ctx context.Context, n int) (string, error)
	// SetupButton reports whether the board's setup button was pressed
	// recently enough to set the first password without the setup code;
	// nil means the code is needed.
	SetupButton func() bool
}

// routeMux is the server's ServeMux; it remembers the patterns it
// serves, so that tests can reach every route.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers h for pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers f for pattern.
func (m *routeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

// Server is the web UI and API; it implements http.Handler.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *routeMux
	hosts   *hostNames
	handler http.Handler
	auth    *auth
	pages   map[string]*template.Template
	// pageErr is set if the embedded templates do not parse (a build
	// defect that TestTemplates catches); pages then answer 500.
	pageErr error
	// initErr is set when the data directory cannot be used; every
	// request then answers 503 with it.
	initErr error
	// certs is the HTTPS certificate once EnableTLS ran.
	certs *certStore
	// tries are refused settings forms, shown again with their problems.
	tries attemptStore
}

// New builds the server and its routes.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, mux: &routeMux{ServeMux: http.NewServeMux()}, hosts: newHostNames(opts.Hosts)}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	s.pages, s.pageErr = parsePages()
	if s.pageErr != nil {
		s.log.Error("webui: parse templates", "err", s.pageErr)
	}
	if opts.DataDir != "" {
		s.auth, s.initErr = newAuth(opts.DataDir, s.opts.Now, defaultArgon)
		if s.initErr != nil {
			s.log.Error("webui: data directory", "err", s.initErr)
		} else if code := s.auth.setupCode(); code != "" {
			s.log.Info("first setup: setup code", "setup_code", code)
		}
	}

	static, _ := fs.Sub(assets, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux.Handle("GET /api/status", s.statusGate(http.HandlerFunc(s.handleStatus)))
	s.mux.Handle("/api/status", methodNotAllowed("GET, HEAD"))
	s.mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.URL.Path)
	}))
	if s.auth != nil {
		s.mux.HandleFunc("GET /setup", s.handleSetupPage)
		s.mux.HandleFunc("GET /login", s.handleLoginPage)
		s.mux.HandleFunc("POST /api/setup", s.handleSetup)
		s.mux.HandleFunc("POST /api/login", s.handleLogin)
		s.mux.Handle("POST /api/logout", s.requireAuth(http.HandlerFunc(s.handleLogout)))
		s.mux.Handle("POST /api/password", s.requireAuth(http.HandlerFunc(s.handlePassword)))
		s.mux.Handle("POST /api/tls", s.requireAuth(http.HandlerFunc(s.handleCertUpload)))
	}
	s.pageRoutes()
	s.configRoutes()
	s.featureRoutes() // features.go
	s.maintenanceRoutes()
	s.metricsRoutes() // metrics.go
	if opts.Sim != nil {
		s.simRoutes()
	}
	cop := http.NewCrossOriginProtection()
	s.handler = cop.Handler(s.mux)
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.hosts.allowed(r.Host) {
		misdirected(w, r)
		return
	}
	s.extendDeadlines(w, r)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	if s.initErr != nil && r.URL.Path != "/healthz" {
		writeError(w, http.StatusServiceUnavailable, "web UI unavailable: "+s.initErr.Error())
		return
	}
	s.handler.ServeHTTP(w, r)
}

// isLoopback reports whether the request comes from a loopback address.
func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOnly refuses requests from other hosts with 403.
func (s *Server) loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(r) {
			writeError(w, http.StatusForbidden, "only allowed from loopback")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// statusGate lets /api/status through from loopback on the sim board
// (contract 6) and otherwise asks for a login.
func (s *Server) statusGate(h http.Handler) http.Handler {
	authed := s.requireAuth(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.auth != nil && s.opts.Sim != nil && isLoopback(r) {
			if ss, _ := s.requestSession(r); ss == nil {
				h.ServeHTTP(w, r)
				return
			}
		}
		authed.ServeHTTP(w, r)
	})
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed (use "+allow+")")
	})
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func (s *Server) status() (status.Status, bool) {
	if s.opts.Status == nil {
		return status.Status{}, false
	}
	st := s.opts.Status()
	if st.Version == "" {
		st.Version = s.opts.Version
	}
	if st.Ports == nil {
		st.Ports = []status.PortStatus{}
	}
	if st.Accounts == nil {
		st.Accounts = []status.AccountStatus{}
	}
	return st, true
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, ok := s.status()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "status is not available")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func withSession(ctx context.Context, ss *session) context.Context {
	return context.WithValue(ctx, sessionKey{}, ss)
}

// sessionOf returns the request's session, nil without authentication.
func sessionOf(r *http.Request) *session {
	ss, _ := r.Context().Value(sessionKey{}).(*session)
	return ss
}

// audit records a security or configuration event in the log.
func (s *Server) audit(msg string, args ...any) {
	s.log.Info("webui: "+msg, args...)
}

// wantsJSON reports a request for the JSON form of a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}
