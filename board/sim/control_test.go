package sim

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

func newControlBoard(t *testing.T) *Board {
	t.Helper()
	b, err := New(Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// golden compares v, encoded as the web UI serves it, with a file of
// testdata captured from the web UI.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Errorf("%s:\n got %s\nwant %s", name, got, want)
	}
}

// TestControlJSONGolden: the sim API's answers for a fresh board and for
// a ringing FXO line are byte for byte what they were.
func TestControlJSONGolden(t *testing.T) {
	b := newControlBoard(t)
	golden(t, "ports_fresh.json", b.PortStates())
	if err := b.PSTN(FXOPort, "ring", &simapi.CallerID{Number: "5551234", Name: "ALICE", Time: "01021504"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Hook(FXOPort, "off"); err != nil {
		t.Fatal(err)
	}
	p, err := b.PortState(FXOPort)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "port3_ringing.json", p)
}

// TestControlFXO drives the FXO port and the FXS ports through Control: the
// errors say whether the request or the port was wrong.
func TestControlFXO(t *testing.T) {
	b := newControlBoard(t)
	tests := []struct {
		name string
		do   func() error
		want error // nil, simapi.ErrBadRequest or simapi.ErrNoPort
	}{
		{"ring with caller id", func() error {
			return b.PSTN(3, "ring", &simapi.CallerID{Number: "5551234", Name: "ALICE"})
		}, nil},
		{"ring while ringing", func() error { return b.PSTN(3, "ring", nil) }, simapi.ErrBadRequest},
		{"unknown action", func() error { return b.PSTN(3, "fly", nil) }, simapi.ErrBadRequest},
		{"pstn on fxs", func() error { return b.PSTN(1, "ring", nil) }, simapi.ErrBadRequest},
		{"pstn on no port", func() error { return b.PSTN(9, "ring", nil) }, simapi.ErrNoPort},
		{"extension off", func() error { return b.Hook(3, "off") }, nil},
		{"fxo flash", func() error { return b.Hook(3, "flash") }, simapi.ErrBadRequest},
		{"far party says", func() error { return b.Say(3, []float64{1000}, -12) }, nil},
		{"far party pulses", func() error { return b.Dial(3, "12", "pulse") }, simapi.ErrBadRequest},
		{"far party dials", func() error { return b.Dial(3, "12", "dtmf") }, nil},
		{"far party too loud", func() error { return b.Say(3, []float64{1000}, 6) }, simapi.ErrBadRequest},
		{"hook no port", func() error { return b.Hook(0, "off") }, simapi.ErrNoPort},
		{"dial no port", func() error { return b.Dial(4, "1", "dtmf") }, simapi.ErrNoPort},
		{"say no port", func() error { return b.Say(9, nil, -12) }, simapi.ErrNoPort},
		{"fxs bad hook", func() error { return b.Hook(1, "up") }, simapi.ErrBadRequest},
		{"fxs dial on hook", func() error { return b.Dial(2, "1", "dtmf") }, simapi.ErrBadRequest},
		{"fxs off hook", func() error { return b.Hook(1, "off") }, nil},
		{"fxs says", func() error { return b.Say(1, []float64{697, 1209}, -12) }, nil},
		{"fxs quiet", func() error { return b.Say(1, nil, -12) }, nil},
		{"fxs dials", func() error { return b.Dial(1, "1002", "dtmf") }, nil},
	}
	for _, tt := range tests {
		err := tt.do()
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	p, err := b.PortState(3)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "fxo" || p.Line == nil || p.Line.State != "ringing" || !p.Line.Extension ||
		p.CallerID == nil || p.CallerID.Number != "5551234" {
		t.Fatalf("port 3: %+v line %+v", p, p.Line)
	}
	if p, err := b.PortState(1); err != nil || p.Kind != "fxs" || p.Hook != "off" || p.Line != nil {
		t.Fatalf("port 1: %+v, %v", p, err)
	}
	if _, err := b.PortState(4); !errors.Is(err, simapi.ErrNoPort) || err.Error() != "no such port: 4" {
		t.Fatalf("port 4: %v", err)
	}
	if ports := b.PortStates(); len(ports) != 3 || ports[0].Port != 1 || ports[1].Port != 2 || ports[2].Port != 3 {
		t.Fatalf("ports %+v", ports)
	}
	for _, n := range []int{1, 3} {
		if _, err := b.Heard(n, time.Second); err != nil {
			t.Fatalf("heard %d: %v", n, err)
		}
	}
	if _, err := b.Heard(5, time.Second); !errors.Is(err, simapi.ErrNoPort) {
		t.Fatalf("heard 5: %v", err)
	}
}
