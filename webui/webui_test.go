package webui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/loopstart/loopstart/dsp/wav"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/status"
)

// fakeSim records calls and answers from a fixed set of ports.
type fakeSim struct {
	mu    sync.Mutex
	ports []simapi.Port
	calls []string
	err   error // returned by every action when set
	heard []int16
}

func newFakeSim() *fakeSim {
	return &fakeSim{
		ports: []simapi.Port{
			{Port: 1, Kind: "fxs", Hook: "on", Hearing: simapi.Hearing{LevelDBFS: -90}},
			{Port: 2, Kind: "fxs", Hook: "off", Ringing: true, Rings: 2,
				CallerID: &simapi.CallerID{Number: "101", Name: "Port 1", Time: "01021504"},
				Hearing:  simapi.Hearing{TonesHz: []float64{350, 440}, LevelDBFS: -18.2, DTMF: "12"}},
			{Port: 3, Kind: "fxo", Line: &simapi.Line{State: "idle"}},
		},
		heard: []int16{0, 1000, -1000, 32767, -32768},
	}
}

func (f *fakeSim) record(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}

func (f *fakeSim) PortStates() []simapi.Port { return f.ports }

func (f *fakeSim) PortState(n int) (simapi.Port, error) {
	for _, p := range f.ports {
		if p.Port == n {
			return p, nil
		}
	}
	return simapi.Port{}, fmt.Errorf("port %d: %w", n, simapi.ErrNoPort)
}

func (f *fakeSim) check(n int) error {
	_, err := f.PortState(n)
	return err
}

func (f *fakeSim) Hook(n int, state string) error {
	if err := f.check(n); err != nil {
		return err
	}
	return f.record(fmt.Sprintf("hook %d %s", n, state))
}

func (f *fakeSim) Dial(n int, digits, mode string) error {
	if err := f.check(n); err != nil {
		return err
	}
	return f.record(fmt.Sprintf("dial %d %s %s", n, digits, mode))
}

func (f *fakeSim) Say(n int, tones []float64, level float64) error {
	if err := f.check(n); err != nil {
		return err
	}
	return f.record(fmt.Sprintf("say %d %v %g", n, tones, level))
}

func (f *fakeSim) Heard(n int, d time.Duration) ([]int16, error) {
	if err := f.check(n); err != nil {
		return nil, err
	}
	if err := f.record(fmt.Sprintf("heard %d %v", n, d)); err != nil {
		return nil, err
	}
	return f.heard, nil
}

func (f *fakeSim) PSTN(n int, action string, cid *simapi.CallerID) error {
	if err := f.check(n); err != nil {
		return err
	}
	if cid != nil {
		return f.record(fmt.Sprintf("pstn %d %s %+v", n, action, *cid))
	}
	return f.record(fmt.Sprintf("pstn %d %s", n, action))
}

func fakeStatus() status.Status {
	return status.Status{
		Version: "test-1", Board: "sim", Uptime: 12.5,
		Ports: []status.PortStatus{
			{Port: 1, Kind: "fxs", Account: "1", Hook: "off", State: "talking", Peer: "sip:102@127.0.0.1", CallSeconds: 3},
			{Port: 2, Kind: "fxs", Account: "2", Hook: "on", State: "idle"},
		},
		Accounts: []status.AccountStatus{
			{ID: "1", User: "1001", Registrar: "sip:127.0.0.1:5060", State: "registered", LastCode: 200},
			{ID: "2", User: "1002", Registrar: "sip:127.0.0.1:5060", State: "failed", LastCode: 403, LastError: "wrong <password>"},
		},
		Loop: status.LoopStatus{Running: true, Ticks: 1250, Late: 1, MaxLatenessUS: 800},
	}
}

type request struct {
	method, path, body, remote string
}

func do(t *testing.T, h http.Handler, r request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, r.path, body)
	req.RemoteAddr = "127.0.0.1:40000"
	req.Host = "127.0.0.1:8080"
	if r.remote != "" {
		req.RemoteAddr = r.remote
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func jsonError(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (body %q)", ct, w.Body.String())
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Errorf("body %q is not a JSON error: %v", w.Body.String(), err)
	}
	return e.Error
}

func TestHealthz(t *testing.T) {
	s := New(Options{Status: fakeStatus})
	w := do(t, s, request{method: "GET", path: "/healthz", remote: "192.0.2.1:1234"})
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "ok" {
		t.Errorf("healthz = %d %q", w.Code, w.Body.String())
	}
}

