// Package spidev is a Linux spidev character device (the ioctls of
// include/uapi/linux/spi/spidev.h) served through CUSE (board/hil/cuse)
// by a chip model's SPI port: SPI_IOC_RD/WR_MODE, _LSB_FIRST,
// _BITS_PER_WORD, _MAX_SPEED_HZ, _MODE32, SPI_IOC_MESSAGE(N), and read
// and write of the device file, with spidev's rules for a message: the
// transfers run in order, each transfer's cs_change set deasserts chip
// select after it (and, on the message's last transfer, keeps it asserted
// after the message instead). Each chip-select cycle goes to the model as
// one spi.Packet sequence, so the model's own framing check judges it; a
// cycle it refuses is counted and kept as a violation.
package spidev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/board/hil/cuse"
)

// Linux SPI mode bits (spi_mode_t).
const (
	ModeCPHA     = 0x01
	ModeCPOL     = 0x02
	ModeCSHigh   = 0x04
	ModeLSBFirst = 0x08
	Mode3Wire    = 0x10
	ModeLoop     = 0x20
	ModeNoCS     = 0x40
	ModeReady    = 0x80
)

// ioctl encoding (asm-generic/ioctl.h).
const (
	iocWrite = 1
	iocRead  = 2
	magic    = 'k'
)

func ioc(dir, nr, size uint32) uint32 { return dir<<30 | size<<16 | magic<<8 | nr }

// The spidev ioctls.
var (
	RdMode        = ioc(iocRead, 1, 1)
	WrMode        = ioc(iocWrite, 1, 1)
	RdLSBFirst    = ioc(iocRead, 2, 1)
	WrLSBFirst    = ioc(iocWrite, 2, 1)
	RdBitsPerWord = ioc(iocRead, 3, 1)
	WrBitsPerWord = ioc(iocWrite, 3, 1)
	RdMaxSpeedHz  = ioc(iocRead, 4, 4)
	WrMaxSpeedHz  = ioc(iocWrite, 4, 4)
	RdMode32      = ioc(iocRead, 5, 4)
	WrMode32      = ioc(iocWrite, 5, 4)
)

// TransferSize is sizeof(struct spi_ioc_transfer).
const TransferSize = 32

// Message is SPI_IOC_MESSAGE(n).
func Message(n int) uint32 { return ioc(iocWrite, 0, uint32(n*TransferSize)) }

// DefaultBufSize is spidev's default bufsiz: the most bytes one message
// may move.
const DefaultBufSize = 4096

// Transfer is struct spi_ioc_transfer.
type Transfer struct {
	TxBuf, RxBuf     uint64
	Len, SpeedHz     uint32
	DelayUsecs       uint16
	BitsPerWord      uint8
	CSChange         uint8
	TxNBits, RxNBits uint8
	WordDelayUsecs   uint8
}

// ParseTransfers decodes an spi_ioc_transfer array.
func ParseTransfers(b []byte) ([]Transfer, error) {
	if len(b)%TransferSize != 0 {
		return nil, fmt.Errorf("spidev: %d bytes is not a whole number of transfers", len(b))
	}
	t := make([]Transfer, len(b)/TransferSize)
	for i := range t {
		p := b[i*TransferSize:]
		t[i] = Transfer{TxBuf: le.Uint64(p[0:]), RxBuf: le.Uint64(p[8:]), Len: le.Uint32(p[16:]), SpeedHz: le.Uint32(p[20:]),
			DelayUsecs: le.Uint16(p[24:]), BitsPerWord: p[26], CSChange: p[27], TxNBits: p[28], RxNBits: p[29], WordDelayUsecs: p[30]}
	}
	return t, nil
}

// EncodeTransfers is the inverse of ParseTransfers.
func EncodeTransfers(t []Transfer) []byte {
	b := make([]byte, len(t)*TransferSize)
	for i, x := range t {
		p := b[i*TransferSize:]
		le.PutUint64(p[0:], x.TxBuf)
		le.PutUint64(p[8:], x.RxBuf)
		le.PutUint32(p[16:], x.Len)
		le.PutUint32(p[20:], x.SpeedHz)
		le.PutUint16(p[24:], x.DelayUsecs)
		p[26], p[27], p[28], p[29], p[30] = x.BitsPerWord, x.CSChange, x.TxNBits, x.RxNBits, x.WordDelayUsecs
	}
	return b
}

