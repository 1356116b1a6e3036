package hil

import (
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/board/hil/cuse"
	"github.com/loopstart/loopstart/board/hil/spidev"
)

// kernel plays the kernel's side of CUSE for one device without a
// kernel: it sends CUSE_INIT and OPEN, and runs ioctls the way
// fs/fuse/ioctl.c does for an unrestricted ioctl (no memory in the first
// round, then what each FUSE_IOCTL_RETRY lists, copying the final reply's
// data into the out iovecs), over a flat fake user address space.
type kernel struct {
	t      testing.TB
	srv    *cuse.Server
	unique uint64
	fh     uint64
	mem    []byte // user memory; address = base + offset
	rounds int    // ioctl rounds answered
}

const userBase = 0x10000

func newKernel(t testing.TB, srv *cuse.Server) *kernel {
	k := &kernel{t: t, srv: srv}
	init := make([]byte, 16)
	binary.LittleEndian.PutUint32(init[0:], 7)
	binary.LittleEndian.PutUint32(init[4:], 37)
	binary.LittleEndian.PutUint32(init[12:], cuse.CUSEUnrestrictedIoctl)
	rep := k.call(cuse.OpCUSEInit, init)
	if len(rep) < 72 || binary.LittleEndian.Uint32(rep[0:]) != 7 {
		t.Fatalf("CUSE_INIT reply %x", rep)
	}
	open := make([]byte, 8)
	rep = k.call(cuse.OpOpen, open)
	k.fh = binary.LittleEndian.Uint64(rep)
	return k
}

// call sends one request and returns the reply's body, failing on an
// error reply.
func (k *kernel) call(op uint32, body []byte) []byte {
	rep, errno := k.try(op, body)
	if errno != 0 {
		k.t.Fatalf("opcode %d: %v", op, errno)
	}
	return rep
}

func (k *kernel) try(op uint32, body []byte) ([]byte, syscall.Errno) {
	k.unique++
	rep := k.srv.Handle(cuse.EncodeRequest(op, k.unique, body))
	if len(rep) < cuse.OutHeaderSize || int(binary.LittleEndian.Uint32(rep)) != len(rep) ||
		binary.LittleEndian.Uint64(rep[8:]) != k.unique {
		k.t.Fatalf("opcode %d: malformed reply %x", op, rep)
	}
	if e := int32(binary.LittleEndian.Uint32(rep[4:])); e != 0 {
		return nil, syscall.Errno(-e)
	}
	return rep[cuse.OutHeaderSize:], 0
}

// alloc places b in user memory and returns its address.
func (k *kernel) alloc(b []byte) uint64 {
	a := uint64(userBase + len(k.mem))
	k.mem = append(k.mem, b...)
	k.mem = append(k.mem, make([]byte, 8)...) // a guard gap
	return a
}

func (k *kernel) user(base, n uint64) []byte {
	if base < userBase || base-userBase+n > uint64(len(k.mem)) {
		k.t.Fatalf("EFAULT: %#x+%d outside user memory", base, n)
	}
	return k.mem[base-userBase : base-userBase+n]
}

// ioctl runs one unrestricted ioctl to completion.
func (k *kernel) ioctl(cmd uint32, arg uint64) (int32, syscall.Errno) {
	var in, out []cuse.IOVec
	for round := 0; round < 8; round++ {
		var data []byte
		for _, v := range in {
			data = append(data, k.user(v.Base, v.Len)...)
		}
		var outSize uint64
		for _, v := range out {
			outSize += v.Len
		}
		k.rounds++
		rep, errno := k.try(cuse.OpIoctl, cuse.IoctlBody(k.fh, cuse.IoctlUnrestricted, cmd, arg, uint32(outSize), data))
		if errno != 0 {
			return -1, errno
		}
		le := binary.LittleEndian
		result, flags := int32(le.Uint32(rep[0:])), le.Uint32(rep[4:])
		if flags&cuse.IoctlRetry != 0 {
			nin, nout := le.Uint32(rep[8:]), le.Uint32(rep[12:])
			p := rep[16:]
			if uint64(len(p)) != 16*uint64(nin+nout) {
				k.t.Fatalf("retry lists %d+%d iovecs in %d bytes", nin, nout, len(p))
			}
			in, out = nil, nil
			for i := range nin + nout {
				v := cuse.IOVec{Base: le.Uint64(p[16*i:]), Len: le.Uint64(p[16*i+8:])}
				if i < nin {
					in = append(in, v)
				} else {
					out = append(out, v)
				}
			}
			continue
		}
		body := rep[16:]
		if uint64(len(body)) > outSize {
			k.t.Fatalf("reply carries %d bytes for %d of out iovecs", len(body), outSize)
		}
		for _, v := range out {
			n := min(v.Len, uint64(len(body)))
			copy(k.user(v.Base, n), body[:n])
			body = body[n:]
		}
		return result, 0
	}
	k.t.Fatalf("ioctl %#x: no answer after 8 rounds", cmd)
	return 0, 0
}

// kconn is what periph's sysfs-spi driver does over a spidev file, here
// over the fake kernel: the mode by SPI_IOC_WR_MODE at Connect, then one
// SPI_IOC_MESSAGE(N) per TxPackets with its cs_change rule (a packet
// without KeepCS gets cs_change, except the last, which gets it with
// KeepCS).
type kconn struct {
	k     *kernel
	speed uint32
}

func connect(k *kernel, f physic.Frequency, mode spi.Mode) (*kconn, error) {
	m := k.alloc([]byte{byte(mode & 3)})
	if _, errno := k.ioctl(spidev.WrMode, m); errno != 0 {
		return nil, fmt.Errorf("set mode: %w", errno)
	}
	return &kconn{k: k, speed: uint32(f / physic.Hertz)}, nil
}

func (c *kconn) String() string      { return "kconn" }
func (c *kconn) Duplex() conn.Duplex { return conn.Full }
func (c *kconn) Tx(w, r []byte) error {
	return c.TxPackets([]spi.Packet{{W: w, R: r}})
}

func (c *kconn) TxPackets(p []spi.Packet) error {
	ts := make([]spidev.Transfer, len(p))
	rx := make([]uint64, len(p))
	for i, pk := range p {
		n := max(len(pk.W), len(pk.R))
		t := spidev.Transfer{Len: uint32(n), SpeedHz: c.speed, BitsPerWord: 8}
		if len(pk.W) > 0 {
			t.TxBuf = c.k.alloc(pk.W)
		}
		if len(pk.R) > 0 {
			t.RxBuf = c.k.alloc(make([]byte, n))
			rx[i] = t.RxBuf
		}
		if pk.KeepCS == (i == len(p)-1) {
			t.CSChange = 1
		}
		ts[i] = t
	}
	arr := c.k.alloc(spidev.EncodeTransfers(ts))
	if _, errno := c.k.ioctl(spidev.Message(len(ts)), arr); errno != 0 {
		return fmt.Errorf("SPI_IOC_MESSAGE(%d): %w", len(ts), errno)
	}
	for i, pk := range p {
		if rx[i] != 0 {
			copy(pk.R, c.k.user(rx[i], uint64(len(pk.R))))
		}
	}
	c.k.mem = c.k.mem[:0] // the caller's buffers are gone after the call
	return nil
}