func TestAPIStatus(t *testing.T) {
	s := New(Options{Status: fakeStatus, Version: "ignored"})
	for _, remote := range []string{"127.0.0.1:5555", "[::1]:5555", "127.9.9.9:1"} {
		w := do(t, s, request{method: "GET", path: "/api/status", remote: remote})
		if w.Code != 200 {
			t.Fatalf("from %s: %d %s", remote, w.Code, w.Body)
		}
		var got status.Status
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, fakeStatus()) {
			t.Errorf("status = %+v\nwant %+v", got, fakeStatus())
		}
		if !strings.Contains(w.Body.String(), `"state": "registered"`) {
			t.Errorf("JSON field names changed: %s", w.Body)
		}
	}
	t.Run("not loopback", func(t *testing.T) {
		for _, remote := range []string{"192.0.2.1:5555", "[2001:db8::1]:80", "garbage"} {
			w := do(t, s, request{method: "GET", path: "/api/status", remote: remote})
			if w.Code != http.StatusForbidden {
				t.Errorf("from %s: %d", remote, w.Code)
			}
			jsonError(t, w)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		w := do(t, s, request{method: "POST", path: "/api/status", body: "{}"})
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") == "" {
			t.Errorf("POST /api/status = %d, Allow %q", w.Code, w.Header().Get("Allow"))
		}
		jsonError(t, w)
	})
	t.Run("empty lists are arrays", func(t *testing.T) {
		s := New(Options{Status: func() status.Status { return status.Status{} }, Version: "v9"})
		w := do(t, s, request{method: "GET", path: "/api/status"})
		if !strings.Contains(w.Body.String(), `"ports": []`) || !strings.Contains(w.Body.String(), `"version": "v9"`) {
			t.Errorf("body = %s", w.Body)
		}
	})
	t.Run("no status func", func(t *testing.T) {
		w := do(t, New(Options{}), request{method: "GET", path: "/api/status"})
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("code = %d", w.Code)
		}
		jsonError(t, w)
	})
	t.Run("unknown api", func(t *testing.T) {
		w := do(t, s, request{method: "GET", path: "/api/nothing"})
		if w.Code != http.StatusNotFound {
			t.Errorf("code = %d", w.Code)
		}
		jsonError(t, w)
	})
}

func TestStatusPage(t *testing.T) {
	t.Run("sim", func(t *testing.T) {
		sim := newFakeSim()
		sim.ports[1].MWI = true
		sim.ports[0].CallerID = &simapi.CallerID{Unavailable: true, Standard: "dtmf"}
		st := func() status.Status {
			s := fakeStatus()
			s.Ports[1].MWI = true
			return s
		}
		s := New(Options{Status: st, Sim: sim, Version: "v1.2"})
		w := do(t, s, request{method: "GET", path: "/"})
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET / = %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		body := w.Body.String()
		for _, want := range []string{
			"v1.2", `data-port="1"`, `data-port="2"`, "talking", "sip:102@127.0.0.1", "registered",
			"wrong &lt;password&gt;", // escaped by html/template
			`data-state="off"`, `data-state="flash"`, `data-digit="#"`, "/static/app.js",
			"ticks 1250", "hears 350,440 Hz",
			`<span class="callerid">caller 101 Port 1 01021504</span>`, // no standard: none shown
			`<span class="callerid">caller out of area (dtmf)</span>`,
			`<span class="mwi">message waiting</span>`, "idle · messages waiting",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})
	t.Run("no sim", func(t *testing.T) {
		s := New(Options{Status: fakeStatus})
		body := do(t, s, request{method: "GET", path: "/"}).Body.String()
		if strings.Contains(body, "data-action") {
			t.Error("phone buttons shown without a sim board")
		}
		if !strings.Contains(body, "talking") {
			t.Error("page lacks port state")
		}
	})
	t.Run("not loopback", func(t *testing.T) {
		w := do(t, New(Options{Status: fakeStatus}), request{method: "GET", path: "/", remote: "192.0.2.7:1"})
		if w.Code != http.StatusForbidden {
			t.Errorf("code = %d", w.Code)
		}
	})
	t.Run("unknown page", func(t *testing.T) {
		w := do(t, New(Options{Status: fakeStatus}), request{method: "GET", path: "/nope"})
		if w.Code != http.StatusNotFound {
			t.Errorf("code = %d", w.Code)
		}
	})
	t.Run("static", func(t *testing.T) {
		s := New(Options{Status: fakeStatus})
		for path, want := range map[string]string{"/static/app.js": "/api/status", "/static/style.css": "keypad"} {
			w := do(t, s, request{method: "GET", path: path})
			if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
				t.Errorf("%s = %d", path, w.Code)
			}
		}
	})
}

