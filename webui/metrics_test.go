package webui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/voice/status"
)

// sampleLine is a sample of the text exposition format.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (\S+)$`)

// checkExposition checks the text format: every sample's family has a
// TYPE line before it, and no family's TYPE appears twice.
func checkExposition(t *testing.T, text string) map[string]string {
	t.Helper()
	typed := map[string]string{}
	samples := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			if _, dup := typed[name]; dup {
				t.Errorf("TYPE %s twice", name)
			}
			typed[name] = typ
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("not a sample line: %q", line)
			continue
		}
		fam := m[1]
		if typed[fam] == "" {
			base := strings.TrimSuffix(strings.TrimSuffix(fam, "_bucket"), "_count")
			if typed[base] != "histogram" {
				t.Errorf("sample %s without a TYPE", fam)
			}
		}
		samples[m[1]+m[2]] = m[3]
	}
	return samples
}

func TestEncodeMetrics(t *testing.T) {
	st := fakeStatus()
	st.Accounts[0].User = `we"ird\user`
	st.Ports[0].Call = &status.CallStats{Codec: "pcmu", MOS: 4.3, LossPercent: 2, JitterMS: 12}
	st.Loop.Histogram = []status.LatenessBucket{{UpToUS: 0, Count: 2}, {UpToUS: 100, Count: 1000}, {UpToUS: 1000, Count: 248}}
	prov := &ProvisioningStatus{LastSuccess: time.Unix(1700000000, 0), Ignored: []string{"P76", "P84"}}
	got := checkExposition(t, string(encodeMetrics(st, prov)))
	for k, want := range map[string]string{
		`loopstart_account_registered{account="1",user="we\"ird\\user"}`: "1",
		`loopstart_account_registered{account="2",user="1002"}`:          "0",
		`loopstart_account_state{account="2",state="failed"}`:            "1",
		`loopstart_calls_active`:                                         "1",
		`loopstart_call_mos{port="1",codec="pcmu"}`:                      "4.3",
		`loopstart_call_loss_ratio{port="1",codec="pcmu"}`:               "0.02",
		`loopstart_call_jitter_seconds{port="1",codec="pcmu"}`:           "0.012",
		`loopstart_port_off_hook{port="1",kind="fxs"}`:                   "1",
		`loopstart_loop_ticks_total`:                                     "1250",
		`loopstart_loop_lateness_seconds_bucket{le="0.0001"}`:            "1000",
		`loopstart_loop_lateness_seconds_bucket{le="0.001"}`:             "1248",
		`loopstart_loop_lateness_seconds_bucket{le="+Inf"}`:              "1250",
		`loopstart_loop_lateness_seconds_count`:                          "1250",
		`loopstart_provisioning_last_success_timestamp_seconds`:          "1.7e+09",
		`loopstart_provisioning_ok`:                                      "1",
		`loopstart_provisioning_ignored_parameters`:                      "2",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if _, ok := got[`loopstart_last_call_mos{port="1",codec="pcmu"}`]; ok {
		t.Error("a last call where there is none")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := New(Options{Status: fakeStatus})
	w := do(t, s, request{method: "GET", path: "/metrics"})
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	checkExposition(t, w.Body.String())
	if w := do(t, s, request{method: "GET", path: "/metrics", remote: "192.0.2.1:4000"}); w.Code != 403 {
		t.Errorf("from another host without login: %d", w.Code)
	}
	if w := do(t, s, request{method: "POST", path: "/metrics"}); w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
}

func BenchmarkEncodeMetrics(b *testing.B) {
	st := fakeStatus()
	st.Ports[0].Call = &status.CallStats{Codec: "pcmu", MOS: 4.3}
	b.ReportAllocs()
	for b.Loop() {
		encodeMetrics(st, &ProvisioningStatus{})
	}
}
