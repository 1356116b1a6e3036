package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/dsp/wav"
)

// SimControl drives the simulated board's virtual phones and PSTN line; the
// sim board implements it. The API's types are declared once, in
// board/simapi.
type SimControl = simapi.Control

// Limits of the sim API.
const (
	// maxBody bounds a JSON request body.
	maxBody = 64 << 10
	// maxTones bounds say's tones_hz.
	maxTones = 4
	// maxDigits bounds dial's digits.
	maxDigits = 64
)

func (s *Server) simRoutes() {
	sim := func(h http.HandlerFunc) http.Handler { return s.loopbackOnly(h) }
	s.mux.Handle("GET /api/sim/ports", sim(s.handleSimPorts))
	s.mux.Handle("GET /api/sim/ports/{n}", sim(s.handleSimPort))
	s.mux.Handle("POST /api/sim/ports/{n}/hook", sim(s.handleHook))
	s.mux.Handle("POST /api/sim/ports/{n}/dial", sim(s.handleDial))
	s.mux.Handle("POST /api/sim/ports/{n}/say", sim(s.handleSay))
	s.mux.Handle("GET /api/sim/ports/{n}/heard.wav", sim(s.handleHeard))
	s.mux.Handle("POST /api/sim/ports/{n}/pstn", sim(s.handlePSTN))
	// Other methods on known paths: 405 with a JSON body, after the
	// loopback check so other hosts learn nothing.
	for path, allow := range map[string]string{
		"/api/sim/ports":               "GET, HEAD",
		"/api/sim/ports/{n}":           "GET, HEAD",
		"/api/sim/ports/{n}/hook":      "POST",
		"/api/sim/ports/{n}/dial":      "POST",
		"/api/sim/ports/{n}/say":       "POST",
		"/api/sim/ports/{n}/heard.wav": "GET, HEAD",
		"/api/sim/ports/{n}/pstn":      "POST",
	} {
		s.mux.Handle(path, s.loopbackOnly(methodNotAllowed(allow)))
	}
}

// portArg parses {n}; anything that is not a port number is an unknown port.
func portArg(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.PathValue("n")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such port %q", v))
		return 0, false
	}
	return n, true
}

// errStatus maps an error from SimControl to an HTTP status.
func errStatus(err error) int {
	switch {
	case errors.Is(err, simapi.ErrNoPort):
		return http.StatusNotFound
	case errors.Is(err, simapi.ErrBadRequest):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

func (s *Server) simError(w http.ResponseWriter, r *http.Request, err error) {
	code := errStatus(err)
	if code == http.StatusInternalServerError {
		s.log.Error("webui: sim request failed", "path", r.URL.Path, "err", err)
	}
	writeError(w, code, err.Error())
}

// normalize makes empty lists encode as [] rather than null.
func normalize(p simapi.Port) simapi.Port {
	if p.Hearing.TonesHz == nil {
		p.Hearing.TonesHz = []float64{}
	}
	return p
}

func (s *Server) handleSimPorts(w http.ResponseWriter, r *http.Request) {
	ports := s.opts.Sim.PortStates()
	out := make([]simapi.Port, len(ports))
	for i, p := range ports {
		out[i] = normalize(p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleSimPort(w http.ResponseWriter, r *http.Request) {
	n, ok := portArg(w, r)
	if !ok {
		return
	}
	p, err := s.opts.Sim.PortState(n)
	if err != nil {
		s.simError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, normalize(p))
}

// decodeBody reads one JSON object of at most maxBody bytes into v.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
			return false
		}
		writeError(w, http.StatusBadRequest, "cannot read the body: "+err.Error())
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			writeError(w, http.StatusBadRequest, "empty body: want a JSON object")
		} else {
			writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		}
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "bad JSON: more than one value in the body")
		return false
	}
	return true
}

func (s *Server) ok(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, simapi.OKResponse{OK: true})
}

func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	n, ok := portArg(w, r)
	if !ok {
		return
	}
	var req simapi.HookRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch req.State {
	case "off", "on", "flash":
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state %q is not one of off, on, flash", req.State))
		return
	}
	if err := s.opts.Sim.Hook(n, req.State); err != nil {
		s.simError(w, r, err)
		return
	}
	s.ok(w)
}

