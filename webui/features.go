package webui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/loopstart/loopstart/voice/status"
)

// FeatureControl changes a port's forwarding and screening settings (the
// state star codes set); the gateway's SetFeatures. The current settings
// come with the status (status.PortStatus.Features).
type FeatureControl interface {
	// SetFeatures replaces port's settings and keeps them.
	SetFeatures(port int, f status.Features) error
}

// maxNoAnswer bounds the no-answer forwarding delay, in seconds.
const maxNoAnswer = 300

// featureRoutes serves the ports' feature settings:
// GET /api/ports/{n}/features, POST /api/ports/{n}/features (JSON
// status.Features, the whole set) and the ports page's form
// (POST /ports/features).
func (s *Server) featureRoutes() {
	s.mux.Handle("GET /api/ports/{n}/features", s.requireAuth(http.HandlerFunc(s.handleGetFeatures)))
	s.mux.Handle("POST /api/ports/{n}/features", s.requireAuth(http.HandlerFunc(s.handlePostFeatures)))
	s.mux.Handle("POST /ports/features", s.requireAuth(http.HandlerFunc(s.handleFeaturesForm)))
}

// portFeatures returns port n's settings; ok is false for a port without
// local features (none such, FXO, or features left to the PBX).
func (s *Server) portFeatures(n int) (status.Features, bool) {
	st, ok := s.status()
	if !ok {
		return status.Features{}, false
	}
	for _, p := range st.Ports {
		if p.Port == n && p.Features != nil {
			return *p.Features, true
		}
	}
	return status.Features{}, false
}

// featurePort reads {n} and checks the port has features; it answers the
// request itself when not.
func (s *Server) featurePort(w http.ResponseWriter, r *http.Request) (int, status.Features, bool) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("port %q is not a port number", r.PathValue("n")))
		return 0, status.Features{}, false
	}
	f, ok := s.portFeatures(n)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("port %d has no local features (no such FXS port, or the PBX runs them)", n))
		return 0, status.Features{}, false
	}
	return n, f, true
}

func (s *Server) handleGetFeatures(w http.ResponseWriter, r *http.Request) {
	if _, f, ok := s.featurePort(w, r); ok {
		writeJSON(w, http.StatusOK, f)
	}
}

func (s *Server) handlePostFeatures(w http.ResponseWriter, r *http.Request) {
	if s.opts.Features == nil {
		writeError(w, http.StatusNotFound, "features cannot be changed here")
		return
	}
	n, _, ok := s.featurePort(w, r)
	if !ok {
		return
	}
	var f status.Features
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, `want {"forward_all":"","forward_busy":"","forward_no_answer":"","no_answer_s":0,"dnd":false,"reject_anonymous":false}: `+err.Error())
		return
	}
	if err := checkFeatures(f); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.opts.Features.SetFeatures(n, f); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.audit("features changed", "port", n, "client", clientKey(r))
	writeJSON(w, http.StatusOK, f)
}

// handleFeaturesForm takes the ports page's feature form.
func (s *Server) handleFeaturesForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		back(w, r, "/ports", "", err)
		return
	}
	if s.opts.Features == nil {
		back(w, r, "/ports", "", errors.New("features cannot be changed here"))
		return
	}
	n, err := strconv.Atoi(r.PostForm.Get("n"))
	if _, ok := s.portFeatures(n); err != nil || !ok {
		back(w, r, "/ports", "", fmt.Errorf("port %q has no local features", r.PostForm.Get("n")))
		return
	}
	f := status.Features{
		ForwardAll:      strings.TrimSpace(r.PostForm.Get("forward_all")),
		ForwardBusy:     strings.TrimSpace(r.PostForm.Get("forward_busy")),
		ForwardNoAnswer: strings.TrimSpace(r.PostForm.Get("forward_no_answer")),
		DND:             r.PostForm.Get("dnd") == "on",
		RejectAnonymous: r.PostForm.Get("reject_anonymous") == "on",
	}
	if v := strings.TrimSpace(r.PostForm.Get("no_answer_s")); v != "" {
		if f.NoAnswerSeconds, err = strconv.Atoi(v); err != nil {
			back(w, r, "/ports", "", fmt.Errorf("no-answer delay %q is not a number of seconds", v))
			return
		}
	}
	if err := checkFeatures(f); err != nil {
		back(w, r, "/ports", "", err)
		return
	}
	err = s.opts.Features.SetFeatures(n, f)
	if err == nil {
		s.audit("features changed", "port", n, "client", clientKey(r))
	}
	back(w, r, "/ports", fmt.Sprintf("port %d features saved", n), err)
}

// checkFeatures refuses settings the gateway could not use: a forwarding
// target must be a number (digits, *, #, a leading +) or a sip:/sips:
// URI, and the no-answer delay 0..300 s.
func checkFeatures(f status.Features) error {
	for _, t := range []struct{ name, v string }{
		{"forward_all", f.ForwardAll}, {"forward_busy", f.ForwardBusy}, {"forward_no_answer", f.ForwardNoAnswer},
	} {
		if err := checkTarget(t.v); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	if f.NoAnswerSeconds < 0 || f.NoAnswerSeconds > maxNoAnswer {
		return fmt.Errorf("no_answer_s: %d is not between 0 and %d seconds", f.NoAnswerSeconds, maxNoAnswer)
	}
	return nil
}

func checkTarget(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > 128 {
		return fmt.Errorf("target longer than 128 characters")
	}
	lower := strings.ToLower(v)
	if strings.HasPrefix(lower, "sip:") || strings.HasPrefix(lower, "sips:") {
		_, rest, _ := strings.Cut(v, ":")
		if rest == "" || strings.ContainsAny(rest, " \t\r\n<>\"") {
			return fmt.Errorf("%q is not a SIP URI", v)
		}
		return nil
	}
	for i, c := range v {
		if (c < '0' || c > '9') && c != '*' && c != '#' && (c != '+' || i != 0) {
			return fmt.Errorf("%q is not a number (digits, *, #, a leading +) or a sip: URI", v)
		}
	}
	if v == "+" {
		return fmt.Errorf("%q is not a number", v)
	}
	return nil
}
