package media

import (
	"net/netip"
	"sync/atomic"

	"github.com/loopstart/loopstart/voice/capture"
)

// streamTap is where a stream copies its packets while a capture runs.
type streamTap struct {
	c     *capture.Capture
	port  int
	local netip.AddrPort
}

// SetCapture makes the stream copy the RTP it sends and receives into c,
// labelled as port's (see capture.Options.Port); nil stops it. Safe from
// any goroutine.
func (s *Stream) SetCapture(c *capture.Capture, port int) {
	if c == nil {
		s.tap.Store(nil)
		return
	}
	s.tap.Store(&streamTap{c: c, port: port, local: s.LocalAddr()})
}

// remoteAddr publishes the call's remote RTP address to the reader
// goroutine, for the capture's labels: atomics only, so the loop never
// waits and never allocates; a torn read mislabels at most one packet.
type remoteAddr struct {
	hi, lo atomic.Uint64
	port   atomic.Uint32 // port | 1<<16 for IPv4
}

func (r *remoteAddr) store(a netip.AddrPort) {
	b := a.Addr().As16()
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	p := uint32(a.Port())
	if a.Addr().Is4() {
		p |= 1 << 16
	}
	r.hi.Store(hi)
	r.lo.Store(lo)
	r.port.Store(p)
}

func (r *remoteAddr) load() netip.AddrPort {
	hi, lo, p := r.hi.Load(), r.lo.Load(), r.port.Load()
	var b [16]byte
	for i := range 8 {
		b[7-i] = byte(hi >> (8 * i))
		b[15-i] = byte(lo >> (8 * i))
	}
	a := netip.AddrFrom16(b)
	if p&(1<<16) != 0 {
		a = a.Unmap()
	}
	return netip.AddrPortFrom(a, uint16(p))
}

// captureSent copies one sent packet: wire as sent, plain the packet
// before SRTP encryption (nil on a clear call). Loop goroutine.
func (s *Stream) captureSent(t *streamTap, wire, plain []byte) {
	t.c.RTP(t.port, t.local, s.sess.Remote, wire, plain)
}

// captureReceived copies one received datagram as it arrived. Reader
// goroutine.
func (s *Stream) captureReceived(t *streamTap, wire []byte) {
	if t.c.Wants(t.port) {
		t.c.RTP(t.port, s.remoteCap.load(), t.local, wire, nil)
	}
}

// captureDecrypted copies a received SRTP packet after decryption.
// Reader goroutine.
func (s *Stream) captureDecrypted(t *streamTap, plain []byte) {
	t.c.Decrypted(t.port, s.remoteCap.load(), t.local, plain)
}