func (s *Server) handleDial(w http.ResponseWriter, r *http.Request) {
	n, ok := portArg(w, r)
	if !ok {
		return
	}
	var req simapi.DialRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Mode == "" {
		req.Mode = "dtmf"
	}
	if msg := checkDigits(req.Digits, req.Mode); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if err := s.opts.Sim.Dial(n, req.Digits, req.Mode); err != nil {
		s.simError(w, r, err)
		return
	}
	s.ok(w)
}

// checkDigits validates dial's digits for the mode.
func checkDigits(digits, mode string) string {
	var allowed string
	switch mode {
	case "dtmf":
		allowed = "0123456789*#ABCD"
	case "pulse":
		allowed = "0123456789"
	default:
		return fmt.Sprintf("mode %q is not one of dtmf, pulse", mode)
	}
	if digits == "" {
		return "digits missing"
	}
	if len(digits) > maxDigits {
		return fmt.Sprintf("more than %d digits", maxDigits)
	}
	for _, d := range digits {
		if !strings.ContainsRune(allowed, d) {
			return fmt.Sprintf("digit %q cannot be sent as %s (use %s)", d, mode, allowed)
		}
	}
	return ""
}

func (s *Server) handleSay(w http.ResponseWriter, r *http.Request) {
	n, ok := portArg(w, r)
	if !ok {
		return
	}
	var req simapi.SayRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.TonesHz == nil {
		writeError(w, http.StatusBadRequest, `tones_hz missing (use [] for silence)`)
		return
	}
	tones := req.TonesHz
	if len(tones) > maxTones {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("more than %d tones", maxTones))
		return
	}
	for _, f := range tones {
		if !(f > 0 && f < simapi.HeardRate/2) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("tone %g Hz is outside 0..%d Hz", f, simapi.HeardRate/2))
			return
		}
	}
	level := float64(simapi.DefaultSayDBFS)
	if req.LevelDBFS != nil {
		level = *req.LevelDBFS
	}
	if math.IsNaN(level) || level > 0 || level < -90 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("level_dbfs %g is outside -90..0", level))
		return
	}
	if err := s.opts.Sim.Say(n, tones, level); err != nil {
		s.simError(w, r, err)
		return
	}
	s.ok(w)
}

func (s *Server) handleHeard(w http.ResponseWriter, r *http.Request) {
	n, ok := portArg(w, r)
	if !ok {
		return
	}
	d, err := simapi.HeardLength(r.URL.Query().Get("ms"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	samples, err := s.opts.Sim.Heard(n, d)
	if err != nil {
		s.simError(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := wav.Write(&b, samples, simapi.HeardRate); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

func (s *Server) handlePSTN(w http.ResponseWriter, r *http.Request) {
	n, ok := portArg(w, r)
	if !ok {
		return
	}
	var req simapi.PSTNRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !slices.Contains(simapi.PSTNActions, req.Action) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("action %q is not one of %s", req.Action, strings.Join(simapi.PSTNActions, ", ")))
		return
	}
	if req.CallerID != nil && req.Action != "ring" {
		writeError(w, http.StatusBadRequest, "caller_id goes with action ring only")
		return
	}
	if req.Signal != "" {
		sig, ok := s.opts.Sim.(simapi.PSTNSignaler)
		switch {
		case req.Action != "hangup":
			writeError(w, http.StatusBadRequest, "signal goes with action hangup only")
			return
		case !slices.Contains(simapi.HangupSignals, req.Signal):
			writeError(w, http.StatusBadRequest, fmt.Sprintf("signal %q is not one of %s", req.Signal, strings.Join(simapi.HangupSignals, ", ")))
			return
		case !ok:
			writeError(w, http.StatusBadRequest, "this board's lines take no hangup signal")
			return
		}
		if err := sig.PSTNSignal(n, req.Action, req.Signal, req.CallerID); err != nil {
			s.simError(w, r, err)
			return
		}
		s.ok(w)
		return
	}
	if err := s.opts.Sim.PSTN(n, req.Action, req.CallerID); err != nil {
		s.simError(w, r, err)
		return
	}
	s.ok(w)
}
