//go:build !linux

package media

// readRealtime is Linux only; elsewhere the ordinary reader runs.
func (s *Stream) readRealtime(int) { s.read() }
