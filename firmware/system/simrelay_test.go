package system

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSimRelay relays the test hooks' /test/sim/... to a stand-in for the
// gateway's HTTPS web UI (its own self-signed certificate), keeping the
// method, query and body; without a web UI there is no relay.
func TestSimRelay(t *testing.T) {
	var got []string
	ui := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		if !strings.HasPrefix(r.URL.Path, "/api/sim/") {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer ui.Close()
	h := (&controller{sup: &Supervisor{}, state: func() any { return nil }, webUI: ui.URL}).testHooks()
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/test/sim/ports/1/hook", `{"state":"off"}`, 200, `POST /api/sim/ports/1/hook {"state":"off"}`},
		{"GET", "/test/sim/ports/1", "", 200, "GET /api/sim/ports/1 "},
		{"GET", "/test/sim/ports/2/heard.wav?ms=2000", "", 200, "GET /api/sim/ports/2/heard.wav?ms=2000 "},
	} {
		got = nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		if w.Code != c.code || len(got) != 1 || got[0] != c.want {
			t.Errorf("%s %s: %d %q, the web UI saw %q; want %d and %q", c.method, c.path, w.Code, w.Body.String(), got, c.code, c.want)
		}
	}
	w := httptest.NewRecorder()
	(&controller{sup: &Supervisor{}, state: func() any { return nil }}).testHooks().ServeHTTP(w, httptest.NewRequest("GET", "/test/sim/ports", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("no web UI: /test/sim/ports answered %d, want 404", w.Code)
	}
}

func TestWebUIURL(t *testing.T) {
	for _, c := range []struct {
		http, https int
		want        string
	}{
		{80, 443, "https://127.0.0.1:443"},
		{8080, 0, "http://127.0.0.1:8080"},
	} {
		if got := webUIURL(c.http, c.https); got != c.want {
			t.Errorf("webUIURL(%d, %d) = %q, want %q", c.http, c.https, got, c.want)
		}
	}
}
