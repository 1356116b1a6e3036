// Package cuse serves a character device from user space through the
// kernel's CUSE (character device in user space, fs/fuse/cuse.c): it opens
// /dev/cuse, answers CUSE_INIT with the device's name, and then the FUSE
// requests the kernel forwards for the device file: OPEN, RELEASE, READ,
// WRITE, FLUSH and IOCTL. Ioctls are unrestricted: the kernel passes the
// raw argument and the server asks for the memory it needs in
// FUSE_IOCTL_RETRY rounds (first the argument's structure, then the
// buffers it points at), as spidev's SPI_IOC_MESSAGE needs.
//
// It is pure Go over golang.org/x/sys/unix; the wire format is the
// kernel's FUSE protocol 7.x (include/uapi/linux/fuse.h), little-endian
// on every architecture Linux runs the image on. Parse and the Encode
// functions need no kernel and are what the tests and the fuzz target
// exercise.
package cuse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// Protocol numbers.
const (
	// KernelVersion is the FUSE major version the kernel and we speak.
	KernelVersion = 7
	// MinMinor is the lowest minor version accepted: 16 brought 64-bit
	// ioctl iovecs whatever the architecture.
	MinMinor = 16
	// OurMinor is the minor version this package implements; the reply
	// carries the lower of it and the kernel's.
	OurMinor = 31
)

// Opcodes the server handles.
const (
	OpOpen      = 14
	OpRead      = 15
	OpWrite     = 16
	OpRelease   = 18
	OpFsync     = 20
	OpFlush     = 25
	OpInterrupt = 36
	OpDestroy   = 38
	OpIoctl     = 39
	OpPoll      = 40
	OpCUSEInit  = 4096
)

// Flags.
const (
	// CUSEUnrestrictedIoctl in CUSE_INIT asks for raw ioctl arguments.
	CUSEUnrestrictedIoctl = 1 << 0
	// IoctlCompat marks a 32-bit caller on a 64-bit kernel.
	IoctlCompat = 1 << 0
	// IoctlUnrestricted marks an unrestricted ioctl.
	IoctlUnrestricted = 1 << 1
	// IoctlRetry in a reply asks the kernel to call again with the listed
	// memory.
	IoctlRetry = 1 << 2
	// IoctlMaxIOV is the most iovecs a retry may list.
	IoctlMaxIOV = 256
)

// Sizes of the fixed structures.
const (
	InHeaderSize    = 40
	OutHeaderSize   = 16
	cuseInitInSize  = 16
	cuseInitOutSize = 72
	openInSize      = 8
	openOutSize     = 16
	readInSize      = 40
	writeInSize     = 40
	writeOutSize    = 8
	ioctlInSize     = 32
	ioctlOutSize    = 16
	iovecSize       = 16
)

var le = binary.LittleEndian

// ErrShort is wrapped by Parse's errors for a request shorter than its
// structures say.
var ErrShort = errors.New("cuse: short request")

// InHeader is fuse_in_header.
type InHeader struct {
	Len    uint32
	Opcode uint32
	Unique uint64
	NodeID uint64
	UID    uint32
	GID    uint32
	PID    uint32
}

// Request is one request read from /dev/cuse, its operation's fields
// decoded. Data aliases the buffer Parse was given.
type Request struct {
	InHeader
	// CUSE_INIT: the kernel's protocol version and flags.
	Major, Minor, InitFlags uint32
	// OPEN: the open(2) flags. READ/WRITE/RELEASE/FLUSH/IOCTL: the handle.
	OpenFlags uint32
	Fh        uint64
	// READ and WRITE: offset and size (WRITE: len(Data)).
	Offset uint64
	Size   uint32
	// IOCTL: flags, command, raw argument and the sizes of in data
	// (Data) and of the out data the caller can take.
	IoctlFlags uint32
	Cmd        uint32
	Arg        uint64
	OutSize    uint32
	// Data is WRITE's bytes or IOCTL's in data.
	Data []byte
}

