package media

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawUDP is a polled stream's RTP socket: a non-blocking UDP socket that
// Go's network poller never sees. A socket made by net.ListenUDP is in the
// runtime's epoll set for its whole life, and every datagram that arrives
// at it wakes whichever runtime thread waits in epoll_wait — to find that no
// goroutine is waiting and go back to sleep. A polled stream reads its
// socket on the loop, so those wake-ups (one per RTP packet: 400 a second
// at 8 calls) bought nothing; docs/PERFORMANCE.md (round 10) measures them.
//
// Only what a polled stream uses works: ReadFromUDPAddrPort, which would
// block, reports an error.
type rawUDP struct {
	fd    int
	local *net.UDPAddr
	v6    bool // AF_INET6: IPv4 peers are sent to as v4-mapped addresses

	// mu guards fd against Close while a read or send runs with it: a
	// closed descriptor's number may be another file's a moment later.
	mu     sync.RWMutex
	closed bool
}

// listenRaw binds a non-blocking UDP socket outside the runtime's poller,
// choosing the family as net.ListenUDP does: IPv4 for an IPv4 address,
// else IPv6 (dual-stack for the unspecified address).
func listenRaw(addr netip.AddrPort) (rtpConn, error) {
	a := addr.Addr()
	wildcard := !a.IsValid() || a.IsUnspecified()
	v6 := wildcard || a.Is6() && !a.Is4In6()
	socket := func(v6 bool) (int, error) {
		family := unix.AF_INET
		if v6 {
			family = unix.AF_INET6
		}
		return unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	}
	fd, err := socket(v6)
	if err != nil && wildcard {
		v6 = false // a kernel without IPv6
		fd, err = socket(v6)
	}
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	var sa unix.Sockaddr
	if v6 {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
		s6 := &unix.SockaddrInet6{Port: int(addr.Port())}
		if !wildcard {
			s6.Addr = a.As16()
		}
		sa = s6
	} else {
		s4 := &unix.SockaddrInet4{Port: int(addr.Port())}
		if !wildcard {
			s4.Addr = a.Unmap().As4()
		}
		sa = s4
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: err}
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	c := &rawUDP{fd: fd, v6: v6}
	switch s := got.(type) {
	case *unix.SockaddrInet4:
		c.local = net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port)))
	case *unix.SockaddrInet6:
		c.local = net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port)))
	}
	return c, nil
}

// LocalAddr returns the bound address.
func (c *rawUDP) LocalAddr() net.Addr { return c.local }

// Close closes the socket once no read or send is using it.
func (c *rawUDP) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	c.closed = true
	return unix.Close(c.fd)
}

// ReadFromUDPAddrPort is not available: nothing waits on a raw socket.
func (c *rawUDP) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, net.ErrClosed
}

// WriteToUDPAddrPort sends b to addr without waiting: a full socket buffer
// drops the packet (EAGAIN) rather than hold the loop.
func (c *rawUDP) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	var (
		sa4 unix.RawSockaddrInet4
		sa6 unix.RawSockaddrInet6
		sa  unsafe.Pointer
		sl  uintptr
	)
	a := addr.Addr()
	port := addr.Port()
	switch {
	case c.v6:
		sa6.Family = unix.AF_INET6
		sa6.Addr = a.As16() // an IPv4 address as v4-mapped
		p := (*[2]byte)(unsafe.Pointer(&sa6.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sa, sl = unsafe.Pointer(&sa6), unsafe.Sizeof(sa6)
	case a.Is4() || a.Is4In6():
		sa4.Family = unix.AF_INET
		sa4.Addr = a.Unmap().As4()
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		p[0], p[1] = byte(port>>8), byte(port)
		sa, sl = unsafe.Pointer(&sa4), unsafe.Sizeof(sa4)
	default:
		return 0, &net.OpError{Op: "write", Net: "udp", Err: syscall.EAFNOSUPPORT}
	}
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(c.fd), uintptr(p), uintptr(len(b)), unix.MSG_DONTWAIT, uintptr(sa), sl)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// SyscallConn returns the socket as a syscall.RawConn whose Read and Write
// call their function once: they never wait.
func (c *rawUDP) SyscallConn() (syscall.RawConn, error) { return c, nil }

// Control calls f with the socket's descriptor.
func (c *rawUDP) Control(f func(fd uintptr)) error {
	return c.Read(func(fd uintptr) bool { f(fd); return true })
}

// Read calls f once with the descriptor; f's result is not used (nothing
// waits for the socket to become readable).
func (c *rawUDP) Read(f func(fd uintptr) bool) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return net.ErrClosed
	}
	f(uintptr(c.fd))
	return nil
}

// Write calls f once with the descriptor, as Read does.
func (c *rawUDP) Write(f func(fd uintptr) bool) error { return c.Read(f) }
