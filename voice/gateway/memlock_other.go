//go:build !linux

package gateway

// LockMemory is a no-op where mlockall is not available.
func LockMemory() error { return nil }
