package model

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

type host struct {
	t *testing.T
	c spi.Conn
}

func newHost(t *testing.T, c *Chip) *host {
	t.Helper()
	conn, err := c.Connect(MaxSpeed, spi.Mode3, 8)
	if err != nil {
		t.Fatal(err)
	}
	return &host{t, conn}
}

func (h *host) w(addr, v byte) {
	h.t.Helper()
	if err := h.c.Tx([]byte{addr & 0x7F}, nil); err != nil {
		h.t.Fatal(err)
	}
	if err := h.c.Tx([]byte{v}, nil); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) r(addr byte) byte {
	h.t.Helper()
	p := []spi.Packet{{W: []byte{0x80 | addr}}, {W: []byte{0}, R: make([]byte, 1)}}
	if err := h.c.TxPackets(p); err != nil {
		h.t.Fatal(err)
	}
	return p[1].R[0]
}

type line struct {
	mu     sync.Mutex
	closed bool
	ring   []bool
}

func (l *line) LoopClosed() bool               { l.mu.Lock(); defer l.mu.Unlock(); return l.closed }
func (l *line) Ring(on bool)                   { l.mu.Lock(); l.ring = append(l.ring, on); l.mu.Unlock() }
func (l *line) Audio(uint64, []int16, []int16) {}

func TestConnect(t *testing.T) {
	c := New(Opts{})
	for _, tc := range []struct {
		f    physic.Frequency
		mode spi.Mode
		bits int
		ok   bool
	}{
		{MaxSpeed, spi.Mode3, 8, true},
		{0, spi.Mode3, 8, true},
		{physic.MegaHertz, spi.Mode3, 8, true},
		{MaxSpeed, spi.Mode0, 8, false},
		{MaxSpeed, spi.Mode3 | spi.LSBFirst, 8, false},
		{MaxSpeed, spi.Mode3 | spi.HalfDuplex, 8, false},
		{MaxSpeed, spi.Mode3, 16, false},
		{2 * MaxSpeed, spi.Mode3, 8, false},
	} {
		_, err := c.Connect(tc.f, tc.mode, tc.bits)
		if (err == nil) != tc.ok {
			t.Errorf("Connect(%s, %s, %d) = %v", tc.f, tc.mode, tc.bits, err)
		}
	}
	if err := c.LimitSpeed(0); err == nil {
		t.Error("LimitSpeed(0) accepted")
	}
	if err := c.LimitSpeed(physic.MegaHertz); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Connect(2*MaxSpeed, spi.Mode3, 8) // limited below the chip's max
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(conn.String(), "1MHz") {
		t.Errorf("conn %s, want 1MHz", conn)
	}
}

func TestByteProtocol(t *testing.T) {
	c := New(Opts{})
	h := newHost(t, c)
	if got := h.r(0); got != DefaultID {
		t.Fatalf("reg0 = 0x%02x", got)
	}
	for _, tc := range []struct{ addr, want byte }{{1, 0x88}, {8, 0x02}, {11, 0x33}, {14, 0x10}, {64, 0}, {74, 0x32}} {
		if got := h.r(tc.addr); got != tc.want {
			t.Errorf("reset reg%d = 0x%02x, want 0x%02x", tc.addr, got, tc.want)
		}
	}
	h.w(9, 0x12)
	if got := h.r(9); got != 0x12 {
		t.Errorf("reg9 = 0x%02x after write", got)
	}
	// Two bytes with CS held are refused, and the framing restarts.
	err := h.c.Tx([]byte{0x09, 0x34}, nil)
	if !errors.Is(err, ErrCSHeld) {
		t.Errorf("2-byte Tx: %v", err)
	}
	err = h.c.TxPackets([]spi.Packet{{W: []byte{0x09}, KeepCS: true}, {W: []byte{0x34}}})
	if !errors.Is(err, ErrCSHeld) {
		t.Errorf("KeepCS packet: %v", err)
	}
	if got := h.r(9); got != 0x12 {
		t.Errorf("reg9 = 0x%02x after refused writes", got)
	}
	// Half an access, then an abort: the next byte is a control byte again.
	_ = h.c.Tx([]byte{0x09}, nil)
	_ = h.c.Tx([]byte{1, 2}, nil)
	if got := h.r(9); got != 0x12 {
		t.Errorf("framing lost after abort: reg9 = 0x%02x", got)
	}
	// Read-only and unknown registers are recorded, not written (register
	// 0 takes only bit 7, the daisy-chain enable).
	h.w(0, 0x01)
	h.w(68, 1)
	h.w(120, 1)
	if v := c.Violations(); len(v) != 3 {
		t.Errorf("violations %q, want 3", v)
	}
	if c.Reg(0) != DefaultID || c.Reg(68) != 0 {
		t.Error("read-only register written")
	}
	// reg1 bit 7 is read-only.
	h.w(1, 0x38)
	if got := h.r(1); got != 0xB8 {
		t.Errorf("reg1 = 0x%02x, want 0xb8", got)
	}
}