func TestSimDisabled(t *testing.T) {
	s := New(Options{Status: fakeStatus})
	for _, r := range []request{
		{method: "GET", path: "/api/sim/ports"},
		{method: "GET", path: "/api/sim/ports/1"},
		{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":"off"}`},
	} {
		w := do(t, s, r)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s %s = %d", r.method, r.path, w.Code)
		}
		jsonError(t, w)
	}
}

func TestSimPorts(t *testing.T) {
	sim := newFakeSim()
	s := New(Options{Status: fakeStatus, Sim: sim})
	w := do(t, s, request{method: "GET", path: "/api/sim/ports"})
	if w.Code != 200 {
		t.Fatalf("code %d %s", w.Code, w.Body)
	}
	var list []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 3 {
		t.Fatalf("list = %v, %v", list, err)
	}
	// Contract 5 field names and shapes.
	p1 := list[0]
	for _, k := range []string{"port", "kind", "hook", "ringing", "rings", "caller_id", "mwi", "hearing"} {
		if _, ok := p1[k]; !ok {
			t.Errorf("port 1 lacks %q: %v", k, p1)
		}
	}
	if p1["caller_id"] != nil || p1["line"] != nil {
		t.Errorf("port 1 caller_id/line = %v/%v", p1["caller_id"], p1["line"])
	}
	if tones := p1["hearing"].(map[string]any)["tones_hz"]; !reflect.DeepEqual(tones, []any{}) {
		t.Errorf("empty tones_hz = %#v, want []", tones)
	}
	if line, ok := list[2]["line"].(map[string]any); !ok || line["state"] != "idle" {
		t.Errorf("fxo line = %v", list[2]["line"])
	}

	w = do(t, s, request{method: "GET", path: "/api/sim/ports/2"})
	var p2 simapi.Port
	if err := json.Unmarshal(w.Body.Bytes(), &p2); err != nil || w.Code != 200 {
		t.Fatalf("port 2: %d %v", w.Code, err)
	}
	if !reflect.DeepEqual(p2, sim.ports[1]) {
		t.Errorf("port 2 = %+v, want %+v", p2, sim.ports[1])
	}
	for _, path := range []string{"/api/sim/ports/9", "/api/sim/ports/abc", "/api/sim/ports/0", "/api/sim/ports/-1"} {
		w := do(t, s, request{method: "GET", path: path})
		if w.Code != http.StatusNotFound {
			t.Errorf("%s = %d", path, w.Code)
		}
		jsonError(t, w)
	}
}

