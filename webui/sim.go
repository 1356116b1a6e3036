package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/loopstart/loopstart/dsp/wav"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors a SimControl wraps so the API can answer with the right status.
var (
	// ErrNoPort means the port does not exist (404).
	ErrNoPort = errors.New("no such port")
	// ErrBadRequest means the request's values are wrong (400).
	ErrBadRequest = errors.New("bad request")
)

// SimControl drives the simulated board's virtual phones and PSTN line.
// The gateway's main command implements it over board/sim.
type SimControl interface {
	// Ports describes every port, in port order.
	Ports() []SimPort
	// Port describes port n; an unknown port gives an error wrapping ErrNoPort.
	Port(n int) (SimPort, error)
	// Hook sets the phone's hook: "off", "on" or "flash".
	Hook(n int, state string) error
	// Dial sends digits as DTMF audio (mode "dtmf") or hook pulses ("pulse").
	Dial(n int, digits, mode string) error
	// Say makes the phone send the sum of these tones at this level until
	// told otherwise; no tones means silence.
	Say(n int, tonesHz []float64, levelDBFS float64) error
	// Heard returns the last d of audio the phone heard, 8 kHz linear.
	Heard(n int, d time.Duration) ([]int16, error)
}

// SimPort is the JSON state of one port of the sim board (contract 5).
type SimPort struct {
	// Port is the port number, from 1.
	Port int `json:"port"`
	// Kind is "fxs" (a virtual phone) or "fxo" (a virtual PSTN line).
	Kind string `json:"kind"`
	// Hook is "on" or "off".
	Hook string `json:"hook"`
	// Ringing is true while the phone's ringer sounds.
	Ringing bool `json:"ringing"`
	// Rings counts ring bursts since the phone last went off hook.
	Rings int `json:"rings"`
	// CallerID is the last caller id the phone decoded, or null.
	CallerID *CallerID `json:"caller_id"`
	// MWI is the visual message waiting indicator.
	MWI bool `json:"mwi"`
	// Hearing describes the last 500 ms the phone heard.
	Hearing Hearing `json:"hearing"`
	// LastRingMS and LastPauseMS are the last ring burst and pause lengths.
	LastRingMS  int `json:"last_ring_ms"`
	LastPauseMS int `json:"last_pause_ms"`
	// DTMFHeard is every DTMF digit heard since the phone last went off hook.
	DTMFHeard string `json:"dtmf_heard"`
	// Line is the virtual PSTN line of an FXO port; nil for FXS.
	Line *SimLine `json:"line,omitempty"`
}

// SimLine is the state of an FXO port's virtual central office line.
type SimLine struct {
	// State is idle, ringing, offhook or connected.
	State string `json:"state"`
	// Digits are the digits the central office received.
	Digits string `json:"digits"`
	// Volts is the tip-ring voltage the DAA sees, negative when reversed;
	// LoopMA the loop current while the DAA is off hook.
	Volts  float64 `json:"volts"`
	LoopMA float64 `json:"loop_ma"`
	// Polarity is "normal" or "reversed".
	Polarity string `json:"polarity,omitempty"`
	// Battery is false while the office has cut the line's battery.
	Battery bool `json:"battery"`
	// Extension is true while a parallel phone on the line is off hook.
	Extension bool `json:"extension"`
}

// SimPSTN is implemented by a SimControl whose board has FXO ports: it
// performs an action of the far side of a port's PSTN line (DESIGN.md
// contract 5): "ring" (with an optional caller ID), "answer", "hangup", and
// the extensions "reverse", "disconnect", "reconnect", "extension-off",
// "extension-on". It is a separate interface so that SimControls without
// FXO ports need not change; POST .../pstn answers 404 without it.
type SimPSTN interface {
	PSTN(n int, action string, cid *CallerID) error
}

// pstnActions are the actions POST /api/sim/ports/{n}/pstn takes.
var pstnActions = []string{"ring", "answer", "hangup", "reverse", "disconnect", "reconnect", "extension-off", "extension-on"}

