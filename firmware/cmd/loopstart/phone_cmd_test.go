package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/loopstart/loopstart/dsp/wav"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/voice/status"
	"github.com/loopstart/loopstart/webui"
)

// phoneSim is a fake sim board for the phone CLI tests.
type phoneSim struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *phoneSim) ports() []simapi.Port {
	return []simapi.Port{
		{Port: 1, Kind: "fxs", Hook: "on", Hearing: simapi.Hearing{TonesHz: []float64{}}},
		{Port: 2, Kind: "fxs", Hook: "off", Hearing: simapi.Hearing{TonesHz: []float64{350, 440}, LevelDBFS: -18}},
	}
}

func (f *phoneSim) PortStates() []simapi.Port { return f.ports() }

func (f *phoneSim) PortState(n int) (simapi.Port, error) {
	for _, p := range f.ports() {
		if p.Port == n {
			return p, nil
		}
	}
	return simapi.Port{}, fmt.Errorf("port %d: %w", n, simapi.ErrNoPort)
}

func (f *phoneSim) act(n int, s string) error {
	if _, err := f.PortState(n); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
	return f.err
}

func (f *phoneSim) Hook(n int, state string) error {
	return f.act(n, fmt.Sprintf("hook %d %s", n, state))
}
func (f *phoneSim) Dial(n int, digits, mode string) error {
	return f.act(n, fmt.Sprintf("dial %d %s %s", n, digits, mode))
}
func (f *phoneSim) Say(n int, tones []float64, level float64) error {
	return f.act(n, fmt.Sprintf("say %d %v %g", n, tones, level))
}
func (f *phoneSim) Heard(n int, d time.Duration) ([]int16, error) {
	if err := f.act(n, fmt.Sprintf("heard %d %v", n, d)); err != nil {
		return nil, err
	}
	return []int16{1, 2, 3, -4}, nil
}
func (f *phoneSim) PSTN(n int, action string, cid *simapi.CallerID) error {
	return f.act(n, fmt.Sprintf("pstn %d %s", n, action))
}

func startSim(t *testing.T) (*phoneSim, string) {
	t.Helper()
	sim := &phoneSim{}
	srv := httptest.NewServer(webui.New(webui.Options{
		Status: func() status.Status { return status.Status{} },
		Sim:    sim,
	}))
	t.Cleanup(srv.Close)
	return sim, strings.TrimPrefix(srv.URL, "http://")
}

func TestPhoneCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
		call string
	}{
		{"off", []string{"1", "off"}, "hook 1 off"},
		{"on", []string{"2", "on"}, "hook 2 on"},
		{"flash", []string{"1", "flash"}, "hook 1 flash"},
		{"dial", []string{"1", "dial", "102"}, "dial 1 102 dtmf"},
		{"dial pulse after", []string{"1", "dial", "102", "--pulse"}, "dial 1 102 pulse"},
		{"dial pulse before", []string{"1", "dial", "--pulse", "102"}, "dial 1 102 pulse"},
		{"dial star", []string{"1", "dial", "*69#"}, "dial 1 *69# dtmf"},
		{"say", []string{"1", "say", "1000"}, "say 1 [1000] -12"},
		{"say level", []string{"2", "say", "350,440", "-20"}, "say 2 [350 440] -20"},
		{"say level after --", []string{"2", "say", "--", "1000", "-3.5"}, "say 2 [1000] -3.5"},
		{"quiet", []string{"1", "quiet"}, "say 1 [] -12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, addr := startSim(t)
			var stdout, stderr bytes.Buffer
			args := append([]string{"--http", addr}, tt.args...)
			if code := phoneCmd(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !reflect.DeepEqual(sim.calls, []string{tt.call}) {
				t.Errorf("calls = %q, want %q", sim.calls, tt.call)
			}
		})
	}
}

