//go:build !linux

package media

import (
	"errors"
	"net/netip"
)

// poller is Linux only; elsewhere a stream keeps its reader goroutine.
type poller struct{}

func (s *Stream) initPoll() bool { return false }
func (s *Stream) pollReceive()   {}
func (s *Stream) pollFlush()     {}

// listenRaw is Linux only: elsewhere every stream has a net.UDPConn.
func listenRaw(netip.AddrPort) (rtpConn, error) { return nil, errors.ErrUnsupported }