func TestSimActions(t *testing.T) {
	big := `{"state":"off","pad":"` + strings.Repeat("x", maxBody) + `"}`
	tests := []struct {
		name     string
		r        request
		code     int
		wantCall string // recorded by the fake, "" for none
		errHas   string
	}{
		{"hook off", request{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":"off"}`}, 200, "hook 1 off", ""},
		{"hook flash", request{method: "POST", path: "/api/sim/ports/2/hook", body: `{"state":"flash"}`}, 200, "hook 2 flash", ""},
		{"hook bad state", request{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":"up"}`}, 400, "", `"up"`},
		{"hook bad json", request{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":`}, 400, "", "bad JSON"},
		{"hook wrong type", request{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":1}`}, 400, "", "bad JSON"},
		{"hook empty body", request{method: "POST", path: "/api/sim/ports/1/hook"}, 400, "", "empty body"},
		{"hook two values", request{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":"on"}{}`}, 400, "", "more than one"},
		{"hook too big", request{method: "POST", path: "/api/sim/ports/1/hook", body: big}, 413, "", "larger than"},
		{"hook unknown port", request{method: "POST", path: "/api/sim/ports/7/hook", body: `{"state":"off"}`}, 404, "", "no such port"},
		{"hook GET", request{method: "GET", path: "/api/sim/ports/1/hook"}, 405, "", "not allowed"},
		{"dial dtmf default", request{method: "POST", path: "/api/sim/ports/1/dial", body: `{"digits":"1002"}`}, 200, "dial 1 1002 dtmf", ""},
		{"dial star hash", request{method: "POST", path: "/api/sim/ports/1/dial", body: `{"digits":"*69#","mode":"dtmf"}`}, 200, "dial 1 *69# dtmf", ""},
		{"dial pulse", request{method: "POST", path: "/api/sim/ports/1/dial", body: `{"digits":"102","mode":"pulse"}`}, 200, "dial 1 102 pulse", ""},
		{"dial pulse star", request{method: "POST", path: "/api/sim/ports/1/dial", body: `{"digits":"*1","mode":"pulse"}`}, 400, "", "cannot be sent as pulse"},
		{"dial bad mode", request{method: "POST", path: "/api/sim/ports/1/dial", body: `{"digits":"1","mode":"mf"}`}, 400, "", "mode"},
		{"dial no digits", request{method: "POST", path: "/api/sim/ports/1/dial", body: `{}`}, 400, "", "digits missing"},
		{"dial letters", request{method: "POST", path: "/api/sim/ports/1/dial", body: `{"digits":"12x"}`}, 400, "", `'x'`},
		{"say", request{method: "POST", path: "/api/sim/ports/1/say", body: `{"tones_hz":[1000],"level_dbfs":-12}`}, 200, "say 1 [1000] -12", ""},
		{"say two tones default level", request{method: "POST", path: "/api/sim/ports/2/say", body: `{"tones_hz":[697,1209]}`}, 200, "say 2 [697 1209] -12", ""},
		{"say quiet", request{method: "POST", path: "/api/sim/ports/1/say", body: `{"tones_hz":[]}`}, 200, "say 1 [] -12", ""},
		{"say no tones", request{method: "POST", path: "/api/sim/ports/1/say", body: `{"level_dbfs":-3}`}, 400, "", "tones_hz missing"},
		{"say tone too high", request{method: "POST", path: "/api/sim/ports/1/say", body: `{"tones_hz":[4000]}`}, 400, "", "4000"},
		{"say negative tone", request{method: "POST", path: "/api/sim/ports/1/say", body: `{"tones_hz":[-5]}`}, 400, "", "-5"},
		{"say loud", request{method: "POST", path: "/api/sim/ports/1/say", body: `{"tones_hz":[1000],"level_dbfs":3}`}, 400, "", "level_dbfs"},
		{"say many", request{method: "POST", path: "/api/sim/ports/1/say", body: `{"tones_hz":[1,2,3,4,5]}`}, 400, "", "more than"},
		{"say GET", request{method: "GET", path: "/api/sim/ports/1/say"}, 405, "", "not allowed"},
		{"ports DELETE", request{method: "DELETE", path: "/api/sim/ports"}, 405, "", "not allowed"},
		{"port PUT", request{method: "PUT", path: "/api/sim/ports/1", body: "{}"}, 405, "", "not allowed"},
		{"heard POST", request{method: "POST", path: "/api/sim/ports/1/heard.wav"}, 405, "", "not allowed"},
		{"heard bad ms", request{method: "GET", path: "/api/sim/ports/1/heard.wav?ms=abc"}, 400, "", "ms"},
		{"heard zero ms", request{method: "GET", path: "/api/sim/ports/1/heard.wav?ms=0"}, 400, "", "ms"},
		{"heard long", request{method: "GET", path: "/api/sim/ports/1/heard.wav?ms=60001"}, 400, "", "ms"},
		{"heard unknown port", request{method: "GET", path: "/api/sim/ports/5/heard.wav"}, 404, "", "no such port"},
		{"pstn ring caller id", request{method: "POST", path: "/api/sim/ports/3/pstn", body: `{"action":"ring","caller_id":{"number":"5551234","name":"ALICE"}}`}, 200, "pstn 3 ring {Number:5551234 Name:ALICE Time: Standard: Private:false Unavailable:false}", ""},
		{"pstn hangup", request{method: "POST", path: "/api/sim/ports/3/pstn", body: `{"action":"hangup"}`}, 200, "pstn 3 hangup", ""},
		{"pstn extension", request{method: "POST", path: "/api/sim/ports/3/pstn", body: `{"action":"extension-off"}`}, 200, "pstn 3 extension-off", ""},
		{"pstn unknown action", request{method: "POST", path: "/api/sim/ports/3/pstn", body: `{"action":"fly"}`}, 400, "", `"fly" is not one of ring, answer, hangup`},
		{"pstn caller id without ring", request{method: "POST", path: "/api/sim/ports/3/pstn", body: `{"action":"answer","caller_id":{"number":"1"}}`}, 400, "", "ring only"},
		{"pstn unknown port", request{method: "POST", path: "/api/sim/ports/9/pstn", body: `{"action":"ring"}`}, 404, "", "no such port"},
		{"pstn GET", request{method: "GET", path: "/api/sim/ports/3/pstn"}, 405, "", "not allowed"},
		{"not loopback", request{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":"off"}`, remote: "10.0.0.2:9"}, 403, "", "loopback"},
		{"not loopback pstn", request{method: "POST", path: "/api/sim/ports/3/pstn", body: `{"action":"ring"}`, remote: "10.0.0.2:9"}, 403, "", "loopback"},
		{"not loopback list", request{method: "GET", path: "/api/sim/ports", remote: "10.0.0.2:9"}, 403, "", "loopback"},
		{"not loopback wav", request{method: "GET", path: "/api/sim/ports/1/heard.wav", remote: "10.0.0.2:9"}, 403, "", "loopback"},
		{"not loopback 405", request{method: "GET", path: "/api/sim/ports/1/hook", remote: "10.0.0.2:9"}, 403, "", "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newFakeSim()
			s := New(Options{Status: fakeStatus, Sim: sim})
			w := do(t, s, tt.r)
			if w.Code != tt.code {
				t.Fatalf("code = %d, want %d; body %s", w.Code, tt.code, w.Body)
			}
			if tt.code == 200 {
				if strings.TrimSpace(w.Body.String()) != "{\n  \"ok\": true\n}" {
					t.Errorf("body = %q", w.Body)
				}
			} else if msg := jsonError(t, w); !strings.Contains(msg, tt.errHas) {
				t.Errorf("error %q lacks %q", msg, tt.errHas)
			}
			if tt.code == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			var want []string
			if tt.wantCall != "" {
				want = []string{tt.wantCall}
			}
			if !reflect.DeepEqual(sim.calls, want) {
				t.Errorf("calls = %q, want %q", sim.calls, want)
			}
		})
	}
}

func TestSimErrorsMapped(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{fmt.Errorf("port 3 is fxo: %w", simapi.ErrBadRequest), 400},
		{fmt.Errorf("gone: %w", simapi.ErrNoPort), 404},
		{errors.New("model exploded"), 500},
	}
	for _, tt := range tests {
		sim := newFakeSim()
		sim.err = tt.err
		s := New(Options{Status: fakeStatus, Sim: sim})
		w := do(t, s, request{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":"off"}`})
		if w.Code != tt.code {
			t.Errorf("%v: code %d, want %d", tt.err, w.Code, tt.code)
		}
		if msg := jsonError(t, w); msg != tt.err.Error() {
			t.Errorf("message %q, want %q", msg, tt.err.Error())
		}
	}
}

func TestHeardWAV(t *testing.T) {
	sim := newFakeSim()
	s := New(Options{Status: fakeStatus, Sim: sim})
	for _, tt := range []struct {
		path string
		call string
	}{
		{"/api/sim/ports/2/heard.wav", "heard 2 2s"},
		{"/api/sim/ports/1/heard.wav?ms=250", "heard 1 250ms"},
	} {
		sim.calls = nil
		w := do(t, s, request{method: "GET", path: tt.path})
		if w.Code != 200 || w.Header().Get("Content-Type") != "audio/wav" {
			t.Fatalf("%s: %d %q", tt.path, w.Code, w.Header().Get("Content-Type"))
		}
		got, rate, err := wav.Read(bytes.NewReader(w.Body.Bytes()))
		if err != nil || rate != 8000 || !reflect.DeepEqual(got, sim.heard) {
			t.Errorf("%s: samples %v rate %d err %v", tt.path, got, rate, err)
		}
		if !reflect.DeepEqual(sim.calls, []string{tt.call}) {
			t.Errorf("calls = %q, want %q", sim.calls, tt.call)
		}
	}
}

// TestStatusPageFXO: the FXO port's row shows its line (voltage, loop
// current, polarity, call state) and, on the sim board, the central
// office's actions instead of a phone's buttons.
func TestStatusPageFXO(t *testing.T) {
	st := func() status.Status {
		s := fakeStatus()
		s.Ports = append(s.Ports, status.PortStatus{Port: 3, Kind: "fxo", Account: "3", Hook: "off", State: "talking",
			Line: &status.LineStatus{Volts: 8, LoopMA: 30, Polarity: "reversed", Battery: true, Call: "talking", Disconnect: "busy tone"}})
		return s
	}
	s := New(Options{Status: st, Sim: newFakeSim()})
	body := do(t, s, request{method: "GET", path: "/"}).Body.String()
	row := body[strings.Index(body, `data-port="3"`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{"8 V · 30 mA · reversed", "call talking", "last disconnect busy tone",
		`data-action="pstn" data-pstn="ring"`, `data-pstn="hangup"`, `data-pstn="reverse"`} {
		if !strings.Contains(row, want) {
			t.Errorf("port 3 row lacks %q:\n%s", want, row)
		}
	}
	if strings.Contains(row, `data-action="hook"`) {
		t.Error("the FXO row offers a phone's hook buttons")
	}
}
