package system

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// LoopHealth decides whether the gateway's media loop is making progress,
// from the loop tick counter in the gateway's GET /api/status
// (`{"loop":{"ticks":N}}`), which the gateway serves without login on
// loopback in sim mode.
type LoopHealth struct {
	// URL is the status endpoint, e.g. http://127.0.0.1:80/api/status.
	URL string
	// Client does the request (default: 2 s timeout).
	Client *http.Client

	last    uint64
	hasLast bool
}

// Reset forgets the last sample (a new gateway process counts from 0).
func (h *LoopHealth) Reset() { h.hasLast = false }

// Check fetches the tick counter; it is healthy when the counter moved
// since the previous Check. The first Check after Reset only records.
func (h *LoopHealth) Check(ctx context.Context) (ticks uint64, err error) {
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return 0, fmt.Errorf("health: %w", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("health: %s answered %s", h.URL, resp.Status)
	}
	var st struct {
		Loop *struct {
			Ticks uint64 `json:"ticks"`
		} `json:"loop"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("health: %w", err)
	}
	if st.Loop == nil {
		return 0, fmt.Errorf("health: status has no loop counters")
	}
	ticks = st.Loop.Ticks
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
