package system

import (
	"context"
	"fmt"
	"time"

	"github.com/loopstart/loopstart/firmware/health"
)

// HealthSocket is where the supervised gateway serves its health endpoint
// (`loopstart run --health-socket`, package firmware/health): a unix
// socket that needs no web login and no TCP port.
const HealthSocket = "/run/loopstart/gateway-health.sock"

// LoopHealth decides whether the gateway's media loop is making progress,
// from the loop tick counter the gateway reports on its health socket.
type LoopHealth struct {
	// Socket is the gateway's health socket (HealthSocket on a board).
	Socket string

	last    uint64
	hasLast bool
	started int64     // the Report.Started of the process sampled last
	since   time.Time // when that process was first seen
}

// Reset forgets the last sample (a new gateway process counts from 0).
func (h *LoopHealth) Reset() { h.hasLast = false }

// Since returns when Check first saw the gateway process it samples now
// (zero before any report): a process that re-executed itself under the
// same PID is new from then, and its start-up grace counts from it.
func (h *LoopHealth) Since() time.Time { return h.since }

// Check reads the tick counter; it is healthy when the counter moved
// since the previous Check. The first Check after Reset only records.
// Without a deadline in ctx, it gives up after health.DefaultTimeout.
func (h *LoopHealth) Check(ctx context.Context) (ticks uint64, err error) {
	r, err := health.Read(ctx, h.Socket)
	if err != nil {
		return 0, err
	}
	ticks = r.Ticks
	if r.Started != h.started || h.since.IsZero() {
		h.started, h.since, h.hasLast = r.Started, time.Now(), false
	}
	prev, had := h.last, h.hasLast
	h.last, h.hasLast = ticks, true
	if had && ticks <= prev {
		return ticks, fmt.Errorf("health: media loop stalled at tick %d", ticks)
	}
	if !had && ticks == 0 {
		return 0, fmt.Errorf("health: media loop has not started")
	}
	return ticks, nil
}

// PetDecision says whether the watchdog may be petted now.
//   - The child is not running (restart back-off): the supervisor itself is
//     alive and in charge, pet.
//   - It runs and is younger than grace: starting up, pet.
//   - It runs and the loop is healthy: pet.
//   - Otherwise (a stalled loop, a frozen process): do not pet, and the
//     hardware resets the board after its timeout.
func PetDecision(running bool, age, grace time.Duration, healthy bool) bool {
	return !running || healthy || age < grace
}
