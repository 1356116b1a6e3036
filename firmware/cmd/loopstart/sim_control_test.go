package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	simboard "github.com/loopstart/loopstart/board/sim"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/voice/status"
	"github.com/loopstart/loopstart/webui"
)

// TestSimControlFXO drives the FXO port through the real sim API: the pstn
// route, the port 3 state, `loopstart phone 3 status`, and the errors.
func TestSimControlFXO(t *testing.T) {
	b, err := simboard.New(simboard.Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(webui.New(webui.Options{
		Status: func() status.Status { return status.Status{} },
		Sim:    simControl{b},
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
	var p webui.SimPort
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p.Kind != "fxo" || p.Line == nil || p.Line.State != "ringing" || !p.Line.Extension ||
		p.CallerID == nil || p.CallerID.Number != "5551234" {
		t.Fatalf("port 3: %+v line %+v", p, p.Line)
	}
	if ports := (simControl{b}).Ports(); len(ports) != 3 || ports[2].Port != 3 {
		t.Fatalf("ports %+v", ports)
	}
	if _, err := (simControl{b}).Heard(3, 1e9); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := phoneCmd([]string{"--http", strings.TrimPrefix(srv.URL, "http://"), "3", "status"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), `"kind": "fxo"`) && !strings.Contains(out.String(), `"kind":"fxo"`) {
		t.Fatalf("phone 3 status: exit %d, %s %s", code, out.String(), errb.String())
	}
}
