package cuse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"syscall"
	"testing"
)

func u32(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func u64(v ...uint64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], x)
	}
	return b
}

func cat(b ...[]byte) []byte { return bytes.Join(b, nil) }

func TestParse(t *testing.T) {
	write := cat(u64(7, 0), u32(3, 0, 0, 0, 0, 0), []byte("abc"))
	ioctl := IoctlBody(9, IoctlUnrestricted, 0x40206b00, 0xdead0000, 12, []byte{1, 2, 3, 4})
	tests := []struct {
		name string
		in   []byte
		want Request
		err  error
	}{
		{"init", EncodeRequest(OpCUSEInit, 1, u32(7, 37, 0, CUSEUnrestrictedIoctl)),
			Request{InHeader: InHeader{Len: 56, Opcode: OpCUSEInit, Unique: 1}, Major: 7, Minor: 37, InitFlags: 1}, nil},
		{"open", EncodeRequest(OpOpen, 2, u32(2, 0)),
			Request{InHeader: InHeader{Len: 48, Opcode: OpOpen, Unique: 2}, OpenFlags: 2}, nil},
		{"read", EncodeRequest(OpRead, 3, cat(u64(5, 0), u32(100, 0, 0, 0, 0, 0))),
			Request{InHeader: InHeader{Len: 80, Opcode: OpRead, Unique: 3}, Fh: 5, Size: 100}, nil},
		{"write", EncodeRequest(OpWrite, 4, write),
			Request{InHeader: InHeader{Len: 83, Opcode: OpWrite, Unique: 4}, Fh: 7, Size: 3, Data: []byte("abc")}, nil},
		{"release", EncodeRequest(OpRelease, 5, cat(u64(7), u32(0, 0), u64(0))),
			Request{InHeader: InHeader{Len: 64, Opcode: OpRelease, Unique: 5}, Fh: 7}, nil},
		{"ioctl", EncodeRequest(OpIoctl, 6, ioctl),
			Request{InHeader: InHeader{Len: 76, Opcode: OpIoctl, Unique: 6}, Fh: 9, IoctlFlags: IoctlUnrestricted,
				Cmd: 0x40206b00, Arg: 0xdead0000, OutSize: 12, Data: []byte{1, 2, 3, 4}}, nil},
		{"unknown opcode keeps the header", EncodeRequest(99, 7, nil),
			Request{InHeader: InHeader{Len: 40, Opcode: 99, Unique: 7}}, nil},
		{"short header", make([]byte, 39), Request{}, ErrShort},
		{"header longer than read", EncodeRequest(OpOpen, 8, u32(0, 0))[:44], Request{}, ErrShort},
		{"open body short", EncodeRequest(OpOpen, 9, u32(0)), Request{}, ErrShort},
		{"write longer than carried", EncodeRequest(OpWrite, 10, cat(u64(7, 0), u32(9, 0, 0, 0, 0, 0), []byte("abc"))), Request{}, ErrShort},
		{"ioctl in_size past the end", EncodeRequest(OpIoctl, 11, IoctlBody(1, 0, 1, 0, 0, []byte{1})[:32]), Request{}, ErrShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Data == nil && tc.want.Data != nil || !bytes.Equal(got.Data, tc.want.Data) {
				t.Errorf("data = %x, want %x", got.Data, tc.want.Data)
			}
			got.Data, tc.want.Data = nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	initRep, err := EncodeInit(1, InitReply{Minor: 31, Flags: CUSEUnrestrictedIoctl, MaxRead: 4096, MaxWrite: 8192, DevName: "spidev0.1"})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := EncodeIoctlRetry(4, []IOVec{{0x1000, 32}, {0x2000, 1}}, []IOVec{{0x3000, 1}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"error", EncodeError(9, syscall.ENOTTY), cat(u32(16, uint32(0x100000000-int64(syscall.ENOTTY))), u64(9))},
		{"init", initRep, cat(u32(16+72+18, 0), u64(1), u32(7, 31, 0, 1, 4096, 8192, 0, 0), make([]byte, 40), []byte("DEVNAME=spidev0.1\x00"))},
		{"open", EncodeOpen(2, 5, 0), cat(u32(32, 0), u64(2), u64(5), u32(0, 0))},
		{"read", EncodeRead(3, []byte{0xAA}), cat(u32(17, 0), u64(3), []byte{0xAA})},
		{"write", EncodeWrite(3, 7), cat(u32(24, 0), u64(3), u32(7, 0))},
		{"retry", retry, cat(u32(16+16+48, 0), u64(4), u32(0, IoctlRetry, 2, 1), u64(0x1000, 32, 0x2000, 1, 0x3000, 1))},
		{"ioctl", EncodeIoctl(5, 3, []byte{1, 2}), cat(u32(34, 0), u64(5), u32(3, 0, 0, 0), []byte{1, 2})},
	}
	for _, tc := range tests {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.name, tc.got, tc.want)
		}
	}
	for _, bad := range []string{"", "a/b", "a=b", "x\x00"} {
		if _, err := EncodeInit(1, InitReply{DevName: bad}); err == nil {
			t.Errorf("device name %q accepted", bad)
		}
	}
	if _, err := EncodeIoctlRetry(1, make([]IOVec, IoctlMaxIOV+1), nil); err == nil {
		t.Error("too many iovecs accepted")
	}
}

