package webui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ping runs Options.Ping, or Ping.
func (s *Server) ping(ctx context.Context, host string, count int) (PingResult, error) {
	host = strings.TrimSpace(host)
	if host == "" || len(host) > 253 || strings.ContainsAny(host, " /\\@") {
		return PingResult{Host: host}, fmt.Errorf("%q is not a host name or address", host)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(count+1)*(PingTimeout+200*time.Millisecond))
	defer cancel()
	if s.opts.Ping != nil {
		return s.opts.Ping(ctx, host, count)
	}
	return Ping(ctx, host, count, 200*time.Millisecond)
}

func (s *Server) handleDiagnosticsForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		back(w, r, "/diagnostics", "", err)
		return
	}
	if r.PostForm.Get("action") == "ping" {
		count, err := strconv.Atoi(r.PostForm.Get("count"))
		if err != nil {
			count = 3
		}
		res, err := s.ping(r.Context(), r.PostForm.Get("host"), count)
		s.audit("ping", "host", res.Host, "received", res.Received, "client", clientKey(r))
		back(w, r, "/diagnostics", "ping: "+res.String(), err)
		return
	}
	if s.opts.Diagnostics == nil {
		writeError(w, http.StatusNotFound, "diagnostics are not available")
		return
	}
	on := r.PostForm.Get("sip_trace") == "on"
	err := s.opts.Diagnostics.SetSIPTrace(on)
	s.audit("sip trace", "on", on, "client", clientKey(r))
	back(w, r, "/diagnostics", fmt.Sprintf("SIP trace %s", map[bool]string{true: "on", false: "off"}[on]), err)
}

// handleDiagnosticsAPI sets the diagnostics settings: {"sip_trace":true}.
func (s *Server) handleDiagnosticsAPI(w http.ResponseWriter, r *http.Request) {
	if s.opts.Diagnostics == nil {
		writeError(w, http.StatusNotFound, "diagnostics are not available")
		return
	}
	var body struct {
		SIPTrace *bool `json:"sip_trace"`
	}
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	d.DisallowUnknownFields()
	if err := d.Decode(&body); err != nil || body.SIPTrace == nil {
		writeError(w, http.StatusBadRequest, `want {"sip_trace":true|false}`)
		return
	}
	if err := s.opts.Diagnostics.SetSIPTrace(*body.SIPTrace); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.audit("sip trace", "on", *body.SIPTrace, "client", clientKey(r))
	writeJSON(w, http.StatusOK, map[string]any{"sip_trace": s.opts.Diagnostics.SIPTrace()})
}

// handlePingAPI pings: {"host":"10.0.0.1","count":3}.
func (s *Server) handlePingAPI(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Host  string `json:"host"`
		Count int    `json:"count"`
	}
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	d.DisallowUnknownFields()
	if err := d.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `want {"host":"...","count":N}`)
		return
	}
	if body.Count == 0 {
		body.Count = 3
	}
	res, err := s.ping(r.Context(), body.Host, body.Count)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ping: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}
