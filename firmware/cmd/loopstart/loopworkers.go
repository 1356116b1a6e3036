package main

import (
	"fmt"

	"github.com/loopstart/loopstart/firmware/app"
)

// checkLoopWorkers refuses a --loop-workers value the gateway would not
// take (app.CheckLoopWorkers), naming the flag.
func checkLoopWorkers(n int) error {
	if err := app.CheckLoopWorkers(n); err != nil {
		return fmt.Errorf("--loop-workers: %w", err)
	}
	return nil
}
