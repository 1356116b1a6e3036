package webui

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loopstart/loopstart/voice/status"
)

// GET /metrics serves the gateway's status in the Prometheus text
// exposition format (version 0.0.4), written by hand from the same
// snapshot /api/status serves: nothing is added to the media path, and no
// client library is linked. It is guarded like /api/status: a session or
// an Authorization: Bearer token (from /api/login), or loopback on the
// sim board, or an address in Options.MetricsAllow.

func (s *Server) metricsRoutes() {
	s.mux.Handle("GET /metrics", s.metricsGate(http.HandlerFunc(s.handleMetrics)))
	s.mux.Handle("/metrics", methodNotAllowed("GET, HEAD"))
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	st, ok := s.status()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "status is not available")
		return
	}
	var prov *ProvisioningStatus
	if s.opts.Provisioning != nil {
		ps := s.opts.Provisioning.ProvisioningStatus()
		prov = &ps
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(encodeMetrics(st, prov))
	if s.opts.CallQuality != nil {
		w.Write(encodeCallQuality(s.opts.CallQuality.Snapshot()))
	}
}

// promWriter writes metric families in the text exposition format.
type promWriter struct {
	b bytes.Buffer
}

// family starts a metric family with its help text and type.
func (p *promWriter) family(name, typ, help string) {
	p.b.WriteString("# HELP " + name + " " + helpEscaper.Replace(help) + "\n")
	p.b.WriteString("# TYPE " + name + " " + typ + "\n")
}

// sample writes one sample; labels are name, value pairs.
func (p *promWriter) sample(name string, v float64, labels ...string) {
	p.b.WriteString(name)
	if len(labels) > 0 {
		p.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.b.WriteByte(',')
			}
			p.b.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		p.b.WriteByte('}')
	}
	p.b.WriteByte(' ')
	p.b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	p.b.WriteByte('\n')
}

// The text format's escapes: help texts escape \ and newlines, label
// values also ".
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// registrationStates are the account states /metrics reports one-hot.
var registrationStates = []string{"none", "registering", "registered", "failed", "unregistered"}

