//go:build !linux

package media

// poller is Linux only; elsewhere a stream keeps its reader goroutine.
type poller struct{}

func (s *Stream) initPoll() bool { return false }
func (s *Stream) pollReceive()   {}
func (s *Stream) pollFlush()     {}
