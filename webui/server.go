// Package webui is the gateway's HTTP face: the status page, the JSON
// status API and, on the simulated board, the sim control API that
// drives the virtual phones (contract 5).
//
// Until authentication arrives, everything but /healthz answers only
// requests from loopback addresses; others get 403.
package webui

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"

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
}

// Server is the web UI and API; it implements http.Handler.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	page *template.Template
	// pageErr is set if the embedded templates do not parse (a build
	// defect that TestTemplates catches); the page then answers 500.
	pageErr error
}

// New builds the server and its routes.
func New(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.page, s.pageErr = template.New("").Funcs(template.FuncMap{
		"join": func(f []float64) string {
			b, _ := json.Marshal(f)
			return strings.Trim(string(b), "[]")
		},
	}).ParseFS(assets, "templates/*.html")
	if s.pageErr != nil {
		s.log.Error("webui: parse templates", "err", s.pageErr)
	}

	static, _ := fs.Sub(assets, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.mux.Handle("GET /{$}", s.loopbackOnly(http.HandlerFunc(s.handlePage)))
	s.mux.Handle("GET /api/status", s.loopbackOnly(http.HandlerFunc(s.handleStatus)))
	s.mux.Handle("/api/status", methodNotAllowed("GET, HEAD"))
	s.mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.URL.Path)
	}))
	if opts.Sim != nil {
		s.simRoutes()
	}
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
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

// loopbackOnly refuses requests from other hosts with 403, until the web
// UI has authentication.
func (s *Server) loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(r) {
			writeError(w, http.StatusForbidden, "only allowed from loopback until authentication is configured")
			return
		}
		h.ServeHTTP(w, r)
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

// pageData feeds templates/status.html.
type pageData struct {
	Version string
	Status  status.Status
	Sim     bool
	// SimPorts are the virtual phones, keyed by port number.
	SimPorts map[int]SimPort
	Keys     []string
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.status()
	if !ok {
		http.Error(w, "status is not available", http.StatusServiceUnavailable)
		return
	}
	d := pageData{Version: s.opts.Version, Status: st, Sim: s.opts.Sim != nil,
		Keys: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"}}
	if d.Version == "" {
		d.Version = st.Version
	}
	if s.opts.Sim != nil {
		d.SimPorts = map[int]SimPort{}
		for _, p := range s.opts.Sim.Ports() {
			d.SimPorts[p.Port] = p
		}
	}
	if s.pageErr != nil {
		http.Error(w, "cannot render the page", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := s.page.ExecuteTemplate(&b, "status.html", d); err != nil {
		s.log.Error("webui: render status page", "err", err)
		http.Error(w, "cannot render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(b.String()))
}

// errStatus maps an error from SimControl to an HTTP status.
func errStatus(err error) int {
	switch {
	case errors.Is(err, ErrNoPort):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}
