package simapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func float(v float64) *float64 { return &v }

// TestPortJSONGolden: the wire form of a port (the sim control API contract), byte
// for byte as the web UI has always served it.
func TestPortJSONGolden(t *testing.T) {
	tests := []struct {
		name string
		port Port
		want string
	}{
		{"fxs", Port{Port: 2, Kind: KindFXS, Hook: "off", Ringing: true, Rings: 3,
			CallerID: &CallerID{Number: "5551234", Name: "ALICE", Time: "01021504"}, MWI: true,
			Hearing:    Hearing{TonesHz: []float64{350, 440}, LevelDBFS: -18.25, DTMF: "12#"},
			LastRingMS: 2000, LastPauseMS: 4000, DTMFHeard: "1002*"},
			`{"port":2,"kind":"fxs","hook":"off","ringing":true,"rings":3,"caller_id":{"number":"5551234","name":"ALICE","time":"01021504"},"mwi":true,"hearing":{"tones_hz":[350,440],"level_dbfs":-18.25,"dtmf":"12#"},"last_ring_ms":2000,"last_pause_ms":4000,"dtmf_heard":"1002*"}`},
		{"fxs idle", Port{Port: 1, Kind: KindFXS, Hook: "on", Hearing: Hearing{TonesHz: []float64{}, LevelDBFS: -120}},
			`{"port":1,"kind":"fxs","hook":"on","ringing":false,"rings":0,"caller_id":null,"mwi":false,"hearing":{"tones_hz":[],"level_dbfs":-120,"dtmf":""},"last_ring_ms":0,"last_pause_ms":0,"dtmf_heard":""}`},
		{"fxo", Port{Port: 3, Kind: KindFXO, Hook: "off", Ringing: true, Rings: 1,
			CallerID: &CallerID{Number: "5551234", Name: "ALICE"},
			Hearing:  Hearing{TonesHz: []float64{1000}, LevelDBFS: -12.5},
			Line:     &Line{State: "connected", Digits: "911", Volts: -8, LoopMA: 15, Polarity: "reversed", Battery: true, Extension: true}},
			`{"port":3,"kind":"fxo","hook":"off","ringing":true,"rings":1,"caller_id":{"number":"5551234","name":"ALICE","time":""},"mwi":false,"hearing":{"tones_hz":[1000],"level_dbfs":-12.5,"dtmf":""},"last_ring_ms":0,"last_pause_ms":0,"dtmf_heard":"","line":{"state":"connected","digits":"911","volts":-8,"loop_ma":15,"polarity":"reversed","battery":true,"extension":true}}`},
		{"fxo idle", Port{Port: 3, Kind: KindFXO, Hook: "on", Hearing: Hearing{TonesHz: []float64{}, LevelDBFS: -120},
			Line: &Line{State: "idle", Volts: 48, Polarity: "normal", Battery: true}},
			`{"port":3,"kind":"fxo","hook":"on","ringing":false,"rings":0,"caller_id":null,"mwi":false,"hearing":{"tones_hz":[],"level_dbfs":-120,"dtmf":""},"last_ring_ms":0,"last_pause_ms":0,"dtmf_heard":"","line":{"state":"idle","digits":"","volts":48,"loop_ma":0,"polarity":"normal","battery":true,"extension":false}}`},
		{"fxo no polarity", Port{Port: 3, Kind: KindFXO, Hearing: Hearing{TonesHz: []float64{}}, Line: &Line{State: "idle"}},
			`{"port":3,"kind":"fxo","hook":"","ringing":false,"rings":0,"caller_id":null,"mwi":false,"hearing":{"tones_hz":[],"level_dbfs":0,"dtmf":""},"last_ring_ms":0,"last_pause_ms":0,"dtmf_heard":"","line":{"state":"idle","digits":"","volts":0,"loop_ma":0,"battery":false,"extension":false}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.port)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("marshal:\n got %s\nwant %s", got, tt.want)
			}
			var back Port
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.port) {
				t.Errorf("round trip: %+v, want %+v", back, tt.port)
			}
		})
	}
}

// TestRequestJSON: the request bodies a client sends and the server reads.
func TestRequestJSON(t *testing.T) {
	tests := []struct {
		name string
		req  any
		want string
	}{
		{"hook", HookRequest{State: "flash"}, `{"state":"flash"}`},
		{"dial", DialRequest{Digits: "*69#", Mode: "dtmf"}, `{"digits":"*69#","mode":"dtmf"}`},
		{"say", SayRequest{TonesHz: []float64{697, 1209}, LevelDBFS: float(-6)}, `{"tones_hz":[697,1209],"level_dbfs":-6}`},
		{"say default level", SayRequest{TonesHz: []float64{1000}}, `{"tones_hz":[1000]}`},
		{"quiet", SayRequest{TonesHz: []float64{}}, `{"tones_hz":[]}`},
		{"ring", PSTNRequest{Action: "ring", CallerID: &CallerID{Number: "5551234", Name: "ALICE"}},
			`{"action":"ring","caller_id":{"number":"5551234","name":"ALICE","time":""}}`},
		{"answer", PSTNRequest{Action: "answer"}, `{"action":"answer"}`},
		{"ok", OKResponse{OK: true}, `{"ok":true}`},
		{"error", ErrorResponse{Error: "no such port: 9"}, `{"error":"no such port: 9"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			back := reflect.New(reflect.TypeOf(tt.req))
			if err := json.Unmarshal(got, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Elem().Interface(), tt.req) {
				t.Errorf("round trip: %+v, want %+v", back.Elem().Interface(), tt.req)
			}
		})
	}
}