var le = binary.LittleEndian

// Cycle is one chip-select cycle as the chip saw it (or, with Err, refused).
type Cycle struct {
	// W is what was clocked in (zeros where the transfer had no tx
	// buffer) and R what the chip clocked out.
	W, R []byte
	// Held is set when chip select stayed asserted after the cycle
	// (cs_change on a message's last transfer, or a transfer without
	// cs_change before the next one of the same message).
	Held bool
	// Err is the model's refusal, empty when the cycle went through.
	Err string
}

// Stats are a device's counters.
type Stats struct {
	// Messages is the number of SPI_IOC_MESSAGE calls and read/write
	// calls; Transfers and Bytes what they moved.
	Messages, Transfers, Bytes int
	// Violations counts cycles the model refused for their chip-select
	// framing (Opts.Framing); Errors every refused message.
	Violations, Errors int
	// LastError is the last refusal's text.
	LastError string
	// Busy is the time spent in the model, summed.
	Busy time.Duration
}

// Opts configure a Device.
type Opts struct {
	// Port is the chip (or chain) on this chip select.
	Port spi.Port
	// Framing reports whether an error from the port is a chip-select
	// framing violation (e.g. errors.Is(err, model.ErrCSHeld)); nil
	// counts none as such.
	Framing func(error) bool
	// BufSize is the most bytes a message may move (DefaultBufSize when 0).
	BufSize int
	// MaxTrace bounds the recorded cycles (0: none recorded).
	MaxTrace int
	// MaxSpeedHz is the device's initial and highest speed (spi
	// max_speed_hz; 10 MHz when 0).
	MaxSpeedHz uint32
}

// Device is a spidev device file served from a model. It implements
// cuse.Device.
type Device struct {
	o Opts

	mu      sync.Mutex
	mode    uint32
	bits    uint8
	speed   uint32
	conn    spi.Conn
	connKey [3]uint32
	opens   int
	stats   Stats
	trace   []Cycle
}

var _ cuse.Device = (*Device)(nil)

// New returns a device for o.Port.
func New(o Opts) *Device {
	if o.BufSize <= 0 {
		o.BufSize = DefaultBufSize
	}
	if o.MaxSpeedHz == 0 {
		o.MaxSpeedHz = 10_000_000
	}
	return &Device{o: o, bits: 8, speed: o.MaxSpeedHz}
}

// Stats returns the counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Trace returns the recorded cycles (a copy).
func (d *Device) Trace() []Cycle {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Cycle(nil), d.trace...)
}

// Open implements cuse.Device.
func (d *Device) Open(flags uint32) (uint64, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opens++
	return uint64(d.opens), 0
}

// Release implements cuse.Device.
func (d *Device) Release(fh uint64) {}

// Read implements cuse.Device: one half-duplex cycle clocking size bytes
// out of the chip, as spidev's read does.
func (d *Device) Read(fh uint64, size uint32) ([]byte, syscall.Errno) {
	if int(size) > d.o.BufSize {
		return nil, syscall.EMSGSIZE
	}
	r := make([]byte, size)
	d.mu.Lock()
	defer d.mu.Unlock()
	if errno := d.runLocked([]spi.Packet{{R: r}}, d.speed, d.bits); errno != 0 {
		return nil, errno
	}
	return r, 0
}

