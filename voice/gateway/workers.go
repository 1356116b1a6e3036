package gateway

import (
	"fmt"

	"github.com/loopstart/loopstart/voice/media"
)

// MaxLoopWorkers bounds Config.LoopWorkers.
const MaxLoopWorkers = media.MaxLoopWorkers

// LoopSplitPorts is how many busy ports make the media loop share a frame
// across its workers, and how many ports each worker is there for when
// Config.LoopWorkers is 0 (media.DefaultSplitActive).
const LoopSplitPorts = media.DefaultSplitActive

// CheckLoopWorkers refuses a Config.LoopWorkers value the loop would not
// take as given: below 0 or above MaxLoopWorkers.
func CheckLoopWorkers(n int) error {
	if n < 0 || n > MaxLoopWorkers {
		return fmt.Errorf("loop workers %d: want 0 (one per %d ports, at most one per CPU) to %d", n, LoopSplitPorts, MaxLoopWorkers)
	}
	return nil
}