// TestSayTonesMissing: a say body without tones_hz (or with null) decodes to
// nil tones, one with [] to empty tones, so a server can tell "missing" from
// "silence".
func TestSayTonesMissing(t *testing.T) {
	for _, tt := range []struct {
		body    string
		missing bool
	}{
		{`{}`, true},
		{`{"tones_hz":null}`, true},
		{`{"level_dbfs":-3}`, true},
		{`{"tones_hz":[]}`, false},
		{`{"tones_hz":[1000]}`, false},
	} {
		var r SayRequest
		if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if (r.TonesHz == nil) != tt.missing {
			t.Errorf("%s: tones %#v, missing want %v", tt.body, r.TonesHz, tt.missing)
		}
	}
}

// TestPSTNActions: the contract's three actions come first, and none repeats.
func TestPSTNActions(t *testing.T) {
	if got := strings.Join(PSTNActions[:3], ","); got != "ring,answer,hangup" {
		t.Errorf("first actions %s", got)
	}
	seen := map[string]bool{}
	for _, a := range PSTNActions {
		if seen[a] {
			t.Errorf("%s twice", a)
		}
		seen[a] = true
	}
}

// FuzzPortJSON: any bytes decode into a Port or fail cleanly, and a decoded
// Port encodes and decodes to itself.
func FuzzPortJSON(f *testing.F) {
	f.Add([]byte(`{"port":3,"kind":"fxo","caller_id":{"number":"1"},"hearing":{"tones_hz":[1000]},"line":{"state":"idle"}}`))
	f.Add([]byte(`{"port":1,"kind":"fxs","caller_id":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Port
		if json.Unmarshal(data, &p) != nil {
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var q Port
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatal(err)
		}
		b2, _ := json.Marshal(q)
		if string(b) != string(b2) {
			t.Fatalf("not stable: %s then %s", b, b2)
		}
	})
}

// TestHeardLength: heard.wav's ms, both APIs' reading of it.
func TestHeardLength(t *testing.T) {
	for _, c := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", DefaultHeardMS * time.Millisecond, true},
		{"1", time.Millisecond, true},
		{"60000", MaxHeardMS * time.Millisecond, true},
		{"0", 0, false},
		{"60001", 0, false},
		{"long", 0, false},
		{"1.5", 0, false},
	} {
		d, err := HeardLength(c.v)
		if (err == nil) != c.ok || d != c.want {
			t.Errorf("HeardLength(%q) = %v, %v; want %v, ok %v", c.v, d, err, c.want, c.ok)
		}
	}
}