// echo is a Device for the Handle tests: it reads back what was written
// and answers one _IOR ioctl in two rounds.
type echo struct {
	last   []byte
	closed []uint64
}

func (e *echo) Open(flags uint32) (uint64, syscall.Errno) {
	if flags&1 != 0 {
		return 0, syscall.EACCES
	}
	return 42, 0
}
func (e *echo) Release(fh uint64) { e.closed = append(e.closed, fh) }
func (e *echo) Read(fh uint64, size uint32) ([]byte, syscall.Errno) {
	return e.last[:min(int(size), len(e.last))], 0
}
func (e *echo) Write(fh uint64, data []byte) (uint32, syscall.Errno) {
	e.last = append([]byte(nil), data...)
	return uint32(len(data)), 0
}
func (e *echo) Ioctl(fh uint64, cmd uint32, arg uint64, in []byte, outSize uint32) IoctlReply {
	switch {
	case cmd != 1:
		return IoctlReply{Errno: syscall.ENOTTY}
	case outSize < 2:
		return IoctlReply{Retry: true, Out: []IOVec{{arg, 2}}}
	case outSize == 99:
		return IoctlReply{Data: make([]byte, 100)} // more than asked for
	}
	return IoctlReply{Result: 2, Data: []byte{0xBE, 0xEF}}
}

