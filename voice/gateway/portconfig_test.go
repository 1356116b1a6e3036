package gateway_test

import (
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestCheckConfigFlashWindow: a port's flash window reaches the line's
// timing check.
func TestCheckConfigFlashWindow(t *testing.T) {
	b, err := simboard.New(simboard.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, tc := range []struct {
		name     string
		min, max time.Duration
		ok       bool
	}{
		{"defaults", 0, 0, true},
		{"us", 300 * time.Millisecond, time.Second, true},
		{"timed-break recall", 70 * time.Millisecond, 130 * time.Millisecond, true},
		{"hang-up inside a dial pulse", 50 * time.Millisecond, 110 * time.Millisecond, false},
		{"min above max", time.Second, 500 * time.Millisecond, false},
		{"negative", -time.Millisecond, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gateway.Config{Board: &b.Board,
				SIP:   sip.Config{Listen: "127.0.0.1:0", Accounts: []sip.Account{{ID: "1", User: "101"}}},
				Ports: []gateway.PortConfig{{N: 1, Account: "1", FlashMin: tc.min, FlashMax: tc.max}}}
			if err := gateway.CheckConfig(cfg); (err == nil) != tc.ok {
				t.Errorf("CheckConfig: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