// encodeMetrics renders a status snapshot (and provisioning, when there
// is any) as Prometheus text.
func encodeMetrics(st status.Status, prov *ProvisioningStatus) []byte {
	var p promWriter
	p.family("loopstart_info", "gauge", "Firmware version and board; always 1.")
	p.sample("loopstart_info", 1, "version", st.Version, "board", st.Board)
	p.family("loopstart_uptime_seconds", "gauge", "How long the gateway has run.")
	p.sample("loopstart_uptime_seconds", st.Uptime)

	p.family("loopstart_account_registered", "gauge", "1 while the account is registered at its registrar.")
	for _, a := range st.Accounts {
		p.sample("loopstart_account_registered", b2f(a.State == "registered"), "account", a.ID, "user", a.User)
	}
	p.family("loopstart_account_state", "gauge", "The account's registration state, one-hot.")
	for _, a := range st.Accounts {
		for _, s := range registrationStates {
			p.sample("loopstart_account_state", b2f(a.State == s), "account", a.ID, "state", s)
		}
	}
	p.family("loopstart_account_last_code", "gauge", "SIP status code of the last registration response (0: none).")
	for _, a := range st.Accounts {
		p.sample("loopstart_account_last_code", float64(a.LastCode), "account", a.ID)
	}

	p.family("loopstart_port_off_hook", "gauge", "1 while the port is off hook.")
	for _, pt := range st.Ports {
		p.sample("loopstart_port_off_hook", b2f(pt.Hook == "off"), "port", strconv.Itoa(pt.Port), "kind", pt.Kind)
	}
	p.family("loopstart_port_fault", "gauge", "1 while the port is out of service.")
	for _, pt := range st.Ports {
		p.sample("loopstart_port_fault", b2f(pt.Fault != ""), "port", strconv.Itoa(pt.Port))
	}
	p.family("loopstart_port_mwi", "gauge", "1 while the port's mailbox has messages waiting.")
	for _, pt := range st.Ports {
		p.sample("loopstart_port_mwi", b2f(pt.MWI), "port", strconv.Itoa(pt.Port))
	}
	active := 0
	for _, pt := range st.Ports {
		if pt.Call != nil {
			active++
		}
	}
	p.family("loopstart_calls_active", "gauge", "Calls with media now.")
	p.sample("loopstart_calls_active", float64(active))
	callFamilies := []struct {
		name, help string
		v          func(*status.CallStats) float64
	}{
		{"mos", "E-model (G.107) listening quality estimate, 1..4.5.", func(c *status.CallStats) float64 { return c.MOS }},
		{"loss_ratio", "Share of the expected RTP packets lost.", func(c *status.CallStats) float64 { return c.LossPercent / 100 }},
		{"jitter_seconds", "RFC 3550 interarrival jitter.", func(c *status.CallStats) float64 { return c.JitterMS / 1000 }},
		{"rtt_seconds", "Round-trip time from RTCP (0 until known).", func(c *status.CallStats) float64 { return c.RTTMS / 1000 }},
		{"duration_seconds", "Duration of the call.", func(c *status.CallStats) float64 { return c.Seconds }},
	}
	for _, which := range []struct {
		prefix, help string
		get          func(status.PortStatus) *status.CallStats
	}{
		{"loopstart_call_", "The port's current call: ", func(pt status.PortStatus) *status.CallStats { return pt.Call }},
		{"loopstart_last_call_", "The port's previous call: ", func(pt status.PortStatus) *status.CallStats { return pt.LastCall }},
	} {
		for _, f := range callFamilies {
			name := which.prefix + f.name
			first := true
			for _, pt := range st.Ports {
				c := which.get(pt)
				if c == nil {
					continue
				}
				if first {
					p.family(name, "gauge", which.help+f.help)
					first = false
				}
				p.sample(name, f.v(c), "port", strconv.Itoa(pt.Port), "codec", c.Codec)
			}
		}
	}

	p.family("loopstart_loop_running", "gauge", "1 while the real-time media loop ticks.")
	p.sample("loopstart_loop_running", b2f(st.Loop.Running))
	for _, c := range []struct {
		name, help string
		v          uint64
	}{
		{"loopstart_loop_ticks_total", "Frames the media loop processed.", st.Loop.Ticks},
		{"loopstart_loop_late_total", "Frames processed later than a frame after their boundary.", st.Loop.Late},
		{"loopstart_loop_missed_total", "Frames the media loop never processed.", st.Loop.Missed},
		{"loopstart_sip_shed_total", "SIP requests answered 503 by the overload limits.", st.SIP.Shed},
		{"loopstart_sip_bans_total", "SIP sources banned for failing again and again.", st.SIP.Bans},
		{"loopstart_sip_dropped_banned_total", "Datagrams dropped from banned sources.", st.SIP.DroppedBanned},
		{"loopstart_sip_refused_conns_total", "TCP/TLS connections closed at accept.", st.SIP.RefusedConns},
	} {
		p.family(c.name, "counter", c.help)
		p.sample(c.name, float64(c.v))
	}
	p.family("loopstart_loop_max_lateness_seconds", "gauge", "Worst tick lateness seen.")
	p.sample("loopstart_loop_max_lateness_seconds", float64(st.Loop.MaxLatenessUS)/1e6)
	if len(st.Loop.Histogram) > 0 {
		// The loop's own lateness histogram, made cumulative; its sum is
		// not kept, so no _sum series.
		p.family("loopstart_loop_lateness_seconds", "histogram", "Media loop ticks by lateness.")
		hs := append([]status.LatenessBucket(nil), st.Loop.Histogram...)
		sort.SliceStable(hs, func(i, j int) bool {
			if hs[i].UpToUS == 0 || hs[j].UpToUS == 0 {
				return hs[j].UpToUS == 0 && hs[i].UpToUS != 0
			}
			return hs[i].UpToUS < hs[j].UpToUS
		})
		var cum uint64
		for _, h := range hs {
			cum += h.Count
			le := "+Inf"
			if h.UpToUS != 0 {
				le = strconv.FormatFloat(float64(h.UpToUS)/1e6, 'g', -1, 64)
			}
			p.sample("loopstart_loop_lateness_seconds_bucket", float64(cum), "le", le)
		}
		if hs[len(hs)-1].UpToUS != 0 {
			p.sample("loopstart_loop_lateness_seconds_bucket", float64(cum), "le", "+Inf")
		}
		p.sample("loopstart_loop_lateness_seconds_count", float64(cum))
	}

	if prov != nil {
		p.family("loopstart_provisioning_last_success_timestamp_seconds", "gauge", "When provisioning last applied or checked a file (0: never).")
		p.sample("loopstart_provisioning_last_success_timestamp_seconds", unix(prov.LastSuccess))
		p.family("loopstart_provisioning_last_failure_timestamp_seconds", "gauge", "When provisioning last failed (0: never).")
		p.sample("loopstart_provisioning_last_failure_timestamp_seconds", unix(prov.LastFailure))
		p.family("loopstart_provisioning_ok", "gauge", "1 when the last provisioning attempt succeeded.")
		p.sample("loopstart_provisioning_ok", b2f(!prov.LastSuccess.IsZero() && prov.LastError == ""))
		p.family("loopstart_provisioning_ignored_parameters", "gauge", "Vendor parameters of the last file applied that changed nothing.")
		p.sample("loopstart_provisioning_ignored_parameters", float64(len(prov.Ignored)))
	}
	return p.b.Bytes()
}