func TestIndirect(t *testing.T) {
	c := New(Opts{IndirectBusy: 3})
	h := newHost(t, c)
	h.w(28, 0x34)
	h.w(29, 0x12)
	h.w(30, 7)
	busy := 0
	for h.r(31) != 0 {
		busy++
	}
	if busy != 2 {
		t.Errorf("busy for %d reads, want 2", busy)
	}
	if got := c.IndirectReg(7); got != 0x1234 {
		t.Errorf("IR7 = 0x%04x", got)
	}
	if c.Reg(20)&0x02 == 0 {
		t.Error("indirect-done status not latched")
	}
	h.w(20, 0x02)
	if c.Reg(20) != 0 {
		t.Error("status not cleared by writing 1")
	}
	// A read: address alone; data only once idle.
	h.w(28, 0)
	h.w(29, 0)
	h.w(30, 8) // writes 0 to IR8
	for h.r(31) != 0 {
	}
	h.w(30, 7)
	if lo := h.r(28); lo != 0 {
		t.Errorf("read data early: 0x%02x", lo)
	}
	for h.r(31) != 0 {
	}
	if lo, hi := h.r(28), h.r(29); lo != 0x34 || hi != 0x12 {
		t.Errorf("IR7 read = %02x%02x", hi, lo)
	}
	if c.IndirectReg(7) != 0x1234 {
		t.Error("indirect read modified the register")
	}
	// Accesses while busy and unknown addresses are violations.
	h.w(30, 7)
	h.w(28, 1)
	for h.r(31) != 0 {
	}
	h.w(30, 200)
	if v := c.Violations(); len(v) != 2 {
		t.Errorf("violations %q, want 2", v)
	}
}

func TestPowerAndCalibration(t *testing.T) {
	c := New(Opts{CalibrationAccesses: 5})
	h := newHost(t, c)
	h.w(14, 0) // converter on but no PWM period
	for i := 0; i < 10; i++ {
		if h.r(82) != 0 {
			t.Fatal("VBAT rose without reg92")
		}
	}
	h.w(92, 0xFF)
	n := 0
	for h.r(82) < 0xC0 {
		if n++; n > 20 {
			t.Fatal("VBAT never rose")
		}
	}
	h.w(14, 0x10)
	for h.r(82) != 0 {
		if n++; n > 40 {
			t.Fatal("VBAT never decayed")
		}
	}
	h.w(96, 0x5F)
	n = 0
	for h.r(96) != 0 {
		n++
	}
	if n != 4 {
		t.Errorf("calibration took %d reads, want 4", n)
	}
	stuck := New(Opts{StuckCalibration: true})
	hs := newHost(t, stuck)
	hs.w(96, 0x5F)
	for i := 0; i < 100; i++ {
		if hs.r(96) == 0 {
			t.Fatal("stuck calibration finished")
		}
	}
}

// powered returns a chip with battery up, its host and its line.
func powered(t *testing.T) (*Chip, *host, *line) {
	c := New(Opts{})
	l := &line{}
	c.Attach(l)
	h := newHost(t, c)
	h.w(92, 0xFF)
	h.w(14, 0)
	for h.r(82) < 0xC0 {
	}
	return c, h, l
}

