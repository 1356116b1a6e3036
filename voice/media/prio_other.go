//go:build !linux

package media

import "errors"

// setThreadPolicy is Linux only.
func setThreadPolicy(fifo bool, prio int) error {
	if !fifo {
		return nil
	}
	return errors.New("real-time scheduling is only supported on linux")
}
