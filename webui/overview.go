package webui

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/status"
)

// overview is the status page's summary of the device.
type overview struct {
	// Model is the board the gateway runs on.
	Model string `json:"model"`
	// Version and Slot are the running firmware and its slot ("" without slots).
	Version string `json:"version"`
	Slot    string `json:"slot,omitempty"`
	// MAC is the hardware address of the first interface that has one;
	// provisioning asks for loopstart-<mac>.xml with it.
	MAC string `json:"mac,omitempty"`
	// Addrs are the IP addresses of the interfaces that are up, loopback
	// left out.
	Addrs []string `json:"addrs"`
	// Uptime is how long the gateway has run, in words.
	Uptime string `json:"uptime"`
}

// deviceOverview gathers the overview from the status and the interfaces.
func (s *Server) deviceOverview(st status.Status) *overview {
	ov := &overview{Model: st.Board, Version: st.Version, Addrs: []string{}, Uptime: uptimeText(st.Uptime)}
	if s.opts.Firmware != nil {
		ov.Slot = s.opts.Firmware.FirmwareStatus().Slot
	}
	for _, ni := range interfaces() {
		if ni.Name == "lo" || !ni.Up {
			continue
		}
		if ov.MAC == "" && ni.MAC != "" {
			ov.MAC = ni.MAC
		}
		for _, a := range ni.Addrs {
			if ip, _, err := net.ParseCIDR(a); err == nil && !ip.IsLoopback() {
				ov.Addrs = append(ov.Addrs, ip.String())
			}
		}
	}
	return ov
}

// uptimeText renders seconds as "3 d 4 h", "5 h 2 min" or "12 min 5 s".
func uptimeText(sec float64) string {
	d := time.Duration(sec) * time.Second
	days := int(d / (24 * time.Hour))
	h := int(d/time.Hour) % 24
	m := int(d/time.Minute) % 60
	sc := int(d/time.Second) % 60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, h)
	case h > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case m > 0:
		return fmt.Sprintf("%d min %d s", m, sc)
	}
	return fmt.Sprintf("%d s", sc)
}

// liveStatus is one event of /api/status/stream: everything the status
// page shows, so the page needs no other request to stay current.
type liveStatus struct {
	Status       status.Status      `json:"status"`
	Device       *overview          `json:"device"`
	Provisioning ProvisioningStatus `json:"provisioning"`
	// Sim are the virtual phones on the sim board, absent elsewhere.
	Sim []simapi.Port `json:"sim,omitempty"`
}

// statusEvery is how often /api/status/stream sends the status.
const statusEvery = time.Second

// maxStatusStream bounds one status stream; the browser's EventSource
// reconnects by itself.
const maxStatusStream = 30 * time.Minute

// handleStatusStream sends the status page's data as server-sent events,
// once a second, until the client goes away (or maxStatusStream).
func (s *Server) handleStatusStream(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.status(); !ok {
		writeError(w, http.StatusServiceUnavailable, "status is not available")
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming not supported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	end := time.NewTimer(maxStatusStream)
	defer end.Stop()
	for {
		st, _ := s.status()
		ev := liveStatus{Status: st, Device: s.deviceOverview(st), Provisioning: s.provStatus()}
		if s.opts.Sim != nil {
			ev.Sim = s.opts.Sim.PortStates()
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "event: status\ndata: %s\n\n", b)
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-tick.C:
		}
	}
}
