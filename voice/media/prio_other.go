//go:build !linux

package media

import "errors"

// setPolicyOf is Linux only.
func setPolicyOf(tid int, fifo bool, prio int) error {
	if !fifo {
		return nil
	}
	return errors.New("real-time scheduling is only supported on linux")
}

// threadID is Linux only: 0 stands for the calling thread.
func threadID() int { return 0 }
