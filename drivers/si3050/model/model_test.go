package model

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"
)

type host struct {
	t *testing.T
	c spi.Conn
	// ctl is the control byte base: register access + chain bits.
	ctl byte
}

func newHost(t *testing.T, c *Chip) *host {
	conn, err := c.Connect(0, spi.Mode3, 8)
	if err != nil {
		t.Fatal(err)
	}
	return &host{t: t, c: conn, ctl: 0x20 | chainBits(c.opts.Chain)}
}

// w writes a register as one 3-byte chip-select cycle.
func (h *host) w(a, v byte) {
	if err := h.c.Tx([]byte{h.ctl, a, v}, nil); err != nil {
		h.t.Fatal(err)
	}
}

// r reads a register one byte per chip-select cycle.
func (h *host) r(a byte) byte {
	out := make([]byte, 1)
	p := []spi.Packet{{W: []byte{h.ctl | 0x40}}, {W: []byte{a}}, {W: []byte{0}, R: out}}
	if err := h.c.TxPackets(p); err != nil {
		h.t.Fatal(err)
	}
	return out[0]
}

type fixedLine struct{ cond Condition }

func (l *fixedLine) Condition(uint64, bool) Condition { return l.cond }
func (l *fixedLine) Audio(_ uint64, _ bool, _, from []int16) {
	for i := range from {
		from[i] = 7
	}
}