// Parse decodes one request. It checks every length against the buffer
// and the header's own length; it never panics on any input.
func Parse(b []byte) (Request, error) {
	var r Request
	if len(b) < InHeaderSize {
		return r, fmt.Errorf("%w: %d bytes, header needs %d", ErrShort, len(b), InHeaderSize)
	}
	r.Len = le.Uint32(b[0:])
	r.Opcode = le.Uint32(b[4:])
	r.Unique = le.Uint64(b[8:])
	r.NodeID = le.Uint64(b[16:])
	r.UID = le.Uint32(b[24:])
	r.GID = le.Uint32(b[28:])
	r.PID = le.Uint32(b[32:])
	if r.Len < InHeaderSize || uint64(r.Len) > uint64(len(b)) {
		return r, fmt.Errorf("%w: header length %d, %d bytes read", ErrShort, r.Len, len(b))
	}
	body := b[InHeaderSize:r.Len]
	need := func(n int) error {
		if len(body) < n {
			return fmt.Errorf("%w: opcode %d body %d bytes, needs %d", ErrShort, r.Opcode, len(body), n)
		}
		return nil
	}
	switch r.Opcode {
	case OpCUSEInit:
		if err := need(cuseInitInSize); err != nil {
			return r, err
		}
		r.Major, r.Minor, r.InitFlags = le.Uint32(body[0:]), le.Uint32(body[4:]), le.Uint32(body[12:])
	case OpOpen:
		if err := need(openInSize); err != nil {
			return r, err
		}
		r.OpenFlags = le.Uint32(body[0:])
	case OpRead:
		if err := need(readInSize); err != nil {
			return r, err
		}
		r.Fh, r.Offset, r.Size = le.Uint64(body[0:]), le.Uint64(body[8:]), le.Uint32(body[16:])
	case OpWrite:
		if err := need(writeInSize); err != nil {
			return r, err
		}
		r.Fh, r.Offset, r.Size = le.Uint64(body[0:]), le.Uint64(body[8:]), le.Uint32(body[16:])
		data := body[writeInSize:]
		if uint64(r.Size) > uint64(len(data)) {
			return r, fmt.Errorf("%w: write of %d bytes carries %d", ErrShort, r.Size, len(data))
		}
		r.Data = data[:r.Size]
	case OpRelease, OpFlush, OpFsync:
		if err := need(8); err != nil {
			return r, err
		}
		r.Fh = le.Uint64(body[0:])
	case OpIoctl:
		if err := need(ioctlInSize); err != nil {
			return r, err
		}
		r.Fh = le.Uint64(body[0:])
		r.IoctlFlags, r.Cmd = le.Uint32(body[8:]), le.Uint32(body[12:])
		r.Arg = le.Uint64(body[16:])
		inSize := le.Uint32(body[24:])
		r.OutSize = le.Uint32(body[28:])
		data := body[ioctlInSize:]
		if uint64(inSize) > uint64(len(data)) {
			return r, fmt.Errorf("%w: ioctl in_size %d, %d bytes carried", ErrShort, inSize, len(data))
		}
		r.Data = data[:inSize]
	}
	return r, nil
}

// outHeader writes fuse_out_header for a reply of n bytes in total.
func outHeader(b []byte, n int, errno syscall.Errno, unique uint64) {
	le.PutUint32(b[0:], uint32(n))
	le.PutUint32(b[4:], uint32(-int32(errno)))
	le.PutUint64(b[8:], unique)
}

// EncodeError is the reply failing request unique with errno.
func EncodeError(unique uint64, errno syscall.Errno) []byte {
	b := make([]byte, OutHeaderSize)
	outHeader(b, len(b), errno, unique)
	return b
}

// EncodeEmpty is a success reply without a body (RELEASE, FLUSH).
func EncodeEmpty(unique uint64) []byte { return EncodeError(unique, 0) }

// InitReply is what the server answers CUSE_INIT with.
type InitReply struct {
	// Minor is the protocol minor version (the lower of the kernel's and
	// OurMinor).
	Minor uint32
	// Flags: CUSEUnrestrictedIoctl.
	Flags uint32
	// MaxRead and MaxWrite bound one READ or WRITE.
	MaxRead, MaxWrite uint32
	// DevMajor and DevMinor number the device; 0 lets the kernel pick.
	DevMajor, DevMinor uint32
	// DevName is the device's name under /dev (DEVNAME=).
	DevName string
}

// EncodeInit is the CUSE_INIT reply: cuse_init_out and the device info
// strings ("DEVNAME=name\0").
func EncodeInit(unique uint64, r InitReply) ([]byte, error) {
	if r.DevName == "" || strings.ContainsAny(r.DevName, "/\x00=") {
		return nil, fmt.Errorf("cuse: bad device name %q", r.DevName)
	}
	info := "DEVNAME=" + r.DevName + "\x00"
	b := make([]byte, OutHeaderSize+cuseInitOutSize+len(info))
	outHeader(b, len(b), 0, unique)
	o := b[OutHeaderSize:]
	le.PutUint32(o[0:], KernelVersion)
	le.PutUint32(o[4:], r.Minor)
	le.PutUint32(o[12:], r.Flags)
	le.PutUint32(o[16:], r.MaxRead)
	le.PutUint32(o[20:], r.MaxWrite)
	le.PutUint32(o[24:], r.DevMajor)
	le.PutUint32(o[28:], r.DevMinor)
	copy(o[cuseInitOutSize:], info)
	return b, nil
}

