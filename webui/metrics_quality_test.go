package webui

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/voice/status"
)

// TestCallQualityMetrics: the finished calls' histograms are served as
// Prometheus histograms with cumulative buckets.
func TestCallQualityMetrics(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	q := status.NewCallQuality()
	q.Observe(status.CallStats{PacketsReceived: 50, MOS: 4.4, LossPercent: 0.2, JitterMS: 3})
	q.Observe(status.CallStats{PacketsReceived: 50, MOS: 2.7, LossPercent: 8, JitterMS: 40})
	s.opts.CallQuality = q
	_, cookie := login(t, s, "")
	body := send(t, s, req{method: "GET", path: "/metrics", cookie: cookie}).Body.String()
	for _, want := range []string{
		"# TYPE loopstart_finished_call_mos histogram\n",
		`loopstart_finished_call_mos_bucket{le="2.5"} 0` + "\n",
		`loopstart_finished_call_mos_bucket{le="3"} 1` + "\n",
		`loopstart_finished_call_mos_bucket{le="4.3"} 1` + "\n",
		`loopstart_finished_call_mos_bucket{le="+Inf"} 2` + "\n",
		"loopstart_finished_call_mos_sum 7.1",
		"loopstart_finished_call_mos_count 2\n",
		`loopstart_finished_call_loss_ratio_bucket{le="0.005"} 1` + "\n",
		`loopstart_finished_call_loss_ratio_bucket{le="0.1"} 2` + "\n",
		`loopstart_finished_call_jitter_seconds_bucket{le="0.005"} 1` + "\n",
		`loopstart_finished_call_jitter_seconds_bucket{le="0.05"} 2` + "\n",
		"loopstart_finished_call_jitter_seconds_count 2\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

// TestMetricsAllowList: an allowed address scrapes without a token;
// others still need one, and the rest of the API is not opened.
func TestMetricsAllowList(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	allow, err := ParseAllowList("192.0.2.7, 198.51.100.0/24 2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	s.opts.MetricsAllow = func() []netip.Prefix { return allow }
	login(t, s, "") // a password exists: no first-run exception
	for _, tc := range []struct {
		remote, path string
		ok           bool
	}{
		{"192.0.2.7:4000", "/metrics", true},
		{"198.51.100.200:4000", "/metrics", true},
		{"[2001:db8::1]:4000", "/metrics", true},
		{"[::ffff:192.0.2.7]:4000", "/metrics", true},
		{"192.0.2.8:4000", "/metrics", false},
		{"192.0.2.7:4000", "/api/status", false},
	} {
		w := send(t, s, req{method: "GET", path: tc.path, remote: tc.remote})
		if (w.Code == 200) != tc.ok {
			t.Errorf("%s %s: %d", tc.remote, tc.path, w.Code)
		}
	}
}

func TestParseAllowList(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"10.0.0.5", "10.0.0.5/32", ""},
		{"10.1.2.3/16,\t::1", "10.1.0.0/16 ::1/128", ""},
		{"10.0.0.0/33", "", "out of range"},
		{"host.example", "", "unexpected character"},
	} {
		ps, err := ParseAllowList(tc.in)
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v", tc.in, err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %v %v", tc.in, got, err)
		}
	}
}

func FuzzParseAllowList(f *testing.F) {
	f.Add("10.0.0.0/8, ::1")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseAllowList(s)
		if err == nil {
			for _, p := range ps {
				if !p.IsValid() || p != p.Masked() {
					t.Fatalf("%q gave %v", s, p)
				}
			}
		}
	})
}
