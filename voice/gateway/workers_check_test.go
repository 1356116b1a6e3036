package gateway_test

import (
	"strings"
	"testing"

	"github.com/loopstart/loopstart/board"
	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestCheckLoopWorkers: which Config.LoopWorkers values are taken, and New
// refuses the others with the reason.
func TestCheckLoopWorkers(t *testing.T) {
	for _, tc := range []struct {
		n   int
		err bool
	}{
		{0, false}, {1, false}, {2, false}, {gateway.MaxLoopWorkers, false},
		{-1, true}, {gateway.MaxLoopWorkers + 1, true},
	} {
		err := gateway.CheckLoopWorkers(tc.n)
		if (err != nil) != tc.err {
			t.Errorf("CheckLoopWorkers(%d) = %v, want error %v", tc.n, err, tc.err)
		}
	}
	b, err := simboard.New(simboard.Opts{Definition: board.Sim()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = gateway.New(gateway.Config{Board: &b.Board, SIP: sip.Config{Listen: "127.0.0.1:0"}, LoopWorkers: -2})
	if err == nil || !strings.Contains(err.Error(), "loop workers -2") {
		t.Errorf("New with LoopWorkers -2: %v", err)
	}
}
