package webui

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Capturer runs the packet captures of the diagnostics page.
type Capturer interface {
	// StartCapture starts a capture, dropping the last one; a bad request
	// is refused with the reason and changes nothing.
	StartCapture(CaptureRequest) (CaptureStatus, error)
	// StopCapture ends the capture running; its packets stay.
	StopCapture() CaptureStatus
	// CaptureStatus reports on the capture running or last run.
	CaptureStatus() CaptureStatus
	// WritePcap writes the packets kept so far as a pcap file.
	WritePcap(w io.Writer) error
}

// CaptureRequest is what POST /api/capture takes.
type CaptureRequest struct {
	// Port limits RTP to one port's calls; 0 captures every port (SIP is
	// always captured whole).
	Port int `json:"port"`
	// Seconds is how long the capture runs; 0 means 60.
	Seconds int `json:"seconds"`
	// MaxBytes bounds the pcap file; 0 means 1 MiB.
	MaxBytes int `json:"max_bytes"`
	// Decrypted adds the decrypted copy after each SRTP packet.
	Decrypted bool `json:"decrypted"`
}

// CaptureStatus is what /api/capture answers.
type CaptureStatus struct {
	// Running is true until the time is up, the file is full or it is
	// stopped.
	Running bool `json:"running"`
	// Port, Seconds, MaxBytes and Decrypted are the capture's settings.
	Port      int  `json:"port"`
	Seconds   int  `json:"seconds"`
	MaxBytes  int  `json:"max_bytes"`
	Decrypted bool `json:"decrypted"`
	// Started and Until are when it started and when its time is up.
	Started time.Time `json:"started,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	// Packets and Bytes are what was kept (Bytes is the pcap size).
	Packets int `json:"packets"`
	Bytes   int `json:"bytes"`
	// Dropped counts packets that found the file full.
	Dropped int `json:"dropped"`
	// Ended says why it ended: time, full or stopped.
	Ended string `json:"ended,omitempty"`
}

func (s *Server) captureRoutes() {
	s.mux.Handle("POST /api/capture", s.requireAuth(http.HandlerFunc(s.handleCaptureStart)))
	s.mux.Handle("POST /api/capture/stop", s.requireAuth(http.HandlerFunc(s.handleCaptureStop)))
	s.mux.Handle("GET /api/capture", s.requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.noCapture(w) {
			return
		}
		writeJSON(w, http.StatusOK, s.opts.Capture.CaptureStatus())
	})))
	s.mux.Handle("GET /api/capture.pcap", s.requireAuth(http.HandlerFunc(s.handleCapturePcap)))
	s.mux.Handle("POST /diagnostics/capture", s.requireAuth(http.HandlerFunc(s.handleCaptureForm)))
}

func (s *Server) noCapture(w http.ResponseWriter) bool {
	if s.opts.Capture == nil {
		writeError(w, http.StatusNotFound, "packet capture is not available")
		return true
	}
	return false
}

// handleCaptureStart starts a capture: {"port":1,"seconds":60,"max_bytes":1048576,"decrypted":false}.
func (s *Server) handleCaptureStart(w http.ResponseWriter, r *http.Request) {
	if s.noCapture(w) {
		return
	}
	var req CaptureRequest
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, `want {"port":N,"seconds":N,"max_bytes":N,"decrypted":bool}`)
		return
	}
	st, err := s.opts.Capture.StartCapture(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.audit("packet capture started", "port", req.Port, "seconds", st.Seconds, "max_bytes", st.MaxBytes, "decrypted", req.Decrypted, "client", clientKey(r))
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleCaptureStop(w http.ResponseWriter, r *http.Request) {
	if s.noCapture(w) {
		return
	}
	writeJSON(w, http.StatusOK, s.opts.Capture.StopCapture())
}

// handleCapturePcap downloads what the capture kept so far.
func (s *Server) handleCapturePcap(w http.ResponseWriter, r *http.Request) {
	if s.noCapture(w) {
		return
	}
	st := s.opts.Capture.CaptureStatus()
	if st.Started.IsZero() {
		writeError(w, http.StatusNotFound, "no capture was started")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.tcpdump.pcap")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="loopstart-%s.pcap"`, st.Started.UTC().Format("20060102-150405")))
	w.Header().Set("Cache-Control", "no-store")
	if err := s.opts.Capture.WritePcap(w); err != nil {
		s.log.Warn("webui: capture download cut", "err", err)
	}
}

// handleCaptureForm starts or stops a capture from the diagnostics page.
func (s *Server) handleCaptureForm(w http.ResponseWriter, r *http.Request) {
	if s.noCapture(w) {
		return
	}
	if err := r.ParseForm(); err != nil {
		back(w, r, "/diagnostics", "", err)
		return
	}
	if r.PostForm.Get("action") == "stop" {
		st := s.opts.Capture.StopCapture()
		back(w, r, "/diagnostics", fmt.Sprintf("capture stopped: %d packets", st.Packets), nil)
		return
	}
	num := func(name string) (int, error) {
		v := r.PostForm.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", name, v)
		}
		return n, nil
	}
	var req CaptureRequest
	var err error
	if req.Port, err = num("port"); err == nil {
		if req.Seconds, err = num("seconds"); err == nil {
			var kib int
			kib, err = num("max_kib")
			req.MaxBytes = kib << 10
		}
	}
	req.Decrypted = r.PostForm.Get("decrypted") == "on"
	if err == nil {
		_, err = s.opts.Capture.StartCapture(req)
	}
	if err == nil {
		s.audit("packet capture started", "port", req.Port, "seconds", req.Seconds, "client", clientKey(r))
	}
	back(w, r, "/diagnostics", "capture started", err)
}
