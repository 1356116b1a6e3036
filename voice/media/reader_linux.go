package media

import (
	"errors"
	"net/netip"
	"runtime"
	"time"
	"unsafe"

	"github.com/pion/rtp"
	"golang.org/x/sys/unix"
)

// readerWait bounds one ppoll. It stays under the 10 ms after which the Go
// runtime's sysmon takes the P of a thread in a system call away: each such
// retake also resets sysmon to polling every 20 µs, which with two readers
// waiting 20 ms per packet cost more CPU than the calls themselves.
const readerWait = 8 * time.Millisecond

// readRealtime is the reader of a stream with StreamOpts.Priority: locked
// to its OS thread in the SCHED_FIFO class, it waits for datagrams with
// ppoll(2) on that thread — the kernel wakes it when a packet arrives — and
// reads them without blocking. A wait lasts at most readerWait, so Close
// is seen. If the thread cannot get the class, it runs the ordinary reader.
func (s *Stream) readRealtime(prio int) {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		s.read()
		return
	}
	runtime.LockOSThread()
	if setThreadPolicy(true, prio) != nil {
		runtime.UnlockOSThread()
		s.read()
		return
	}
	defer s.wg.Done()
	s.realtime.Store(true)
	// The thread ends with the goroutine (never unlocked in the FIFO class).
	defer forgetFIFO(threadID())
	var (
		scratch [maxPacket]byte
		hdr     rtp.Header
		fd      int
		n       int
		rerr    error
		pfd     [1]unix.PollFd
		timeout = unix.NsecToTimespec(int64(readerWait))
		from    netip.AddrPort
		rsa     unix.RawSockaddrAny
	)
	_ = rc.Control(func(f uintptr) { fd = int(f) })
	readOne := func(f uintptr) bool {
		// recvfrom(2) by hand: unix.Recvfrom would allocate the sender's
		// address on every packet; symmetric RTP needs it (symmetric.go).
		alen := uint32(unix.SizeofSockaddrAny)
		r, _, e := unix.Syscall6(unix.SYS_RECVFROM, f, uintptr(unsafe.Pointer(&scratch[0])), uintptr(len(scratch)), 0,
			uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&alen)))
		n, rerr, from = int(r), nil, rawAddrPort(&rsa)
		if e != 0 {
			n, rerr = 0, e
		}
		return true // never wait in Go's poller
	}
	for !s.closing.Load() {
		pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		ts := timeout
		if k, err := unix.Ppoll(pfd[:], &ts, nil); err != nil || k == 0 || pfd[0].Revents&unix.POLLIN == 0 {
			continue
		}
		if err := rc.Read(readOne); err != nil {
			return // closed
		}
		if rerr != nil {
			if errors.Is(rerr, unix.EAGAIN) || errors.Is(rerr, unix.EINTR) {
				continue
			}
			continue
		}
		s.arrived(scratch[:n], &hdr, from, int64(time.Since(s.epoch)))
	}
}
