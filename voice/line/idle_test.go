package line

import (
	"testing"
	"time"
)

// TestFXSIdle: a line is idle only on hook with nothing under way, and is
// idle again once a call, a ringing or a message-waiting signal is over.
func TestFXSIdle(t *testing.T) {
	tests := []struct {
		name     string
		act      func(r *rig)
		wantIdle bool
	}{
		{"fresh", func(r *rig) { r.run(100 * ms) }, true},
		{"off hook (dial tone)", func(r *rig) { r.port.off = true; r.run(100 * ms) }, false},
		{"off hook then back on", func(r *rig) {
			r.port.off = true
			r.run(300 * ms)
			r.port.off = false
			r.run(3 * time.Second)
		}, true},
		{"ringing", func(r *rig) { r.line.Ring("1001", "Alice"); r.run(300 * ms) }, false},
		{"ringing in a silent gap", func(r *rig) { r.line.Ring("1001", ""); r.run(2500 * ms) }, false},
		{"ringing stopped", func(r *rig) {
			r.line.Ring("1001", "")
			r.run(500 * ms)
			r.line.StopRinging()
			r.run(200 * ms)
		}, true},
		{"message waiting signal pending", func(r *rig) { r.line.SetMessageWaiting(true) }, false},
		{"message waiting signal sent", func(r *rig) { r.line.SetMessageWaiting(true); r.run(5 * time.Second) }, true},
		{"in a call", func(r *rig) {
			r.port.off = true
			r.run(100 * ms)
			r.line.Calling()
			r.line.Connected("sip:1002@pbx")
			r.run(100 * ms)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, Config{})
			tc.act(r)
			if got := r.line.Idle(); got != tc.wantIdle {
				t.Errorf("Idle() %v, want %v (state %v, hook off %v)", got, tc.wantIdle, r.line.st, r.line.offHook)
			}
		})
	}
}