// EncodeOpen is OPEN's reply: the handle and open flags (0: direct I/O
// is not asked for; CUSE always does direct I/O).
func EncodeOpen(unique, fh uint64, flags uint32) []byte {
	b := make([]byte, OutHeaderSize+openOutSize)
	outHeader(b, len(b), 0, unique)
	le.PutUint64(b[OutHeaderSize:], fh)
	le.PutUint32(b[OutHeaderSize+8:], flags)
	return b
}

// EncodeRead is READ's reply: the bytes read.
func EncodeRead(unique uint64, data []byte) []byte {
	b := make([]byte, OutHeaderSize+len(data))
	outHeader(b, len(b), 0, unique)
	copy(b[OutHeaderSize:], data)
	return b
}

// EncodeWrite is WRITE's reply: how many bytes were taken.
func EncodeWrite(unique uint64, n uint32) []byte {
	b := make([]byte, OutHeaderSize+writeOutSize)
	outHeader(b, len(b), 0, unique)
	le.PutUint32(b[OutHeaderSize:], n)
	return b
}

// IOVec is fuse_ioctl_iovec: caller memory to copy in or out.
type IOVec struct {
	Base, Len uint64
}

// EncodeIoctlRetry asks the kernel to call the ioctl again with the memory
// in (copied into the request's Data, in order) and out (filled from the
// final reply's data, in order).
func EncodeIoctlRetry(unique uint64, in, out []IOVec) ([]byte, error) {
	if len(in) > IoctlMaxIOV || len(out) > IoctlMaxIOV {
		return nil, fmt.Errorf("cuse: ioctl retry with %d in and %d out iovecs, at most %d each", len(in), len(out), IoctlMaxIOV)
	}
	b := make([]byte, OutHeaderSize+ioctlOutSize+iovecSize*(len(in)+len(out)))
	outHeader(b, len(b), 0, unique)
	o := b[OutHeaderSize:]
	le.PutUint32(o[4:], IoctlRetry)
	le.PutUint32(o[8:], uint32(len(in)))
	le.PutUint32(o[12:], uint32(len(out)))
	p := o[ioctlOutSize:]
	for _, v := range append(append([]IOVec(nil), in...), out...) {
		le.PutUint64(p[0:], v.Base)
		le.PutUint64(p[8:], v.Len)
		p = p[iovecSize:]
	}
	return b, nil
}

// EncodeIoctl is an ioctl's final reply: its return value and the out
// data (at most the request's OutSize bytes).
func EncodeIoctl(unique uint64, result int32, out []byte) []byte {
	b := make([]byte, OutHeaderSize+ioctlOutSize+len(out))
	outHeader(b, len(b), 0, unique)
	le.PutUint32(b[OutHeaderSize:], uint32(result))
	copy(b[OutHeaderSize+ioctlOutSize:], out)
	return b
}

// EncodeRequest builds a request as the kernel would: a header for
// opcode and unique, then body. The tests and the fuzz corpus use it.
func EncodeRequest(opcode uint32, unique uint64, body []byte) []byte {
	b := make([]byte, InHeaderSize+len(body))
	le.PutUint32(b[0:], uint32(len(b)))
	le.PutUint32(b[4:], opcode)
	le.PutUint64(b[8:], unique)
	copy(b[InHeaderSize:], body)
	return b
}

// IoctlBody builds IOCTL's request body (fuse_ioctl_in and the in data).
func IoctlBody(fh uint64, flags, cmd uint32, arg uint64, outSize uint32, in []byte) []byte {
	b := make([]byte, ioctlInSize+len(in))
	le.PutUint64(b[0:], fh)
	le.PutUint32(b[8:], flags)
	le.PutUint32(b[12:], cmd)
	le.PutUint64(b[16:], arg)
	le.PutUint32(b[24:], uint32(len(in)))
	le.PutUint32(b[28:], outSize)
	copy(b[ioctlInSize:], in)
	return b
}
