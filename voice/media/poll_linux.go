package media

import (
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// pollMax bounds the datagrams one Receive reads from a polled stream's
// socket: twice the ring, so that a flood of packets at a call's port costs
// the loop a bounded amount of work per frame (the rest wait in, or are
// dropped by, the kernel's socket buffer).
const pollMax = 2 * ringSlots

// flushMax bounds the stale datagrams one flush discards: more than a
// socket's default receive buffer holds of RTP packets.
const flushMax = 1024

// pollStale is how long a polled stream may go unread (its call's audio
// not played: held, a muted line) before what waits at its socket is
// thrown away rather than played late.
const pollStale = int64(100 * time.Millisecond)

// freshAge is the age below which a datagram found after a stale stretch
// is kept: it arrived within the last two frames.
const freshAge = int64(2 * pcm.FrameDuration)

// maxPacketAge caps how long ago a kernel time stamp may say a datagram
// arrived; an older stamp (the wall clock stepped) is taken as "now".
const maxPacketAge = int64(2 * time.Second)

// poller is a polled stream's socket state (the default: StreamOpts): the loop
// reads the socket itself, without blocking, each time the call's frame
// is played, and the kernel stamps each datagram's arrival
// (SO_TIMESTAMPNS), so the jitter buffer sees when it arrived, not when
// the loop came by.
type poller struct {
	rc      syscall.RawConn
	stamped bool // SO_TIMESTAMPNS is on
	read    func(fd uintptr) bool
	discard bool  // read drops what it reads (Start's flush, a stale socket)
	counted bool  // what discard drops is counted as dropped
	last    int64 // monoNow of the last poll; 0 after Start
	// Per recvmmsg(2), set before each call: its headers and, for each,
	// the datagram's buffers.
	mm [pollBatch]mmsghdr
	m  [pollBatch]pollMsg
	// Per poll: the clocks the kernel's stamps are converted with.
	monoNow, realNow int64
}

// pollBatch is how many datagrams one recvmmsg(2) asks for. A call's
// socket holds half a packet a frame at 20 ms packets: a batch of two
// reads what came and learns that nothing more waits (fewer than two
// came back) in one system call, where one recvmsg(2) at a time needs a
// second that finds the socket empty (EAGAIN).
const pollBatch = 2

// mmsghdr is the kernel's struct mmsghdr: a message header and the
// length the call received into it (Go pads the struct to the header's
// alignment, as C does).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// pollMsg is the storage one datagram of a batch is read into.
type pollMsg struct {
	iov  unix.Iovec
	rsa  unix.RawSockaddrAny
	ctrl [8]uint64 // control messages, aligned for unix.Cmsghdr
	buf  [maxPacket]byte
}

// initPoll makes s a polled stream. It reports false when the socket
// cannot be polled (the stream then keeps a reader goroutine).
func (s *Stream) initPoll() bool {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return false
	}
	p := &poller{rc: rc}
	_ = rc.Control(func(fd uintptr) {
		p.stamped = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) == nil
	})
	p.read = s.pollSocket // one method value for the stream's life: no allocation per poll
	s.poll = p
	return true
}

// pollReceive reads what arrived at a polled stream's socket into the ring.
func (s *Stream) pollReceive() {
	p := s.poll
	t := time.Now()
	p.monoNow, p.realNow = int64(t.Sub(s.epoch)), t.UnixNano()
	if p.last != 0 && p.monoNow-p.last > pollStale {
		// Not read for a while: what waited is older than anything
		// the jitter buffer would still play, but for what came in
		// the last frames.
		p.discard, p.counted = true, true
		_ = p.rc.Read(p.read)
		p.discard, p.counted = false, false
	}
	p.last = p.monoNow
	_ = p.rc.Read(p.read)
}

// pollFlush discards what waits at a polled stream's socket (before a
// call's media starts, as the reader goroutine discards between calls).
func (s *Stream) pollFlush() {
	p := s.poll
	p.discard = true
	_ = p.rc.Read(p.read)
	p.discard = false
	p.last = 0
}

// pollSocket is the RawConn.Read callback: non-blocking recvmmsg(2)
// calls of pollBatch datagrams, until one returns fewer or pollMax
// datagrams are read. It never asks to wait in Go's poller.
func (s *Stream) pollSocket(fd uintptr) bool {
	p := s.poll
	limit := pollMax
	if p.discard {
		limit = flushMax
	}
	for got := 0; got < limit; {
		want := min(pollBatch, limit-got)
		for i := range want {
			p.prepare(i)
		}
		r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&p.mm[0])), uintptr(want), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return true // EAGAIN: nothing more; anything else: try next frame
		}
		for i := range int(r) {
			s.take(i)
		}
		if got += int(r); int(r) < want {
			return true // the socket is empty
		}
	}
	return true
}

// prepare points batch message i's header at its buffers.
func (p *poller) prepare(i int) {
	m, h := &p.m[i], &p.mm[i].hdr
	m.iov.Base = &m.buf[0]
	m.iov.SetLen(len(m.buf))
	h.Name = (*byte)(unsafe.Pointer(&m.rsa))
	h.Namelen = unix.SizeofSockaddrAny
	h.Iov = &m.iov
	h.SetIovlen(1)
	h.Control = (*byte)(unsafe.Pointer(&m.ctrl[0]))
	h.SetControllen(int(unsafe.Sizeof(m.ctrl)))
	h.Flags = 0
	p.mm[i].n = 0
}

// take hands batch message i to the stream, or drops it (a flush, a stale
// socket, a datagram longer than any slot holds).
func (s *Stream) take(i int) {
	p := s.poll
	if p.discard {
		if !p.counted {
			return // Start's flush
		}
		if !p.stamped || p.monoNow-p.arrival(i) > freshAge {
			s.dropped.Add(1)
			return
		}
		// The stale ones are gone: this one and the rest are recent
		// (they come in order of arrival).
		p.discard = false
	}
	if p.mm[i].hdr.Flags&unix.MSG_TRUNC != 0 {
		s.dropped.Add(1) // longer than any slot holds
		return
	}
	m := &p.m[i]
	s.arrived(m.buf[:int(p.mm[i].n)], &s.phdr, rawAddrPort(&m.rsa), p.arrival(i))
}

// arrival is batch message i's arrival, in nanoseconds since the stream's
// epoch, from the kernel's stamp in its control messages (the poll's time
// when there is none).
func (p *poller) arrival(i int) int64 {
	if !p.stamped {
		return p.monoNow
	}
	m := &p.m[i]
	clen := int(p.mm[i].hdr.Controllen)
	ctrl := unsafe.Slice((*byte)(unsafe.Pointer(&m.ctrl[0])), unsafe.Sizeof(m.ctrl))
	hdr := unix.CmsgLen(0)
	for off := 0; off+hdr <= clen; {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[off]))
		l := int(h.Len)
		if l < hdr || off+l > clen {
			break
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && l-hdr >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&ctrl[off+hdr]))
			age := p.realNow - ts.Nano()
			if age < 0 || age > maxPacketAge {
				age = 0
			}
			return p.monoNow - age
		}
		off += unix.CmsgSpace(l - hdr)
	}
	return p.monoNow
}

// rawAddrPort converts a sender address filled in by recvfrom(2) or recvmsg(2).
func rawAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}
