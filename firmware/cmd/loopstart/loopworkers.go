package main

import (
	"fmt"

	"github.com/loopstart/loopstart/voice/media"
)

// checkLoopWorkers refuses a --loop-workers value the media loop would
// not take as given: below 0, or above media.MaxLoopWorkers.
func checkLoopWorkers(n int) error {
	if n < 0 || n > media.MaxLoopWorkers {
		return fmt.Errorf("--loop-workers %d: want 0 (one per %d ports, at most one per CPU) to %d", n, media.DefaultSplitActive, media.MaxLoopWorkers)
	}
	return nil
}