func TestResetValuesAndAccessRules(t *testing.T) {
	c := New(Opts{})
	h := newHost(t, c)
	for a, want := range map[byte]byte{2: 0x03, 6: 0x10, 11: DefaultRevision, 22: 0x96, 24: 0x19, 5: 0} {
		if got := h.r(a); got != want {
			t.Errorf("reg%d = %#02x, want %#02x", a, got, want)
		}
	}
	h.w(11, 0x55) // read-only
	h.w(7, 1)     // unknown
	if h.r(11) != DefaultRevision || len(c.Violations()) != 2 {
		t.Errorf("violations %v", c.Violations())
	}
	// A frame without the register-access bit.
	if err := h.c.Tx([]byte{0x00, 36, 1}, nil); err != nil {
		t.Fatal(err)
	}
	// A broadcast read.
	if err := h.c.Tx([]byte{0xE0, 36, 0}, make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	if len(c.Violations()) != 4 {
		t.Errorf("violations %v", c.Violations())
	}
	// Broadcast write reaches the chip.
	if err := h.c.Tx([]byte{0xA0, 36, 0x42}, nil); err != nil {
		t.Fatal(err)
	}
	if c.Reg(36) != 0x42 {
		t.Error("broadcast write ignored")
	}
	// Soft reset.
	h.w(1, 0x80)
	if c.Reg(36) != 0 || c.Reg(1) != 0 {
		t.Error("soft reset did not reset")
	}
}

func TestLinkAndInterrupts(t *testing.T) {
	c := New(Opts{LinkAccesses: 3})
	l := &fixedLine{cond: Condition{Volts: 48}}
	c.Attach(l)
	h := newHost(t, c)
	h.w(6, 0)
	if c.LinkUp() {
		t.Fatal("link up at once")
	}
	for range 3 {
		h.r(2)
	}
	if !c.LinkUp() || h.r(11)>>4 != DefaultLineSideID || h.r(12)&0x40 == 0 {
		t.Fatal("link not up")
	}
	h.w(5, 0x08) // line monitor
	h.w(2, 0x83) // INTE
	h.w(3, 0xFF)
	irq := c.IRQPin()
	c.Transfer(1, nil, nil)
	if int8(h.r(29)) != 48 || irq.Read() != gpio.High {
		t.Fatalf("LVS %d irq %v", int8(h.r(29)), irq.Read())
	}
	l.cond.Volts = -48
	c.Transfer(2, nil, nil)
	if h.r(4)&0x01 == 0 || irq.Read() != gpio.Low {
		t.Fatal("POLI not raised")
	}
	h.w(4, 0xFE) // clear POLI only
	if h.r(4) != 0 || irq.Read() != gpio.High {
		t.Fatal("POLI not cleared")
	}
	l.cond.Volts = 0
	c.Transfer(3, nil, nil)
	if h.r(4)&0x10 == 0 {
		t.Error("BTDI not raised")
	}
	// Powering the line side down drops the link.
	h.w(6, 0x10)
	if c.LinkUp() || h.r(11)>>4 != 0 {
		t.Error("link still up")
	}
	// RO bits of reg5 survive writes.
	h.w(5, 0xFF)
	if c.Reg(5)&0x64 != 0 {
		t.Error("wrote RDT/RDTP/RDTN")
	}
}

func TestRingWithoutValidation(t *testing.T) {
	c := New(Opts{LinkAccesses: 1})
	l := &fixedLine{cond: Condition{Volts: 48, RingVrms: 80, RingHz: 20}}
	c.Attach(l)
	h := newHost(t, c)
	h.w(6, 0)
	h.r(2)
	h.w(24, 0x19) // RNGV off
	c.Transfer(1, nil, nil)
	if c.Reg(5)&0x04 == 0 || c.Reg(5)&0x60 == 0 {
		t.Fatalf("raw ring not shown: reg5 %#02x", c.Reg(5))
	}
	seenP, seenN := false, false
	for s := uint64(2); s < 10; s++ {
		c.Transfer(s, nil, nil)
		seenP = seenP || c.Reg(5)&0x20 != 0
		seenN = seenN || c.Reg(5)&0x40 != 0
	}
	if !seenP || !seenN {
		t.Error("RDTP/RDTN do not alternate")
	}
	// RT and RT2 raise the threshold above 80 Vrms? No: 45 Vrms.
	h.w(16, 1)
	h.w(17, 0x10)
	l.cond.RingVrms = 40
	c.Transfer(20, nil, nil)
	if c.Reg(5)&0x04 != 0 {
		t.Error("40 Vrms detected with the 45 Vrms threshold")
	}
	// RDI: an interrupt at the end of the ring too.
	h.w(2, 0x07)
	h.w(4, 0)
	l.cond.RingVrms = 80
	c.Transfer(21, nil, nil)
	h.w(4, 0)
	l.cond.RingVrms = 0
	c.Transfer(22, nil, nil)
	if c.Reg(4)&0x80 == 0 {
		t.Error("no RDTI at the end of ringing with RDI")
	}
}

func TestResetPinAndFaults(t *testing.T) {
	c := New(Opts{})
	h := newHost(t, c)
	h.w(36, 9)
	rst := c.ResetPin()
	if err := rst.Out(gpio.Low); err != nil {
		t.Fatal(err)
	}
	if h.r(2) != 0xFF {
		t.Error("answers in reset")
	}
	if err := rst.Out(gpio.High); err != nil {
		t.Fatal(err)
	}
	if h.r(36) != 0 || h.r(2) != 3 {
		t.Error("not reset")
	}
	if rst.In(gpio.PullNoChange, gpio.NoEdge) == nil || c.IRQPin().Out(gpio.Low) == nil {
		t.Error("pins accept the wrong direction")
	}
	c.FailSPI(1)
	if err := h.c.Tx([]byte{0x20, 36, 1}, nil); !errors.Is(err, ErrInjected) {
		t.Errorf("FailSPI: %v", err)
	}
	if h.r(2) != 3 {
		t.Error("frame sync lost after an injected error")
	}
	if _, err := c.Connect(0, spi.Mode0, 8); err == nil {
		t.Error("mode 0 accepted")
	}
	if _, err := c.Connect(20*MaxSpeed, spi.Mode3, 8); err == nil {
		t.Error("too fast accepted")
	}
	if err := c.LimitSpeed(MaxSpeed / 2); err != nil {
		t.Fatal(err)
	}
	abs := New(Opts{Absent: true})
	if newHost(t, abs).r(2) != 0 {
		t.Error("absent chip answered")
	}
	np := New(Opts{NoPCLK: true})
	hp := newHost(t, np)
	hp.w(2, 0x83)
	hp.w(6, 0)
	for range 10 {
		hp.r(2)
	}
	if hp.r(2) != 0 || np.LinkUp() {
		t.Error("chip works without PCLK")
	}
}

func FuzzSPI(f *testing.F) {
	f.Add([]byte{0x20, 6, 0, 0x60, 11, 0, 0x20, 5, 1, 0xA0, 33, 0x38})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := New(Opts{LinkAccesses: 1})
		c.Attach(&fixedLine{cond: Condition{Volts: -30, LoopMA: 40, RingVrms: 60, RingHz: 25}})
		conn, err := c.Connect(0, spi.Mode3, 8)
		if err != nil {
			t.Fatal(err)
		}
		r := make([]byte, len(b))
		if err := conn.Tx(b, r); err != nil {
			t.Fatal(err)
		}
		buf := [][]int16{make([]int16, 80), make([]int16, 80), make([]int16, 80)}
		for s := range uint64(3) {
			c.Transfer(s, buf, buf)
		}
	})
}
