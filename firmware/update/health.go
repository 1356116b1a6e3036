package update

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUnhealthy means a trial image did not pass its health check in time.
var ErrUnhealthy = errors.New("the new firmware did not come up healthy")

// Default health check timing.
const (
	// DefaultHealthDeadline is how long a trial start has to prove itself.
	DefaultHealthDeadline = 60 * time.Second
	// DefaultHealthInterval is the pause between checks.
	DefaultHealthInterval = time.Second
)

// HealthOptions time a health check.
type HealthOptions struct {
	// Deadline bounds the whole wait; 0 means DefaultHealthDeadline.
	Deadline time.Duration
	// Interval is the pause between checks; 0 means DefaultHealthInterval.
	Interval time.Duration
	// After is the clock's timer; nil means time.After.
	After func(time.Duration) <-chan time.Time
}

// WaitHealthy calls check until it returns nil or Deadline has passed
// (counted in Intervals on the injected clock); it returns nil, or
// ErrUnhealthy wrapping the last check's error, or ctx's error.
func WaitHealthy(ctx context.Context, check func(context.Context) error, o HealthOptions) error {
	if o.Deadline <= 0 {
		o.Deadline = DefaultHealthDeadline
	}
	if o.Interval <= 0 {
		o.Interval = DefaultHealthInterval
	}
	if o.After == nil {
		o.After = time.After
	}
	var last error
	for waited := time.Duration(0); ; waited += o.Interval {
		if last = check(ctx); last == nil {
			return nil
		}
		if waited >= o.Deadline {
			return fmt.Errorf("%w within %s: %w", ErrUnhealthy, o.Deadline, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.After(o.Interval):
		}
	}
}

// Trial runs the health check of a trial start: Confirm when it passes,
// Rollback (with the reason) when it does not. It returns nil when the
// image was confirmed, the health error after a rollback, or ctx's
// error (the trial then stays pending, and the boot counter decides).
func (s *Store) Trial(ctx context.Context, check func(context.Context) error, o HealthOptions) error {
	err := WaitHealthy(ctx, check, o)
	switch {
	case err == nil:
		return s.Confirm()
	case errors.Is(err, ErrUnhealthy):
		if rerr := s.Rollback(err.Error()); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	default:
		return err
	}
}
