package webui

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/loopstart/loopstart/firmware/config"
)

// Configurator is the configuration the web UI shows and changes. The
// gateway's main command implements it: it stores a configuration
// atomically in the data directory and applies it to the running gateway.
type Configurator interface {
	// Current returns the configuration in force; the caller may change
	// the copy it gets.
	Current() *config.Config
	// Apply makes c, already parsed and validated, the configuration:
	// it checks that the gateway can run it, stores it atomically and
	// applies it, without dropping calls in progress where possible.
	// source says who asked ("web UI", "provisioning"). On error nothing
	// changed and the old configuration stays in force; a
	// *config.ValidationError lists problems with the document itself.
	Apply(c *config.Config, source string) (ApplyResult, error)
}

// ApplyResult says what became of a configuration change.
type ApplyResult struct {
	// Applied is true when the new configuration is in force.
	Applied bool `json:"applied"`
	// Pending explains why it is stored but not yet in force (for
	// example a call in progress on a port it changes).
	Pending string `json:"pending,omitempty"`
	// Message is a one-line summary for people.
	Message string `json:"message"`
}

// configError is the JSON answer to an invalid configuration.
type configError struct {
	Error    string        `json:"error"`
	Problems []problemJSON `json:"problems"`
}

// problemJSON is a config.Problem in the API.
type problemJSON struct {
	Line int    `json:"line,omitempty"`
	Path string `json:"path,omitempty"`
	Msg  string `json:"msg"`
}

func problemsJSON(ps []config.Problem) []problemJSON {
	out := make([]problemJSON, len(ps))
	for i, p := range ps {
		out[i] = problemJSON{Line: p.Line, Path: p.Path, Msg: p.Msg}
	}
	return out
}

func (s *Server) configRoutes() {
	if s.opts.Config == nil {
		return
	}
	s.mux.Handle("GET /api/config", s.requireAuth(http.HandlerFunc(s.handleGetConfig)))
	s.mux.Handle("PUT /api/config", s.requireAuth(http.HandlerFunc(s.handlePutConfig)))
	s.mux.Handle("/api/config", s.requireAuth(methodNotAllowed("GET, HEAD, PUT")))
}

// wantsXML reports a client asking for XML.
func wantsXML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/xml") || strings.Contains(a, "text/xml")
}

func (s *Server) handleGetConfig(w http.ResponseWriter, r *http.Request) {
	c := s.opts.Config.Current()
	if wantsXML(r) {
		b, err := c.Marshal()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b)
		return
	}
	writeJSON(w, http.StatusOK, c.JSONMap())
}

func (s *Server) handlePutConfig(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, config.MaxFileSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "cannot read the body: "+err.Error())
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var c *config.Config
	switch ct {
	case "application/xml", "text/xml":
		c, err = config.Parse(bytes.NewReader(body))
	case "application/json", "":
		c, err = config.ParseJSON(body)
	default:
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type "+ct+" not supported (use application/xml or application/json)")
		return
	}
	if err != nil {
		writeConfigError(w, err)
		return
	}
	s.applyConfig(w, r, c)
}

// applyConfig hands c to the Configurator and answers.
func (s *Server) applyConfig(w http.ResponseWriter, r *http.Request, c *config.Config) {
	res, err := s.opts.Config.Apply(c, "web UI")
	if err != nil {
		s.log.Warn("webui: config refused", "err", err)
		writeConfigError(w, err)
		return
	}
	s.audit("config changed", "applied", res.Applied, "pending", res.Pending, "client", clientKey(r))
	writeJSON(w, http.StatusOK, res)
}

// writeConfigError answers 400 with the problems of an invalid config,
// or 409 when a valid one cannot be applied.
func writeConfigError(w http.ResponseWriter, err error) {
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		writeJSON(w, http.StatusBadRequest, configError{
			Error:    "invalid configuration; the old one stays in force: " + strings.ReplaceAll(ve.Error(), "\n", "; "),
			Problems: problemsJSON(ve.Problems),
		})
		return
	}
	writeJSON(w, http.StatusConflict, configError{
		Error:    "configuration not applied; the old one stays in force: " + err.Error(),
		Problems: []problemJSON{},
	})
}