// Write implements cuse.Device: one cycle clocking data in.
func (d *Device) Write(fh uint64, data []byte) (uint32, syscall.Errno) {
	if len(data) > d.o.BufSize {
		return 0, syscall.EMSGSIZE
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if errno := d.runLocked([]spi.Packet{{W: append([]byte(nil), data...)}}, d.speed, d.bits); errno != 0 {
		return 0, errno
	}
	return uint32(len(data)), 0
}

// Ioctl implements cuse.Device.
func (d *Device) Ioctl(fh uint64, cmd uint32, arg uint64, in []byte, outSize uint32) cuse.IoctlReply {
	if (cmd>>8)&0xFF != magic {
		return cuse.IoctlReply{Errno: syscall.ENOTTY}
	}
	dir, nr, size := cmd>>30, cmd&0xFF, (cmd>>16)&0x3FFF
	if nr == 0 && dir == iocWrite {
		return d.message(arg, size, in, outSize)
	}
	switch dir {
	case iocWrite:
		if uint32(len(in)) < size {
			return cuse.IoctlReply{Retry: true, In: []cuse.IOVec{{Base: arg, Len: uint64(size)}}}
		}
		return cuse.IoctlReply{Errno: d.set(cmd, in[:size])}
	case iocRead:
		if outSize < size {
			return cuse.IoctlReply{Retry: true, Out: []cuse.IOVec{{Base: arg, Len: uint64(size)}}}
		}
		v, errno := d.get(cmd)
		if errno != 0 {
			return cuse.IoctlReply{Errno: errno}
		}
		return cuse.IoctlReply{Data: v[:size]}
	}
	return cuse.IoctlReply{Errno: syscall.ENOTTY}
}

func (d *Device) set(cmd uint32, v []byte) syscall.Errno {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch cmd {
	case WrMode:
		d.mode = d.mode&^0xFF | uint32(v[0])
	case WrMode32:
		m := le.Uint32(v)
		if m&^0xFFFF != 0 {
			return syscall.EINVAL
		}
		d.mode = m
	case WrLSBFirst:
		if v[0] != 0 {
			d.mode |= ModeLSBFirst
		} else {
			d.mode &^= ModeLSBFirst
		}
	case WrBitsPerWord:
		if v[0] == 0 {
			v[0] = 8
		}
		d.bits = v[0]
	case WrMaxSpeedHz:
		s := le.Uint32(v)
		if s == 0 {
			return syscall.EINVAL
		}
		d.speed = s
	default:
		return syscall.ENOTTY
	}
	return 0
}

func (d *Device) get(cmd uint32) ([]byte, syscall.Errno) {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := make([]byte, 4)
	switch cmd {
	case RdMode:
		b[0] = byte(d.mode)
	case RdMode32:
		le.PutUint32(b, d.mode)
	case RdLSBFirst:
		if d.mode&ModeLSBFirst != 0 {
			b[0] = 1
		}
	case RdBitsPerWord:
		b[0] = d.bits
	case RdMaxSpeedHz:
		le.PutUint32(b, d.speed)
	default:
		return nil, syscall.ENOTTY
	}
	return b, 0
}

// message runs SPI_IOC_MESSAGE in its rounds: the transfer array, then
// the tx buffers in and the rx buffers out, then the transfers.
func (d *Device) message(arg uint64, size uint32, in []byte, outSize uint32) cuse.IoctlReply {
	if size == 0 || size%TransferSize != 0 {
		return cuse.IoctlReply{Errno: syscall.EINVAL}
	}
	if uint32(len(in)) < size {
		return cuse.IoctlReply{Retry: true, In: []cuse.IOVec{{Base: arg, Len: uint64(size)}}}
	}
	ts, err := ParseTransfers(in[:size])
	if err != nil {
		return cuse.IoctlReply{Errno: syscall.EINVAL}
	}
	var txIn, rxOut []cuse.IOVec
	var txLen, rxLen, total uint64
	for _, t := range ts {
		total += uint64(t.Len)
		if t.Len == 0 {
			continue
		}
		if t.TxBuf != 0 {
			txIn = append(txIn, cuse.IOVec{Base: t.TxBuf, Len: uint64(t.Len)})
			txLen += uint64(t.Len)
		}
		if t.RxBuf != 0 {
			rxOut = append(rxOut, cuse.IOVec{Base: t.RxBuf, Len: uint64(t.Len)})
			rxLen += uint64(t.Len)
		}
	}
	if total > uint64(d.o.BufSize) {
		return cuse.IoctlReply{Errno: syscall.EMSGSIZE}
	}
	if len(txIn)+1 > cuse.IoctlMaxIOV || len(rxOut) > cuse.IoctlMaxIOV {
		return cuse.IoctlReply{Errno: syscall.E2BIG}
	}
	tx := in[size:]
	if uint64(len(tx)) != txLen || uint64(outSize) != rxLen {
		if len(tx) == 0 && outSize == 0 {
			return cuse.IoctlReply{Retry: true, In: append([]cuse.IOVec{{Base: arg, Len: uint64(size)}}, txIn...), Out: rxOut}
		}
		return cuse.IoctlReply{Errno: syscall.EINVAL}
	}
	pk, rx := Packets(ts, tx)
	d.mu.Lock()
	defer d.mu.Unlock()
	// Each transfer runs at its own speed_hz, or the device's: the chip
	// must take the fastest. Per-transfer word sizes go with the packets.
	speed, bits := uint32(0), d.bits
	for _, t := range ts {
		s := t.SpeedHz
		if s == 0 {
			s = d.speed
		}
		speed = max(speed, s)
	}
	if errno := d.runLocked(pk, speed, bits); errno != 0 {
		return cuse.IoctlReply{Errno: errno}
	}
	return cuse.IoctlReply{Result: int32(total), Data: rx}
}

// Packets turns a message's transfers into chip-select cycles as spidev
// and the SPI core run them: tx holds the tx buffers' bytes in order. A
// packet's KeepCS is set when chip select stays asserted after it: a
// transfer without cs_change followed by another, or the last transfer
// with cs_change. Zero-length transfers clock nothing but their
// cs_change still applies. rx is one buffer the packets' R slices point
// into, the rx buffers' bytes in order.
func Packets(ts []Transfer, tx []byte) (pk []spi.Packet, rx []byte) {
	var rxLen int
	for _, t := range ts {
		if t.RxBuf != 0 {
			rxLen += int(t.Len)
		}
	}
	rx = make([]byte, rxLen)
	ri := 0
	for i, t := range ts {
		last := i == len(ts)-1
		keep := (t.CSChange != 0) == last
		if t.Len == 0 {
			if len(pk) > 0 {
				pk[len(pk)-1].KeepCS = keep
			}
			continue
		}
		n := int(t.Len)
		p := spi.Packet{KeepCS: keep, BitsPerWord: t.BitsPerWord}
		if t.TxBuf != 0 && len(tx) >= n {
			p.W, tx = tx[:n:n], tx[n:]
		} else {
			p.W = make([]byte, n)
		}
		if t.RxBuf != 0 {
			p.R, ri = rx[ri:ri+n:ri+n], ri+n
		}
		pk = append(pk, p)
	}
	return pk, rx
}

// runLocked sends the packets to the model and records them.
func (d *Device) runLocked(pk []spi.Packet, speed uint32, bits uint8) syscall.Errno {
	d.stats.Messages++
	if len(pk) == 0 {
		return 0
	}
	start := time.Now()
	err := d.connectLocked(speed, bits)
	if err == nil {
		err = d.conn.TxPackets(pk)
	}
	d.stats.Busy += time.Since(start)
	for _, p := range pk {
		d.stats.Transfers++
		d.stats.Bytes += len(p.W)
	}
	if err != nil {
		d.stats.Errors++
		d.stats.LastError = err.Error()
		if d.o.Framing != nil && d.o.Framing(err) {
			d.stats.Violations++
		}
	}
	for i, p := range pk {
		if len(d.trace) >= d.o.MaxTrace {
			break
		}
		c := Cycle{W: append([]byte(nil), p.W...), Held: p.KeepCS}
		if err == nil && p.R != nil {
			c.R = append([]byte(nil), p.R...)
		}
		if err != nil && i == 0 {
			c.Err = err.Error()
		}
		d.trace = append(d.trace, c)
	}
	if err != nil {
		return syscall.EIO
	}
	return 0
}

// connectLocked (re)connects to the model when the settings changed.
func (d *Device) connectLocked(speed uint32, bits uint8) error {
	key := [3]uint32{speed, uint32(bits), d.mode}
	if d.conn != nil && key == d.connKey {
		return nil
	}
	if d.mode&(ModeCSHigh|ModeLSBFirst|Mode3Wire|ModeNoCS|ModeLoop) != 0 {
		return fmt.Errorf("spidev: mode %#x: the chip needs MSB first, active-low chip select, full duplex", d.mode)
	}
	if d.o.Port == nil {
		return errors.New("spidev: no chip on this chip select")
	}
	c, err := d.o.Port.Connect(physic.Frequency(speed)*physic.Hertz, spi.Mode(d.mode&3), int(bits))
	if err != nil {
		return err
	}
	d.conn, d.connKey = c, key
	return nil
}
