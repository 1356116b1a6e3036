package cuse

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultPath is the CUSE control device.
const DefaultPath = "/dev/cuse"

// maxIO bounds one READ or WRITE; the request buffer holds it plus the
// headers, and an ioctl's data (the kernel limits that to its default 32
// pages).
const (
	maxIO   = 64 << 10
	bufSize = 256 << 10
)

// IoctlReply is a Device's answer to one ioctl round.
type IoctlReply struct {
	// Errno fails the ioctl (the caller sees -1 and errno).
	Errno syscall.Errno
	// Retry asks for another round with the caller memory In copied in
	// and Out to be filled.
	Retry   bool
	In, Out []IOVec
	// Result is the ioctl's return value and Data the bytes for the
	// previous round's Out iovecs, in order.
	Result int32
	Data   []byte
}

// Device is a character device's behaviour. Calls come one at a time
// from Serve's goroutine.
type Device interface {
	// Open opens the device and returns a handle for the other calls.
	Open(flags uint32) (fh uint64, errno syscall.Errno)
	// Release closes a handle.
	Release(fh uint64)
	// Read reads up to size bytes.
	Read(fh uint64, size uint32) ([]byte, syscall.Errno)
	// Write writes data and returns how much it took.
	Write(fh uint64, data []byte) (uint32, syscall.Errno)
	// Ioctl handles one round of ioctl cmd with the raw argument arg; in
	// is the memory asked for in the previous round (empty in the first),
	// outSize the room for the out memory asked for.
	Ioctl(fh uint64, cmd uint32, arg uint64, in []byte, outSize uint32) IoctlReply
}

// Server answers the kernel's requests for one CUSE device.
type Server struct {
	// Name is the device's name under /dev, e.g. "spidev0.0".
	Name string
	// Dev answers the device file's operations.
	Dev Device

	mu    sync.Mutex
	inits int
	bad   int
}

// Stats counts what the server saw: CUSE_INITs answered and requests it
// could not parse.
func (s *Server) Stats() (inits, bad int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inits, s.bad
}

// Handle answers one raw request: the reply to write back, or nil when
// none is due (INTERRUPT, and requests too short to answer).
func (s *Server) Handle(b []byte) []byte {
	r, err := Parse(b)
	if err != nil {
		s.mu.Lock()
		s.bad++
		s.mu.Unlock()
		if len(b) >= InHeaderSize {
			return EncodeError(r.Unique, syscall.EINVAL)
		}
		return nil
	}
	switch r.Opcode {
	case OpCUSEInit:
		if r.Major != KernelVersion || r.Minor < MinMinor {
			return EncodeError(r.Unique, syscall.EPROTO)
		}
		out, err := EncodeInit(r.Unique, InitReply{Minor: min(r.Minor, OurMinor), Flags: CUSEUnrestrictedIoctl,
			MaxRead: maxIO, MaxWrite: maxIO, DevName: s.Name})
		if err != nil {
			return EncodeError(r.Unique, syscall.EINVAL)
		}
		s.mu.Lock()
		s.inits++
		s.mu.Unlock()
		return out
	case OpOpen:
		fh, errno := s.Dev.Open(r.OpenFlags)
		if errno != 0 {
			return EncodeError(r.Unique, errno)
		}
		return EncodeOpen(r.Unique, fh, 0)
	case OpRelease:
		s.Dev.Release(r.Fh)
		return EncodeEmpty(r.Unique)
	case OpFlush, OpFsync:
		return EncodeEmpty(r.Unique)
	case OpRead:
		data, errno := s.Dev.Read(r.Fh, min(r.Size, maxIO))
		if errno != 0 {
			return EncodeError(r.Unique, errno)
		}
		return EncodeRead(r.Unique, data)
	case OpWrite:
		n, errno := s.Dev.Write(r.Fh, r.Data)
		if errno != 0 {
			return EncodeError(r.Unique, errno)
		}
		return EncodeWrite(r.Unique, n)
	case OpIoctl:
		if r.IoctlFlags&IoctlCompat != 0 {
			return EncodeError(r.Unique, syscall.ENOTTY)
		}
		rep := s.Dev.Ioctl(r.Fh, r.Cmd, r.Arg, r.Data, r.OutSize)
		switch {
		case rep.Errno != 0:
			return EncodeError(r.Unique, rep.Errno)
		case rep.Retry:
			if r.IoctlFlags&IoctlUnrestricted == 0 {
				return EncodeError(r.Unique, syscall.EIO)
			}
			out, err := EncodeIoctlRetry(r.Unique, rep.In, rep.Out)
			if err != nil {
				return EncodeError(r.Unique, syscall.EINVAL)
			}
			return out
		case uint64(len(rep.Data)) > uint64(r.OutSize):
			return EncodeError(r.Unique, syscall.EIO)
		}
		return EncodeIoctl(r.Unique, rep.Result, rep.Data)
	case OpInterrupt:
		return nil // requests finish quickly; nothing to interrupt
	default:
		return EncodeError(r.Unique, syscall.ENOSYS)
	}
}

// Open opens path (DefaultPath when empty) for one device.
func Open(path string) (*os.File, error) {
	if path == "" {
		path = DefaultPath
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cuse: open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Serve reads requests from f (an opened /dev/cuse) and answers them
// until the device goes away (ENODEV) or f is closed. Each read returns
// exactly one request and each write takes one whole reply.
func (s *Server) Serve(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("cuse: %w", err)
	}
	buf := make([]byte, bufSize)
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), buf)
			return rerr != unix.EAGAIN
		}); err != nil {
			return fmt.Errorf("cuse %s: %w", s.Name, err)
		}
		switch {
		case rerr == unix.EINTR, rerr == unix.ENOENT:
			continue
		case rerr == unix.ENODEV:
			return nil
		case rerr != nil:
			return fmt.Errorf("cuse %s: read: %w", s.Name, rerr)
		}
		reply := s.Handle(buf[:n])
		if reply == nil {
			continue
		}
		var werr error
		if err := rc.Write(func(fd uintptr) bool {
			_, werr = unix.Write(int(fd), reply)
			return werr != unix.EAGAIN
		}); err != nil {
			return fmt.Errorf("cuse %s: %w", s.Name, err)
		}
		// ENOENT: the request was interrupted and is gone.
		if werr != nil && !errors.Is(werr, unix.ENOENT) {
			if errors.Is(werr, unix.ENODEV) {
				return nil
			}
			return fmt.Errorf("cuse %s: write: %w", s.Name, werr)
		}
	}
}
