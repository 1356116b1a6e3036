package system

import (
	"fmt"
	"time"

	"github.com/beevik/ntp"
	"golang.org/x/sys/unix"
)

// SetClockNTP asks server (host or host:port) for the time with SNTP and
// sets the system clock when the answer is valid. It returns the offset
// that was applied.
func SetClockNTP(server string, timeout time.Duration) (time.Duration, error) {
	r, err := ntp.QueryWithOptions(server, ntp.QueryOptions{Timeout: timeout})
	if err != nil {
		return 0, fmt.Errorf("ntp %s: %w", server, err)
	}
	if err := r.Validate(); err != nil {
		return 0, fmt.Errorf("ntp %s: %w", server, err)
	}
	now := time.Now().Add(r.ClockOffset)
	tv := unix.NsecToTimeval(now.UnixNano())
	if err := unix.Settimeofday(&tv); err != nil {
		return 0, fmt.Errorf("set clock: %w", err)
	}
	return r.ClockOffset, nil
}
