package si3215_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/drivers/si3215/model"
	"github.com/loopstart/loopstart/dsp"
)

func TestPCMFormats(t *testing.T) {
	for _, tc := range []struct {
		f    pcm.Format
		reg1 byte
		enc  func(int16) byte
		dec  func(byte) int16
	}{
		{pcm.ULaw, 0xA8, dsp.MulawEncode, dsp.MulawDecode},
		{pcm.ALaw, 0xA0, dsp.AlawEncode, dsp.AlawDecode},
	} {
		t.Run(tc.f.String(), func(t *testing.T) {
			r := mustRig(t, si3215.Opts{Slot: 1, Format: tc.f}, false)
			if got := r.chip.Reg(1); got != tc.reg1 {
				t.Fatalf("reg1 = %#02x, want %#02x", got, tc.reg1)
			}
			r.phone.setHook(true)
			r.phone.mic = 3000
			from := [][]int16{make([]int16, 80), make([]int16, 80)}
			to := [][]int16{make([]int16, 80), make([]int16, 80)}
			for i := range from[1] {
				from[1][i] = int16(uint16(tc.enc(-5000)) << 8)
			}
			r.chip.Transfer(1, from, to)
			if got := byte(uint16(to[1][3]) >> 8); got != tc.enc(3000) || to[1][3]&0xFF != 0 {
				t.Errorf("captured word %#04x, want code %#02x in the high byte", uint16(to[1][3]), tc.enc(3000))
			}
			r.phone.mu.Lock()
			heard := r.phone.heard[3]
			r.phone.mu.Unlock()
			if heard != tc.dec(tc.enc(-5000)) {
				t.Errorf("phone heard %d", heard)
			}
		})
	}
	if _, err := newRig(t, model.Opts{}, si3215.Opts{Format: 7}, false); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestCountry(t *testing.T) {
	for _, tc := range []struct {
		country string
		hz      int
		imp     byte
	}{
		{"us", 20, 0}, {"uk", 25, 4}, {"de", 25, 4}, {"fr", 50, 4}, {"jp", 16, 0}, {"cn", 25, 7},
	} {
		t.Run(tc.country, func(t *testing.T) {
			r := mustRig(t, si3215.Opts{Country: tc.country}, false)
			c, err := si3215.LookupCountry(tc.country)
			if err != nil {
				t.Fatal(err)
			}
			if r.chip.Reg(10) != tc.imp {
				t.Errorf("impedance reg10 = %d, want %d", r.chip.Reg(10), tc.imp)
			}
			if got := r.chip.IndirectReg(7); got != si3215.RingCoefficient(tc.hz) {
				t.Errorf("RCO 0x%04x, want %d Hz", got, tc.hz)
			}
			if got := r.chip.IndirectReg(8); got != si3215.RingAmplitude(tc.hz, c.RingVoltsPeak) {
				t.Errorf("RNGX 0x%04x", got)
			}
			if vb := float64(r.chip.Reg(74)) * 1.5; vb < float64(c.RingVoltsPeak)+5 {
				t.Errorf("VBATH %v V too low for %d V peak ringing", vb, c.RingVoltsPeak)
			}
			if r.chip.IndirectReg(13) != 0x4000 || r.chip.IndirectReg(14) != 0x4000 {
				t.Error("gains not 0 dB")
			}
		})
	}
	// Overrides: ring frequency from the tone profile, amplitude and offset.
	r := mustRig(t, si3215.Opts{Country: "us", RingHz: 25, RingVoltsPeak: 60, RingDCOffsetVolts: -12}, false)
	if r.chip.IndirectReg(7) != si3215.RingCoefficient(25) || r.chip.IndirectReg(8) != si3215.RingAmplitude(25, 60) ||
		r.chip.IndirectReg(6) != si3215.RingOffset(-12) {
		t.Errorf("IR6-8 = %#04x %#04x %#04x", r.chip.IndirectReg(6), r.chip.IndirectReg(7), r.chip.IndirectReg(8))
	}
	if got := si3215.RingAmplitude(20, 89); got != 0x1DE {
		t.Errorf("RingAmplitude(20 Hz, 89 V) = %#x, want 0x1de", got)
	}
	if got := si3215.RingOffset(-12); got != 0xF000 {
		t.Errorf("RingOffset(-12) = %#x", got)
	}
	for _, o := range []si3215.Opts{{Country: "xx"}, {RingVoltsPeak: 95}, {RingDCOffsetVolts: 50}} {
		if _, err := newRig(t, model.Opts{}, o, false); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

func TestDaisyChain(t *testing.T) {
	chips := []*model.Chip{model.New(model.Opts{Chain: 0}), model.New(model.Opts{Chain: 1})}
	phones := []*phone{newPhone(), newPhone()}
	for i := range chips {
		chips[i].Attach(phones[i])
	}
	bus, err := model.NewBus(chips...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := bus.Connect(si3215.MaxSpeed, si3215.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	nosleep := func(time.Duration) {}
	var devs []*si3215.Dev
	for i := range chips {
		var rst = chips[0].ResetPin() // one RESET line for the chain
		if i > 0 {
			rst = nil
		}
		d, err := si3215.New(c, rst, nil, &si3215.Opts{Daisy: true, Chain: i, Slot: i, Sleep: nosleep})
		if err != nil {
			t.Fatalf("chip %d: %v", i, err)
		}
		devs = append(devs, d)
	}
	for i, ch := range chips {
		if ch.Linefeed() != 1 || ch.Reg(0)&0x80 == 0 || int(ch.Reg(2)) != 16*i {
			t.Errorf("chip %d: linefeed %d reg0 %#02x reg2 %d", i, ch.Linefeed(), ch.Reg(0), ch.Reg(2))
		}
		if v := ch.Violations(); len(v) != 0 {
			t.Errorf("chip %d violations %q", i, v)
		}
	}
	phones[1].setHook(true)
	var off [2]bool
	for ms := 10; ms <= 60; ms += 10 {
		for i, d := range devs {
			if off[i], err = d.PollHook(time.Duration(ms) * time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
	}
	if off[0] || !off[1] {
		t.Errorf("hook states %v, want only chip 1 off hook", off)
	}
	if _, err := si3215.New(c, nil, nil, &si3215.Opts{Daisy: true, Chain: 5, Sleep: nosleep}); !errors.Is(err, si3215.ErrNotFound) {
		t.Errorf("empty chain position: %v", err)
	}
	if _, err := si3215.New(c, nil, nil, &si3215.Opts{Daisy: true, Chain: 8, Sleep: nosleep}); err == nil {
		t.Error("chain position 8 accepted")
	}
	if _, err := model.NewBus(chips[0], model.New(model.Opts{})); err == nil {
		t.Error("two chips at position 0 accepted")
	}
}

func TestPowerAlarm(t *testing.T) {
	for _, irq := range []bool{false, true} {
		t.Run(map[bool]string{false: "polled", true: "irq"}[irq], func(t *testing.T) {
			r := mustRig(t, si3215.Opts{}, irq)
			if _, err := r.dev.PollHook(10 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
			r.chip.PowerAlarm(3)
			_, err := r.dev.PollHook(20 * time.Millisecond)
			if !errors.Is(err, si3215.ErrPowerAlarm) || !strings.Contains(err.Error(), "Q3") || !strings.Contains(err.Error(), "spi0.0") {
				t.Fatalf("err = %v", err)
			}
			if !errors.Is(r.dev.Fault(), si3215.ErrPowerAlarm) || r.chip.Linefeed() != 0 {
				t.Errorf("fault %v, linefeed %d", r.dev.Fault(), r.chip.Linefeed())
			}
			if err := r.dev.SetRinging(true); !errors.Is(err, si3215.ErrPowerAlarm) {
				t.Errorf("ringing allowed on a faulty port: %v", err)
			}
			before := r.chip.Accesses()
			if _, err := r.dev.PollHook(30 * time.Millisecond); err == nil || r.chip.Accesses() != before {
				t.Error("faulty port still polls the chip")
			}
			if err := r.dev.ClearFault(); err != nil {
				t.Fatal(err)
			}
			if r.dev.Fault() != nil || r.chip.Linefeed() != 1 {
				t.Error("not re-armed")
			}
			if _, err := r.dev.PollHook(40 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := r.dev.ClearFault(); err != nil {
				t.Fatal(err)
			}
		})
	}
	r := mustRig(t, si3215.Opts{}, true)
	if got := r.chip.Reg(22); got != 0xFF {
		t.Errorf("interrupt mask 22 = %#02x, want loop, ring trip and power alarms", got)
	}
	r.chip.PowerAlarm(0) // no such transistor: ignored
	r.chip.PowerAlarm(7)
	if r.chip.Reg(19) != 0 {
		t.Error("bad transistor numbers raised alarms")
	}
}

func TestModelFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		mo   model.Opts
		want error
		msg  string
	}{
		{"absent-ff", model.Opts{Absent: true, AbsentValue: 0xFF}, si3215.ErrNotFound, "0xff"},
		{"absent-00", model.Opts{Absent: true, AbsentValue: 0x00}, si3215.ErrNotFound, "0x00"},
		{"stuck-busy", model.Opts{StuckBusy: true}, si3215.ErrTimeout, "indirect register port still busy"},
		{"wrong-id", model.Opts{ID: 0x31}, si3215.ErrWrongPart, "revision 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newRig(t, tc.mo, si3215.Opts{}, false)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "spi0.0") {
				t.Fatalf("err = %v, want %v with %q", err, tc.want, tc.msg)
			}
		})
	}
	// SPI errors: at bring-up, and at run time with recovery.
	chip := model.New(model.Opts{})
	chip.FailSPI(1)
	c, _ := chip.Connect(0, spi.Mode3, 8)
	if _, err := si3215.New(c, chip.ResetPin(), nil, &si3215.Opts{Name: "spi0.3", Sleep: func(time.Duration) {}}); !errors.Is(err, model.ErrInjected) ||
		!strings.Contains(err.Error(), "spi0.3: read register 0") {
		t.Fatalf("bring-up over a failing bus: %v", err)
	}
	r := mustRig(t, si3215.Opts{}, false)
	r.chip.FailSPI(1)
	if _, err := r.dev.PollHook(10 * time.Millisecond); !errors.Is(err, model.ErrInjected) {
		t.Fatalf("poll: %v", err)
	}
	if _, err := r.dev.PollHook(20 * time.Millisecond); err != nil {
		t.Fatalf("no recovery: %v", err)
	}
}

func TestDiagnostics(t *testing.T) {
	r := mustRig(t, si3215.Opts{}, false)
	d, err := r.dev.Diagnostics()
	if err != nil {
		t.Fatal(err)
	}
	if d.VBATVolts < 70 || d.LoopMA != 0 || d.RingVolts < 70 || d.TipVolts != 0 {
		t.Errorf("on hook: %+v", d)
	}
	r.phone.setHook(true)
	if _, err := r.dev.PollHook(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	d, _ = r.dev.Diagnostics()
	if d.LoopMA < 20 || d.LoopMA > 30 || d.RingVolts > 12 {
		t.Errorf("off hook: %+v", d)
	}
	_ = r.dev.SetLinefeed(si3215.LinefeedReverseActive)
	d, _ = r.dev.Diagnostics()
	if d.TipVolts == 0 || d.RingVolts != 0 {
		t.Errorf("reversed: %+v", d)
	}
	r.chip.FailSPI(1)
	if _, err := r.dev.Diagnostics(); err == nil {
		t.Error("no error from a failing bus")
	}
}

// TestPollHookPowerAlarm: a power alarm reaches the hook poll as
// ErrPowerAlarm. (What hook changes mean — flash, pulses, hang-up — is
// voice/line's; its table tests hold the cases that were here.)
func TestPollHookPowerAlarm(t *testing.T) {
	r := mustRig(t, si3215.Opts{}, true)
	now := time.Duration(0)
	for ; now < 100*time.Millisecond; now += 10 * time.Millisecond {
		if _, err := r.dev.PollHook(now); err != nil {
			t.Fatal(err)
		}
	}
	r.chip.PowerAlarm(1)
	if _, err := r.dev.PollHook(now); !errors.Is(err, si3215.ErrPowerAlarm) {
		t.Errorf("power alarm: %v", err)
	}
}

func TestProbe(t *testing.T) {
	chip := model.New(model.Opts{Variant: 2})
	c, _ := chip.Connect(0, spi.Mode3, 8)
	id, err := si3215.Probe(c)
	if err != nil || id.ID != model.DefaultID || !id.Si3215 || id.Variant != 2 {
		t.Fatalf("probe: %+v %v", id, err)
	}
	if chip.Accesses() != 3 || chip.Reg(64) != 0 {
		t.Error("probe did more than read")
	}
	chip.FailSPI(1)
	if _, err := si3215.Probe(c); !errors.Is(err, model.ErrInjected) {
		t.Errorf("probe over a failing bus: %v", err)
	}
}
