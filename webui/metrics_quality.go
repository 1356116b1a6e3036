package webui

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/loopstart/loopstart/voice/status"
)

// encodeCallQuality renders the finished calls' quality histograms as
// Prometheus histograms (cumulative buckets, _sum, _count).
func encodeCallQuality(q status.CallQualitySnapshot) []byte {
	var p promWriter
	for _, h := range []struct {
		name, help string
		h          status.Histogram
	}{
		{"loopstart_finished_call_mos", "E-model MOS (listening quality) of each finished call with media.", q.MOS},
		{"loopstart_finished_call_loss_ratio", "Fraction of RTP packets lost over each finished call with media.", q.Loss},
		{"loopstart_finished_call_jitter_seconds", "RFC 3550 interarrival jitter at the end of each finished call with media.", q.Jitter},
	} {
		p.family(h.name, "histogram", h.help)
		var cum uint64
		for i, c := range h.h.Counts {
			cum += c
			le := "+Inf"
			if i < len(h.h.Bounds) {
				le = strconv.FormatFloat(h.h.Bounds[i], 'g', -1, 64)
			}
			p.sample(h.name+"_bucket", float64(cum), "le", le)
		}
		p.sample(h.name+"_sum", h.h.Sum)
		p.sample(h.name+"_count", float64(h.h.Count))
	}
	return p.b.Bytes()
}

// ParseAllowList parses a list of addresses and prefixes (10.0.0.5,
// 192.168.1.0/24, 2001:db8::/32) separated by commas or spaces; an empty
// list allows nobody.
func ParseAllowList(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// metricsAllowed reports whether r comes from an address that may
// scrape /metrics without a token (Options.MetricsAllow).
func (s *Server) metricsAllowed(r *http.Request) bool {
	if s.opts.MetricsAllow == nil {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.opts.MetricsAllow() {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// metricsGate lets an allowed address through, else asks what /api/status
// asks (a session, a bearer token, or loopback on the sim board).
func (s *Server) metricsGate(h http.Handler) http.Handler {
	gated := s.statusGate(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.metricsAllowed(r) {
			h.ServeHTTP(w, r)
			return
		}
		gated.ServeHTTP(w, r)
	})
}