func TestPhoneStatusAndList(t *testing.T) {
	_, addr := startSim(t)
	var stdout, stderr bytes.Buffer
	if code := phoneCmd([]string{"--http", "http://" + addr + "/", "2", "status"}, &stdout, &stderr); code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr.String())
	}
	var p simapi.Port
	if err := json.Unmarshal(stdout.Bytes(), &p); err != nil || p.Port != 2 || p.Hook != "off" {
		t.Errorf("status = %+v, %v\n%s", p, err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "\n  \"kind\": \"fxs\"") || !strings.HasSuffix(stdout.String(), "}\n") {
		t.Errorf("status not indented:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := phoneCmd([]string{"list", "--http", addr}, &stdout, &stderr); code != 0 {
		t.Fatalf("list: exit %d: %s", code, stderr.String())
	}
	var list []simapi.Port
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil || len(list) != 2 {
		t.Errorf("list = %+v, %v", list, err)
	}
}

func TestPhoneHeard(t *testing.T) {
	sim, addr := startSim(t)
	out := filepath.Join(t.TempDir(), "heard.wav")
	var stdout, stderr bytes.Buffer
	if code := phoneCmd([]string{"--http", addr, "1", "heard", "--ms", "500", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, rate, err := wav.Read(f)
	if err != nil || rate != 8000 || !reflect.DeepEqual(samples, []int16{1, 2, 3, -4}) {
		t.Errorf("wav: %v %d %v", samples, rate, err)
	}
	if !reflect.DeepEqual(sim.calls, []string{"heard 1 500ms"}) {
		t.Errorf("calls = %q", sim.calls)
	}
	stdout.Reset()
	if code := phoneCmd([]string{"--http", addr, "1", "heard", "-o", "-"}, &stdout, &stderr); code != 0 {
		t.Fatalf("to stdout: exit %d: %s", code, stderr.String())
	}
	if !bytes.HasPrefix(stdout.Bytes(), []byte("RIFF")) {
		t.Errorf("stdout is not a WAV file")
	}
}

func TestPhoneErrors(t *testing.T) {
	sim, addr := startSim(t)
	tests := []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"unknown port", []string{"--http", addr, "7", "status"}, 1, "404 Not Found: port 7: no such port"},
		{"unknown port action", []string{"--http", addr, "7", "off"}, 1, "no such port"},
		{"server rejects digits", []string{"--http", addr, "1", "dial", "12*", "--pulse"}, 1, "cannot be sent as pulse"},
		{"server rejects tone", []string{"--http", addr, "1", "say", "5000"}, 1, "400 Bad Request: tone 5000 Hz"},
		{"no server", []string{"--http", "127.0.0.1:1", "1", "status"}, 1, "is the gateway running"},
		{"no args", []string{}, 2, "missing port number"},
		{"bad port", []string{"x", "status"}, 2, `"x" is not a port number`},
		{"no verb", []string{"1"}, 2, "missing command"},
		{"unknown verb", []string{"1", "ring"}, 2, `unknown command "ring"`},
		{"dial no digits", []string{"1", "dial"}, 2, "dial takes one argument"},
		{"pulse on status", []string{"1", "status", "--pulse"}, 2, "--pulse does not apply to status"},
		{"heard without -o", []string{"1", "heard"}, 2, "needs -o"},
		{"say bad hz", []string{"1", "say", "loud"}, 2, `"loud" is not a frequency`},
		{"say bad level", []string{"1", "say", "1000", "x"}, 2, `"x" is not a level`},
		{"list extra", []string{"list", "1"}, 2, "list takes no arguments"},
		{"bad flag", []string{"--nope", "1", "status"}, 2, "flag provided but not defined"},
		{"on extra", []string{"1", "on", "now"}, 2, "on takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := phoneCmd(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if !strings.Contains(stderr.String(), tt.has) {
				t.Errorf("stderr lacks %q:\n%s", tt.has, stderr.String())
			}
		})
	}
	if len(sim.calls) != 0 {
		t.Errorf("failed commands reached the sim: %q", sim.calls)
	}
	// A failing sim action reports the server's message.
	sim.err = errors.New("virtual phone is unplugged")
	var stdout, stderr bytes.Buffer
	if code := phoneCmd([]string{"--http", addr, "1", "off"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "500 Internal Server Error: virtual phone is unplugged") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestSimControlFXO drives the FXO port of a real sim board through the sim
// API the gateway serves: the pstn route, the port 3 state, `loopstart phone
// 3 status`, and the errors.
func TestSimControlFXO(t *testing.T) {
	b, err := simboard.New(simboard.Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(webui.New(webui.Options{
		Status: func() status.Status { return status.Status{} },
		Sim:    b,
	}))
	defer srv.Close()
	post := func(path, body string) int {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/api/sim/ports/3/pstn", `{"action":"ring","caller_id":{"number":"5551234","name":"ALICE"}}`, 200},
		{"/api/sim/ports/3/pstn", `{"action":"ring"}`, 400}, // already ringing
		{"/api/sim/ports/3/pstn", `{"action":"fly"}`, 400},
		{"/api/sim/ports/3/pstn", `{"action":"answer","caller_id":{"number":"1"}}`, 400},
		{"/api/sim/ports/1/pstn", `{"action":"ring"}`, 400},
		{"/api/sim/ports/9/pstn", `{"action":"ring"}`, 404},
		{"/api/sim/ports/3/hook", `{"state":"off"}`, 200},
		{"/api/sim/ports/3/hook", `{"state":"flash"}`, 400},
		{"/api/sim/ports/3/say", `{"tones_hz":[1000]}`, 200},
		{"/api/sim/ports/3/dial", `{"digits":"12","mode":"pulse"}`, 400},
		{"/api/sim/ports/3/dial", `{"digits":"12"}`, 200},
	} {
		if got := post(tc.path, tc.body); got != tc.code {
			t.Errorf("POST %s %s: %d, want %d", tc.path, tc.body, got, tc.code)
		}
	}
	resp, err := http.Get(srv.URL + "/api/sim/ports/3")
	if err != nil {
		t.Fatal(err)
	}
	var p simapi.Port
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p.Kind != "fxo" || p.Line == nil || p.Line.State != "ringing" || !p.Line.Extension ||
		p.CallerID == nil || p.CallerID.Number != "5551234" {
		t.Fatalf("port 3: %+v line %+v", p, p.Line)
	}
	if ports := b.PortStates(); len(ports) != 3 || ports[2].Port != 3 {
		t.Fatalf("ports %+v", ports)
	}
	if _, err := b.Heard(3, 1e9); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := phoneCmd([]string{"--http", strings.TrimPrefix(srv.URL, "http://"), "3", "status"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), `"kind": "fxo"`) && !strings.Contains(out.String(), `"kind":"fxo"`) {
		t.Fatalf("phone 3 status: exit %d, %s %s", code, out.String(), errb.String())
	}
}