func TestHookRingTripAndIRQ(t *testing.T) {
	c, h, l := powered(t)
	irq := c.IRQPin()
	h.w(22, 0x03)
	l.closed = true
	if h.r(68) != 0 {
		t.Error("loop closure with linefeed open")
	}
	h.w(64, 1)
	if got := h.r(68); got != 1 {
		t.Errorf("reg68 = %d, want LCR", got)
	}
	if h.r(64) != 0x11 {
		t.Error("linefeed shadow missing")
	}
	if irq.Read() != gpio.Low {
		t.Error("IRQ not asserted on loop closure")
	}
	h.w(19, h.r(19))
	if irq.Read() != gpio.High {
		t.Error("IRQ still asserted after clearing")
	}
	l.mu.Lock()
	l.closed = false
	l.mu.Unlock()
	h.w(8, 0) // any access samples the line
	if irq.Read() != gpio.Low || c.Reg(68) != 0 {
		t.Error("hang-up not seen")
	}
	h.w(19, 0xFF)

	// Ringing needs an amplitude.
	h.w(64, 4)
	if len(l.ring) != 0 {
		t.Error("rang with RNGX = 0")
	}
	h.w(64, 1)
	h.w(28, 0x60)
	h.w(29, 0x01)
	h.w(30, 8)
	for h.r(31) != 0 {
	}
	h.w(64, 4)
	if len(l.ring) != 1 || !l.ring[0] {
		t.Fatalf("ring events %v", l.ring)
	}
	// Answer: ring trip, auto trip to forward active.
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	if got := h.r(68); got != 1 {
		t.Errorf("reg68 = %d after auto ring trip, want LCR", got)
	}
	if c.Linefeed() != 1 || c.Reg(19)&0x01 == 0 {
		t.Errorf("linefeed %d, reg19 0x%02x after ring trip", c.Linefeed(), c.Reg(19))
	}
	if len(l.ring) != 2 || l.ring[1] {
		t.Errorf("ring events %v", l.ring)
	}
	// Without auto ring trip the chip keeps ringing and shows RTP.
	h.w(67, 0x03)
	l.mu.Lock()
	l.closed = false
	l.mu.Unlock()
	h.w(64, 4)
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	if got := h.r(68); got != 2 || c.Linefeed() != 4 {
		t.Errorf("reg68 = %d, linefeed %d without auto ring trip", got, c.Linefeed())
	}
}

func TestReset(t *testing.T) {
	c, h, l := powered(t)
	h.w(28, 0x60)
	h.w(29, 0x01)
	h.w(30, 8)
	for h.r(31) != 0 {
	}
	h.w(64, 4)
	rst := c.ResetPin()
	if err := rst.Out(gpio.Low); err != nil {
		t.Fatal(err)
	}
	if len(l.ring) != 2 || l.ring[1] {
		t.Errorf("ring events %v: reset should stop ringing", l.ring)
	}
	if h.r(0) != 0xFF {
		t.Error("chip answers while in reset")
	}
	h.w(9, 5)
	if err := rst.Out(gpio.High); err != nil {
		t.Fatal(err)
	}
	if h.r(9) != 0 || h.r(64) != 0 || h.r(82) != 0 || c.IndirectReg(8) != 0 || h.r(8) != 2 {
		t.Error("registers not back to reset values")
	}
	if rst.In(gpio.PullNoChange, gpio.NoEdge) == nil || c.IRQPin().Out(gpio.Low) == nil {
		t.Error("pins accept the wrong direction")
	}
}

func FuzzSPI(f *testing.F) {
	f.Add([]byte{0x80, 0, 0x40, 1, 0x1E, 7, 0x9F, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := New(Opts{})
		c.Attach(&line{closed: len(b)%2 == 0})
		conn, err := c.Connect(0, spi.Mode3, 8)
		if err != nil {
			t.Fatal(err)
		}
		r := make([]byte, 1)
		for i := range b {
			if err := conn.Tx(b[i:i+1], r); err != nil {
				t.Fatal(err)
			}
		}
		from := [][]int16{make([]int16, 80)}
		c.Transfer(1, from, from)
	})
}
