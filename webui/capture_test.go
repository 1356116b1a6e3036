package webui

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type fakeCapturer struct {
	st   CaptureStatus
	last CaptureRequest
}

func (f *fakeCapturer) StartCapture(r CaptureRequest) (CaptureStatus, error) {
	if r.Seconds > 600 {
		return f.st, errors.New("bad capture options: duration 10m1s is out of range 1s..10m0s")
	}
	f.last = r
	f.st = CaptureStatus{Running: true, Port: r.Port, Seconds: max(r.Seconds, 60), MaxBytes: 1 << 20, Started: time.Unix(1700000000, 0), Until: time.Unix(1700000060, 0)}
	return f.st, nil
}
func (f *fakeCapturer) StopCapture() CaptureStatus {
	f.st.Running, f.st.Ended = false, "stopped"
	return f.st
}
func (f *fakeCapturer) CaptureStatus() CaptureStatus { return f.st }
func (f *fakeCapturer) WritePcap(w io.Writer) error {
	_, err := io.WriteString(w, "PCAPDATA")
	return err
}

// TestCaptureAPI: start, status, download and stop through the JSON API
// (authenticated), bad requests refused with the reason.
func TestCaptureAPI(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	fc := &fakeCapturer{}
	s.opts.Capture = fc
	lr, cookie := login(t, s, "")
	api := func(method, path, body string) (int, string, http.Header) {
		w := send(t, s, req{method: method, path: path, body: body, ctype: "application/json", cookie: cookie,
			hdr: map[string]string{"X-CSRF-Token": lr.CSRFToken}})
		out := w.Body.String()
		if strings.HasPrefix(out, "{") {
			out = strings.Join(strings.Fields(out), "") // compact JSON
		}
		return w.Code, out, w.Header()
	}
	if code, _, _ := api("GET", "/api/capture.pcap", ""); code != 404 {
		t.Errorf("download before any capture: %d", code)
	}
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"unknown field", `{"prot":1}`, 400, "max_bytes"},
		{"refused", `{"seconds":601}`, 400, "outofrange"},
		{"started", `{"port":2,"seconds":30,"max_bytes":65536,"decrypted":true}`, 200, `"running":true,"port":2,"seconds":60`},
	} {
		if code, body, _ := api("POST", "/api/capture", tc.body); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
	}
	if fc.last != (CaptureRequest{Port: 2, Seconds: 30, MaxBytes: 65536, Decrypted: true}) {
		t.Errorf("request %+v", fc.last)
	}
	if code, body, _ := api("GET", "/api/capture", ""); code != 200 || !strings.Contains(body, `"running":true`) {
		t.Errorf("status %d %s", code, body)
	}
	code, body, h := api("GET", "/api/capture.pcap", "")
	if code != 200 || body != "PCAPDATA" || h.Get("Content-Type") != "application/vnd.tcpdump.pcap" || !strings.Contains(h.Get("Content-Disposition"), ".pcap") {
		t.Errorf("download %d %q %v", code, body, h)
	}
	if code, body, _ := api("POST", "/api/capture/stop", ""); code != 200 || !strings.Contains(body, `"ended":"stopped"`) {
		t.Errorf("stop %d %s", code, body)
	}
	// Without a session nothing is served.
	if w := send(t, s, req{method: "GET", path: "/api/capture.pcap"}); w.Code == 200 {
		t.Errorf("anonymous download: %d", w.Code)
	}
	// The diagnostics page shows it and offers the download.
	w := send(t, s, req{method: "GET", path: "/diagnostics", cookie: cookie})
	if !strings.Contains(w.Body.String(), `id="capture-status"`) || !strings.Contains(w.Body.String(), `ended (stopped)`) {
		t.Errorf("diagnostics page:\n%s", w.Body.String())
	}
	// The page's form starts one.
	w = send(t, s, req{method: "POST", path: "/diagnostics/capture", body: "port=1&seconds=20&max_kib=128&decrypted=on&action=start&csrf_token=" + lr.CSRFToken,
		ctype: "application/x-www-form-urlencoded", cookie: cookie})
	if w.Code != 303 || strings.Contains(w.Header().Get("Location"), "err=") || fc.last != (CaptureRequest{Port: 1, Seconds: 20, MaxBytes: 128 << 10, Decrypted: true}) {
		t.Errorf("form: %d %s %+v", w.Code, w.Header().Get("Location"), fc.last)
	}
	w = send(t, s, req{method: "POST", path: "/diagnostics/capture", body: "port=x&csrf_token=" + lr.CSRFToken,
		ctype: "application/x-www-form-urlencoded", cookie: cookie})
	if !strings.Contains(w.Header().Get("Location"), "err=") {
		t.Errorf("bad form accepted: %s", w.Header().Get("Location"))
	}
}
