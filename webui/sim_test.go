package webui

import "testing"

// TestSimPortJSONGolden: GET /api/sim/ports/{n} answers byte for byte as
// before the API's types moved to board/simapi (nil tones encode as []).
func TestSimPortJSONGolden(t *testing.T) {
	s := New(Options{Status: fakeStatus, Sim: newFakeSim()})
	for _, tt := range []struct{ path, want string }{
		{"/api/sim/ports/1", `{
  "port": 1,
  "kind": "fxs",
  "hook": "on",
  "ringing": false,
  "rings": 0,
  "caller_id": null,
  "mwi": false,
  "hearing": {
    "tones_hz": [],
    "level_dbfs": -90,
    "dtmf": ""
  },
  "last_ring_ms": 0,
  "last_pause_ms": 0,
  "dtmf_heard": ""
}
`},
		{"/api/sim/ports/3", `{
  "port": 3,
  "kind": "fxo",
  "hook": "",
  "ringing": false,
  "rings": 0,
  "caller_id": null,
  "mwi": false,
  "hearing": {
    "tones_hz": [],
    "level_dbfs": 0,
    "dtmf": ""
  },
  "last_ring_ms": 0,
  "last_pause_ms": 0,
  "dtmf_heard": "",
  "line": {
    "state": "idle",
    "digits": "",
    "volts": 0,
    "loop_ma": 0,
    "battery": false,
    "extension": false
  }
}
`},
	} {
		w := do(t, s, request{method: "GET", path: tt.path})
		if w.Code != 200 || w.Body.String() != tt.want {
			t.Errorf("GET %s: %d\n%s\nwant\n%s", tt.path, w.Code, w.Body, tt.want)
		}
	}
}
