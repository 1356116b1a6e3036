package spidev

import (
	"bytes"
	"errors"
	"syscall"
	"testing"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/board/hil/cuse"
)

func TestIoctlNumbers(t *testing.T) {
	// The values of linux/spi/spidev.h on the generic ioctl layout.
	tests := []struct {
		name string
		got  uint32
		want uint32
	}{
		{"SPI_IOC_RD_MODE", RdMode, 0x80016b01},
		{"SPI_IOC_WR_MODE", WrMode, 0x40016b01},
		{"SPI_IOC_WR_BITS_PER_WORD", WrBitsPerWord, 0x40016b03},
		{"SPI_IOC_RD_MAX_SPEED_HZ", RdMaxSpeedHz, 0x80046b04},
		{"SPI_IOC_WR_MAX_SPEED_HZ", WrMaxSpeedHz, 0x40046b04},
		{"SPI_IOC_WR_MODE32", WrMode32, 0x40046b05},
		{"SPI_IOC_MESSAGE(1)", Message(1), 0x40206b00},
		{"SPI_IOC_MESSAGE(3)", Message(3), 0x40606b00},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, tc.got, tc.want)
		}
	}
}

func TestTransfersRoundTrip(t *testing.T) {
	ts := []Transfer{{TxBuf: 0x1000, RxBuf: 0x2000, Len: 3, SpeedHz: 1e6, DelayUsecs: 5, BitsPerWord: 8, CSChange: 1, TxNBits: 1, RxNBits: 2, WordDelayUsecs: 3}, {Len: 1}}
	got, err := ParseTransfers(EncodeTransfers(ts))
	if err != nil || len(got) != 2 || got[0] != ts[0] || got[1] != ts[1] {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := ParseTransfers(make([]byte, 33)); err == nil {
		t.Error("33 bytes parsed as transfers")
	}
}

// TestPackets pins spidev's chip-select rule: cs_change on a transfer
// that is not the last releases CS after it; on the last it keeps CS
// asserted after the message; zero-length transfers only move the rule.
func TestPackets(t *testing.T) {
	tests := []struct {
		name string
		ts   []Transfer
		keep []bool
	}{
		{"one transfer", []Transfer{{Len: 2}}, []bool{false}},
		{"one transfer, cs_change: held after", []Transfer{{Len: 2, CSChange: 1}}, []bool{true}},
		{"two in one cycle", []Transfer{{Len: 1}, {Len: 1}}, []bool{true, false}},
		{"two cycles (periph's KeepCS=false)", []Transfer{{Len: 1, CSChange: 1}, {Len: 1}}, []bool{false, false}},
		{"zero-length releasing", []Transfer{{Len: 1}, {Len: 0, CSChange: 1}, {Len: 1}}, []bool{false, false}},
		{"zero-length last", []Transfer{{Len: 1, CSChange: 1}, {Len: 0}}, []bool{false}},
	}
	for _, tc := range tests {
		pk, _ := Packets(tc.ts, nil)
		var keep []bool
		for _, p := range pk {
			keep = append(keep, p.KeepCS)
		}
		if len(keep) != len(tc.keep) {
			t.Errorf("%s: %d packets, want %d", tc.name, len(keep), len(tc.keep))
			continue
		}
		for i := range keep {
			if keep[i] != tc.keep[i] {
				t.Errorf("%s: packet %d KeepCS = %v, want %v", tc.name, i, keep[i], tc.keep[i])
			}
		}
	}
	// tx bytes are cut in order; transfers without tx clock zeros; rx
	// is one buffer in the order of the transfers that have one.
	pk, rx := Packets([]Transfer{{TxBuf: 1, RxBuf: 2, Len: 2}, {RxBuf: 3, Len: 1}, {TxBuf: 4, Len: 1}}, []byte{1, 2, 3})
	if !bytes.Equal(pk[0].W, []byte{1, 2}) || !bytes.Equal(pk[1].W, []byte{0}) || !bytes.Equal(pk[2].W, []byte{3}) || len(rx) != 3 || pk[2].R != nil {
		t.Fatalf("packets %+v rx %d", pk, len(rx))
	}
	pk[0].R[1], pk[1].R[0] = 7, 9
	if rx[1] != 7 || rx[2] != 9 {
		t.Errorf("rx %v does not back the packets' R", rx)
	}
}

// loop is a chip that answers each byte with its complement and records
// the cycles.
type loop struct {
	cycles [][]byte
	mode   spi.Mode
	hz     physic.Frequency
	fail   error
}

func (l *loop) String() string { return "loop" }
func (l *loop) Connect(f physic.Frequency, m spi.Mode, bits int) (spi.Conn, error) {
	if bits != 8 {
		return nil, errors.New("8 bits only")
	}
	l.mode, l.hz = m, f
	return l, nil
}
func (l *loop) Duplex() conn.Duplex { return conn.Full }
func (l *loop) Tx(w, r []byte) error {
	return l.TxPackets([]spi.Packet{{W: w, R: r}})
}
func (l *loop) TxPackets(p []spi.Packet) error {
	if l.fail != nil {
		return l.fail
	}
	for _, pk := range p {
		l.cycles = append(l.cycles, append([]byte(nil), pk.W...))
		for i := range pk.R {
			pk.R[i] = ^pk.W[i]
		}
	}
	return nil
}

func TestIoctl(t *testing.T) {
	l := &loop{}
	d := New(Opts{Port: l, MaxTrace: 10, MaxSpeedHz: 2_000_000})
	in := func(cmd uint32, v []byte) cuse.IoctlReply { return d.Ioctl(1, cmd, 0x100, v, 0) }
	// First rounds ask for the argument.
	if r := in(WrMode, nil); !r.Retry || len(r.In) != 1 || r.In[0] != (cuse.IOVec{Base: 0x100, Len: 1}) {
		t.Fatalf("WR_MODE first round: %+v", r)
	}
	if r := d.Ioctl(1, RdMaxSpeedHz, 0x200, nil, 0); !r.Retry || r.Out[0] != (cuse.IOVec{Base: 0x200, Len: 4}) {
		t.Fatalf("RD_MAX_SPEED_HZ first round: %+v", r)
	}
	if r := d.Ioctl(1, RdMaxSpeedHz, 0x200, nil, 4); !bytes.Equal(r.Data, []byte{0x80, 0x84, 0x1e, 0}) {
		t.Errorf("default speed %x, want 2 MHz", r.Data)
	}
	for _, c := range []struct {
		cmd uint32
		v   []byte
		rd  uint32
		out []byte
	}{
		{WrMode, []byte{3}, RdMode, []byte{3}},
		{WrBitsPerWord, []byte{8}, RdBitsPerWord, []byte{8}},
		{WrMaxSpeedHz, []byte{0x40, 0x42, 0x0f, 0}, RdMaxSpeedHz, []byte{0x40, 0x42, 0x0f, 0}},
		{WrMode32, []byte{3, 0, 0, 0}, RdMode32, []byte{3, 0, 0, 0}},
		{WrLSBFirst, []byte{0}, RdLSBFirst, []byte{0}},
	} {
		if r := in(c.cmd, c.v); r.Errno != 0 || r.Retry {
			t.Fatalf("%#x: %+v", c.cmd, r)
		}
		size := (c.rd >> 16) & 0x3FFF
		if r := d.Ioctl(1, c.rd, 0x100, nil, size); !bytes.Equal(r.Data, c.out) {
			t.Errorf("%#x reads %x, want %x", c.rd, r.Data, c.out)
		}
	}
	if r := in(WrMaxSpeedHz, []byte{0, 0, 0, 0}); r.Errno != syscall.EINVAL {
		t.Errorf("speed 0: %+v", r)
	}
	if r := in(0x40016a01, []byte{0}); r.Errno != syscall.ENOTTY {
		t.Errorf("foreign ioctl: %+v", r)
	}

	// SPI_IOC_MESSAGE(2): the array, then tx in and rx out, then the run.
	ts := []Transfer{{TxBuf: 0x1000, RxBuf: 0x2000, Len: 2, CSChange: 1}, {TxBuf: 0x1010, Len: 1}}
	arr := EncodeTransfers(ts)
	r := d.Ioctl(1, Message(2), 0x500, nil, 0)
	if !r.Retry || len(r.In) != 1 || r.In[0] != (cuse.IOVec{Base: 0x500, Len: 64}) {
		t.Fatalf("round 1: %+v", r)
	}
	r = d.Ioctl(1, Message(2), 0x500, arr, 0)
	wantIn := []cuse.IOVec{{Base: 0x500, Len: 64}, {Base: 0x1000, Len: 2}, {Base: 0x1010, Len: 1}}
	if !r.Retry || len(r.In) != 3 || r.In[1] != wantIn[1] || r.In[2] != wantIn[2] || len(r.Out) != 1 || r.Out[0] != (cuse.IOVec{Base: 0x2000, Len: 2}) {
		t.Fatalf("round 2: %+v", r)
	}
	r = d.Ioctl(1, Message(2), 0x500, append(append([]byte(nil), arr...), 0xA0, 0x05, 0x33), 2)
	if r.Errno != 0 || r.Result != 3 || !bytes.Equal(r.Data, []byte{0x5F, 0xFA}) {
		t.Fatalf("round 3: %+v", r)
	}
	if len(l.cycles) != 2 || !bytes.Equal(l.cycles[0], []byte{0xA0, 0x05}) || l.mode != spi.Mode3 || l.hz != physic.MegaHertz {
		t.Errorf("chip saw %x in mode %v at %v", l.cycles, l.mode, l.hz)
	}
	// A wrong number of tx bytes after the array is refused.
	if r := d.Ioctl(1, Message(2), 0x500, append(append([]byte(nil), arr...), 1), 2); r.Errno != syscall.EINVAL {
		t.Errorf("short tx: %+v", r)
	}
	// More than bufsiz bytes in one message.
	big := EncodeTransfers([]Transfer{{TxBuf: 1, Len: DefaultBufSize + 1}})
	if r := d.Ioctl(1, Message(1), 0x500, big, 0); r.Errno != syscall.EMSGSIZE {
		t.Errorf("oversized message: %+v", r)
	}
	// A refused cycle: EIO, counted, framing by Opts.Framing.
	csHeld := errors.New("cs held")
	l.fail = csHeld
	d.o.Framing = func(err error) bool { return errors.Is(err, csHeld) }
	one := EncodeTransfers([]Transfer{{TxBuf: 1, Len: 1}})
	if r := d.Ioctl(1, Message(1), 0x500, append(one, 0x80), 0); r.Errno != syscall.EIO {
		t.Errorf("refused cycle: %+v", r)
	}
	st := d.Stats()
	if st.Violations != 1 || st.Errors != 1 || st.LastError != "cs held" || st.Transfers != 3 {
		t.Errorf("stats %+v", st)
	}
	tr := d.Trace()
	if len(tr) != 3 || tr[2].Err != "cs held" || tr[0].Held {
		t.Errorf("trace %+v", tr)
	}
	// LSB first is not what the chips speak: the message is refused.
	l.fail = nil
	if r := in(WrMode, []byte{ModeLSBFirst | 3}); r.Errno != 0 {
		t.Fatal(r)
	}
	if r := d.Ioctl(1, Message(1), 0x500, append(one, 0x80), 0); r.Errno != syscall.EIO {
		t.Errorf("LSB-first message: %+v", r)
	}
}

// FuzzMessage: any in data for SPI_IOC_MESSAGE is answered without a
// panic, and a reply's data never exceeds the out room.
func FuzzMessage(f *testing.F) {
	arr := EncodeTransfers([]Transfer{{TxBuf: 0x1000, RxBuf: 0x2000, Len: 2, CSChange: 1}, {TxBuf: 0x1010, Len: 1}})
	f.Add(uint8(2), arr, uint32(0))
	f.Add(uint8(2), append(append([]byte(nil), arr...), 1, 2, 3), uint32(2))
	f.Add(uint8(1), []byte{}, uint32(0))
	f.Fuzz(func(t *testing.T, n uint8, in []byte, outSize uint32) {
		d := New(Opts{Port: &loop{}, MaxTrace: 4})
		r := d.Ioctl(1, Message(int(n)), 0x500, in, outSize)
		if r.Errno == 0 && !r.Retry && uint64(len(r.Data)) > uint64(outSize) {
			t.Fatalf("%d bytes of data for %d of room", len(r.Data), outSize)
		}
	})
}
