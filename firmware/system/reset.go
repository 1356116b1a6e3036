package system

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ResetHold is how long the board's reset button must be held for a
// factory reset.
const ResetHold = 10 * time.Second

// resetPoll is how often the reset button is read.
const resetPoll = 100 * time.Millisecond

// factoryKeep are the data directory entries a factory reset keeps: the
// installed firmware images and the last crash report.
var factoryKeep = map[string]bool{"firmware": true, CrashFileName: true}

// FactoryReset erases the data directory but for the installed firmware
// images and the last crash report: the configuration, the web UI's
// password, the calling features, uploaded certificates. The gateway must
// restart afterwards.
func FactoryReset(dataDir string) error {
	if dataDir == "" {
		return errors.New("factory reset: no data directory")
	}
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("factory reset: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if factoryKeep[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dataDir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("factory reset: %w", err)
	}
	return nil
}

// WatchResetButton reads pressed every poll until ctx ends; once the
// button has read pressed without a break for hold, it calls held and
// returns true. A read error counts as released.
func WatchResetButton(ctx context.Context, pressed func() (bool, error), hold, poll time.Duration, held func()) bool {
	t := time.NewTicker(poll)
	defer t.Stop()
	var since time.Time
	for {
		now := time.Now()
		if p, err := pressed(); err == nil && p {
			if since.IsZero() {
				since = now
			}
			if now.Sub(since) >= hold {
				held()
				return true
			}
		} else {
			since = time.Time{}
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// watchResetButton watches the board's reset button, when it has one:
// held for ResetHold, it asks for a reboot that erases the data directory
// once the gateway has stopped (resetOnStop).
func (b *booter) watchResetButton(ctx context.Context) {
	if b.o.ResetButton == nil {
		return
	}
	pressed, err := b.o.ResetButton(b.set.Board)
	if err != nil {
		b.problem(fmt.Errorf("reset button: %w", err))
		return
	}
	if pressed == nil {
		return
	}
	hold := ResetHold
	if b.resetHold > 0 {
		hold = b.resetHold
	}
	b.log.Info("reset button ready: hold it for a factory reset", "hold", hold)
	go WatchResetButton(ctx, pressed, hold, resetPoll, func() {
		b.log.Warn("reset button held: factory reset and reboot")
		b.resetPending.Store(true)
		select {
		case b.power <- ActionReboot:
		default: // a reboot is already under way
		}
	})
}

// resetOnStop erases the data directory when the reset button asked for
// it; Shutdown calls it once the gateway has stopped.
func (b *booter) resetOnStop() {
	if !b.resetPending.Load() {
		return
	}
	if err := FactoryReset(b.set.DataDir); err != nil {
		b.log.Error("factory reset", "err", err)
		return
	}
	b.log.Warn("factory reset done: the data directory is erased")
}
