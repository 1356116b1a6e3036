package media

import "net/netip"

// Symmetric RTP (RFC 4961 style, "comedia"): behind a NAT the far end's
// RTP may come from an address other than the one its SDP names, and it
// expects ours to go back there. Once a packet of the call (RTP version 2
// with the call's audio or telephone-event payload type; on an SRTP call
// only packets that authenticated get this far) arrives from another
// address, the stream sends its RTP there, and its RTCP to the port after.

// latch moves the stream's remote address to from when b is one of the
// call's packets and from differs; it runs on the loop.
func (s *Stream) latch(b []byte, from netip.AddrPort) {
	if !from.IsValid() || !s.active || from == s.sess.Remote || len(b) < 12 || b[0]>>6 != 2 {
		return
	}
	pt := b[1] & 0x7f
	if pt != s.sess.PT && (s.sess.DTMFPT == 0 || pt != s.sess.DTMFPT) {
		return
	}
	s.sess.Remote = from
	s.rtcpRemote = netip.AddrPortFrom(from.Addr(), from.Port()+1)
	s.latched.Add(1)
}

// Latched reports how many times the stream moved its remote address to
// where the far end's RTP came from.
func (s *Stream) Latched() uint64 { return s.latched.Load() }