func TestHandle(t *testing.T) {
	e := &echo{}
	s := &Server{Name: "spidev0.0", Dev: e}
	hdr := func(rep []byte) (errno int32, body []byte) {
		return int32(binary.LittleEndian.Uint32(rep[4:])), rep[16:]
	}
	tests := []struct {
		name  string
		req   []byte
		errno syscall.Errno
		body  []byte
	}{
		{"init", EncodeRequest(OpCUSEInit, 1, u32(7, 37, 0, 1)), 0, nil},
		{"init old minor", EncodeRequest(OpCUSEInit, 2, u32(7, 12, 0, 1)), syscall.EPROTO, nil},
		{"init other major", EncodeRequest(OpCUSEInit, 3, u32(8, 0, 0, 1)), syscall.EPROTO, nil},
		{"open", EncodeRequest(OpOpen, 4, u32(2, 0)), 0, cat(u64(42), u32(0, 0))},
		{"open refused", EncodeRequest(OpOpen, 5, u32(1, 0)), syscall.EACCES, nil},
		{"write", EncodeRequest(OpWrite, 6, cat(u64(42, 0), u32(2, 0, 0, 0, 0, 0), []byte{7, 8})), 0, u32(2, 0)},
		{"read", EncodeRequest(OpRead, 7, cat(u64(42, 0), u32(10, 0, 0, 0, 0, 0))), 0, []byte{7, 8}},
		{"ioctl first round", EncodeRequest(OpIoctl, 8, IoctlBody(42, IoctlUnrestricted, 1, 0x5000, 0, nil)), 0,
			cat(u32(0, IoctlRetry, 0, 1), u64(0x5000, 2))},
		{"ioctl retry not allowed restricted", EncodeRequest(OpIoctl, 9, IoctlBody(42, 0, 1, 0x5000, 0, nil)), syscall.EIO, nil},
		{"ioctl final", EncodeRequest(OpIoctl, 10, IoctlBody(42, IoctlUnrestricted, 1, 0x5000, 2, nil)), 0, cat(u32(2, 0, 0, 0), []byte{0xBE, 0xEF})},
		{"ioctl reply larger than out", EncodeRequest(OpIoctl, 11, IoctlBody(42, IoctlUnrestricted, 1, 0x5000, 99, nil)), syscall.EIO, nil},
		{"ioctl unknown", EncodeRequest(OpIoctl, 12, IoctlBody(42, IoctlUnrestricted, 2, 0, 0, nil)), syscall.ENOTTY, nil},
		{"ioctl compat", EncodeRequest(OpIoctl, 13, IoctlBody(42, IoctlUnrestricted|IoctlCompat, 1, 0, 0, nil)), syscall.ENOTTY, nil},
		{"flush", EncodeRequest(OpFlush, 14, u64(42, 0)), 0, []byte{}},
		{"release", EncodeRequest(OpRelease, 15, cat(u64(42), u32(0, 0), u64(0))), 0, []byte{}},
		{"unsupported", EncodeRequest(OpPoll, 16, make([]byte, 24)), syscall.ENOSYS, nil},
		{"unparsable", EncodeRequest(OpOpen, 17, nil), syscall.EINVAL, nil},
	}
	for _, tc := range tests {
		rep := s.Handle(tc.req)
		if len(rep) < 16 || int(binary.LittleEndian.Uint32(rep)) != len(rep) {
			t.Fatalf("%s: reply %x", tc.name, rep)
		}
		if u := binary.LittleEndian.Uint64(rep[8:]); u != binary.LittleEndian.Uint64(tc.req[8:]) {
			t.Errorf("%s: unique %d", tc.name, u)
		}
		errno, body := hdr(rep)
		if syscall.Errno(-errno) != tc.errno {
			t.Errorf("%s: errno %v, want %v", tc.name, syscall.Errno(-errno), tc.errno)
			continue
		}
		if tc.body != nil && !bytes.Equal(body, tc.body) {
			t.Errorf("%s: body %x, want %x", tc.name, body, tc.body)
		}
	}
	if len(e.closed) != 1 || e.closed[0] != 42 {
		t.Errorf("released %v", e.closed)
	}
	if rep := s.Handle(EncodeRequest(OpInterrupt, 20, u64(1))); rep != nil {
		t.Errorf("INTERRUPT answered: %x", rep)
	}
	if rep := s.Handle([]byte{1, 2, 3}); rep != nil {
		t.Errorf("a 3-byte request answered: %x", rep)
	}
	if inits, bad := s.Stats(); inits != 1 || bad != 2 {
		t.Errorf("stats: %d inits, %d bad; want 1, 2", inits, bad)
	}
}

// FuzzParse: any bytes parse or fail cleanly, a parsed request's data lies
// inside the input, and Handle answers whatever parses with a reply
// carrying the request's unique.
func FuzzParse(f *testing.F) {
	f.Add(EncodeRequest(OpCUSEInit, 1, u32(7, 37, 0, 1)))
	f.Add(EncodeRequest(OpWrite, 2, cat(u64(7, 0), u32(3, 0, 0, 0, 0, 0), []byte("abc"))))
	f.Add(EncodeRequest(OpIoctl, 3, IoctlBody(1, IoctlUnrestricted, 0x40206b00, 0x1000, 0, nil)))
	f.Add(EncodeRequest(OpRead, 4, cat(u64(5, 0), u32(100, 0, 0, 0, 0, 0))))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			return
		}
		if int(r.Len) > len(b) || len(r.Data) > len(b) {
			t.Fatalf("request of %d bytes claims %d, data %d", len(b), r.Len, len(r.Data))
		}
		s := &Server{Name: "spidev0.0", Dev: &echo{}}
		rep := s.Handle(b)
		if rep != nil && binary.LittleEndian.Uint64(rep[8:]) != r.Unique {
			t.Fatalf("reply to %d carries unique %d", r.Unique, binary.LittleEndian.Uint64(rep[8:]))
		}
	})
}
