package webui

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

type fakeDiag struct{ on bool }

func (f *fakeDiag) SIPTrace() bool            { return f.on }
func (f *fakeDiag) SetSIPTrace(on bool) error { f.on = on; return nil }

func TestDiagnostics(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	d := &fakeDiag{}
	s.opts.Diagnostics = d
	var pinged []string
	s.opts.Ping = func(ctx context.Context, host string, count int) (PingResult, error) {
		pinged = append(pinged, host)
		return PingResult{Host: host, Addr: "127.0.0.1", Sent: count, Received: count, RTTs: []float64{0.1}}, nil
	}
	lr, cookie := login(t, s, "")
	bearer := map[string]string{"Authorization": "Bearer " + lr.Token}
	csrf := map[string]string{CSRFHeader: lr.CSRFToken}

	cases := []struct {
		name string
		r    req
		code int
		want string
	}{
		{"trace on (API)", req{method: "POST", path: "/api/diagnostics", body: `{"sip_trace":true}`, hdr: bearer}, 200, `"sip_trace": true`},
		{"trace bad body", req{method: "POST", path: "/api/diagnostics", body: `{"trace":1}`, hdr: bearer}, 400, "sip_trace"},
		{"trace off (form)", req{method: "POST", path: "/diagnostics", body: "sip_trace=off", ctype: "application/x-www-form-urlencoded", cookie: cookie, hdr: csrf}, 303, "SIP+trace+off"},
		{"form without CSRF", req{method: "POST", path: "/diagnostics", body: "sip_trace=on", ctype: "application/x-www-form-urlencoded", cookie: cookie}, 403, ""},
		{"ping (API)", req{method: "POST", path: "/api/diagnostics/ping", body: `{"host":"localhost","count":2}`, hdr: bearer}, 200, `"received": 2`},
		{"ping bad host", req{method: "POST", path: "/api/diagnostics/ping", body: `{"host":"a b"}`, hdr: bearer}, 400, "not a host"},
		{"ping (form)", req{method: "POST", path: "/diagnostics", body: "action=ping&host=127.0.0.1&count=3", ctype: "application/x-www-form-urlencoded", cookie: cookie, hdr: csrf}, 303, "3+of+3+replies"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := send(t, s, c.r)
			if w.Code != c.code {
				t.Fatalf("code %d, want %d: %s", w.Code, c.code, w.Body)
			}
			got := w.Body.String() + w.Header().Get("Location")
			if !strings.Contains(got, c.want) {
				t.Errorf("reply %q does not contain %q", got, c.want)
			}
		})
	}
	if d.on || strings.Join(pinged, ",") != "localhost,127.0.0.1" {
		t.Errorf("trace %v, pinged %v", d.on, pinged)
	}
	w := send(t, s, req{method: "GET", path: "/diagnostics", cookie: cookie, hdr: map[string]string{"Accept": "application/json"}})
	var m map[string]any
	if json.Unmarshal(w.Body.Bytes(), &m); m["sip_trace"] != false {
		t.Errorf("diagnostics JSON %s", w.Body)
	}
	w = send(t, s, req{method: "GET", path: "/diagnostics", cookie: cookie})
	if !strings.Contains(w.Body.String(), `id="ping-host"`) || !strings.Contains(w.Body.String(), `id="sip-trace">off`) {
		t.Errorf("diagnostics page:\n%s", w.Body)
	}
}

// TestPingLoopback pings 127.0.0.1 for real (an unprivileged ICMP socket
// or, as root, a raw one).
func TestPingLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := Ping(ctx, "127.0.0.1", 2, 10*time.Millisecond)
	if err != nil && os.Geteuid() != 0 && strings.Contains(err.Error(), "no ICMP socket") {
		t.Skipf("no ICMP socket for this user (net.ipv4.ping_group_range): %v", err)
	}
	if err != nil || res.Sent != 2 || res.Received != 2 || len(res.RTTs) != 2 {
		t.Fatalf("Ping = %+v, %v", res, err)
	}
	if !strings.Contains(res.String(), "2 of 2 replies from 127.0.0.1") {
		t.Errorf("summary %q", res)
	}
	if _, err := Ping(ctx, "127.0.0.1", 11, 0); err == nil {
		t.Error("count 11 accepted")
	}
	if _, err := Ping(ctx, "no-such-host.invalid", 1, 0); err == nil {
		t.Error("unresolvable host accepted")
	}
}