// Hearing describes what a phone heard recently.
type Hearing struct {
	// TonesHz are the dominant tones, in Hz.
	TonesHz []float64 `json:"tones_hz"`
	// LevelDBFS is the signal level, in dB relative to full scale.
	LevelDBFS float64 `json:"level_dbfs"`
	// DTMF are the digits heard in that window.
	DTMF string `json:"dtmf"`
}

// CallerID is a decoded caller id.
type CallerID struct {
	Number string `json:"number"`
	Name   string `json:"name"`
	Time   string `json:"time"`
}

// Limits of the sim API.
const (
	// maxBody bounds a JSON request body.
	maxBody = 64 << 10
	// DefaultHeardMS is the heard.wav length when ms is not given.
	DefaultHeardMS = 2000
	// MaxHeardMS bounds heard.wav's ms.
	MaxHeardMS = 60000
	// DefaultSayDBFS is the level of say when level_dbfs is not given.
	DefaultSayDBFS = -12
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

func (s *Server) simError(w http.ResponseWriter, r *http.Request, err error) {
	code := errStatus(err)
	if code == http.StatusInternalServerError {
		s.log.Error("webui: sim request failed", "path", r.URL.Path, "err", err)
	}
	writeError(w, code, err.Error())
}

// normalize makes empty lists encode as [] rather than null.
func normalize(p SimPort) SimPort {
	if p.Hearing.TonesHz == nil {
		p.Hearing.TonesHz = []float64{}
	}
	return p
}

func (s *Server) handleSimPorts(w http.ResponseWriter, r *http.Request) {
	ports := s.opts.Sim.Ports()
	out := make([]SimPort, len(ports))
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
	p, err := s.opts.Sim.Port(n)
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
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	n, ok := portArg(w, r)
	if !ok {
		return
	}
	var req struct {
		State string `json:"state"`
	}
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
	var req struct {
		Digits string `json:"digits"`
		Mode   string `json:"mode"`
	}
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
	var req struct {
		TonesHz   *[]float64 `json:"tones_hz"`
		LevelDBFS *float64   `json:"level_dbfs"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.TonesHz == nil {
		writeError(w, http.StatusBadRequest, `tones_hz missing (use [] for silence)`)
		return
	}
	tones := *req.TonesHz
	if len(tones) > maxTones {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("more than %d tones", maxTones))
		return
	}
	for _, f := range tones {
		if !(f > 0 && f < heardRate/2) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("tone %g Hz is outside 0..%d Hz", f, heardRate/2))
			return
		}
	}
	level := float64(DefaultSayDBFS)
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
	ms := DefaultHeardMS
	if v := r.URL.Query().Get("ms"); v != "" {
		var err error
		ms, err = strconv.Atoi(v)
		if err != nil || ms < 1 || ms > MaxHeardMS {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("ms %q must be a number 1..%d", v, MaxHeardMS))
			return
		}
	}
	samples, err := s.opts.Sim.Heard(n, time.Duration(ms)*time.Millisecond)
	if err != nil {
		s.simError(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := wav.Write(&b, samples, heardRate); err != nil {
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
	var req struct {
		Action   string    `json:"action"`
		CallerID *CallerID `json:"caller_id"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	known := false
	for _, a := range pstnActions {
		known = known || a == req.Action
	}
	if !known {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("action %q is not one of %s", req.Action, strings.Join(pstnActions, ", ")))
		return
	}
	if req.CallerID != nil && req.Action != "ring" {
		writeError(w, http.StatusBadRequest, "caller_id goes with action ring only")
		return
	}
	ps, ok := s.opts.Sim.(SimPSTN)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("port %d has no PSTN line", n))
		return
	}
	if err := ps.PSTN(n, req.Action, req.CallerID); err != nil {
		s.simError(w, r, err)
		return
	}
	s.ok(w)
}

// heardRate is the sample rate of heard.wav: the line's 8 kHz.
const heardRate = 8000
