package app

import (
	"testing"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/firmware/system"
)

// TestCompatibleBoardsKnown: every board `loopstart boot` can pick from a
// device tree is one `loopstart run --board` knows (an unknown one would
// stop the gateway at every start).
func TestCompatibleBoardsKnown(t *testing.T) {
	names := system.CompatibleBoardNames()
	if len(names) == 0 {
		t.Fatal("no device-tree boards")
	}
	for _, n := range names {
		if _, err := board.Lookup(n); err != nil {
			t.Errorf("device tree board %q: %v", n, err)
		}
	}
}
