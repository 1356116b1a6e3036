package si3050_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3050/model"
	"github.com/loopstart/loopstart/dsp"
)

// line is a scripted central office line for the model.
type line struct {
	mu       sync.Mutex
	volts    float64 // on hook
	offVolts float64 // across the DAA off hook
	loopMA   float64
	ringVrms float64
	ringHz   float64
	tone     int16 // audio sample sent to the DAA
	heard    []int16
}

func newLine() *line { return &line{volts: 48, offVolts: 8, loopMA: 30} }

func (l *line) set(f func(l *line)) {
	l.mu.Lock()
	f(l)
	l.mu.Unlock()
}

func (l *line) Condition(seq uint64, offHook bool) model.Condition {
	l.mu.Lock()
	defer l.mu.Unlock()
	if offHook {
		v := l.offVolts
		if l.volts < 0 {
			v = -v
		}
		if l.volts == 0 {
			return model.Condition{}
		}
		return model.Condition{Volts: v, LoopMA: l.loopMA}
	}
	return model.Condition{Volts: l.volts, RingVrms: l.ringVrms, RingHz: l.ringHz}
}

func (l *line) Audio(seq uint64, offHook bool, toLine, fromLine []int16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range fromLine {
		fromLine[i] = l.tone
	}
	l.heard = append(l.heard[:0], toLine...)
}

// rig is a chip model, its line, a driver and a frame clock.
type rig struct {
	t    *testing.T
	chip *model.Chip
	line *line
	dev  *si3050.Dev
	seq  uint64
	tx   [][]int16
	rx   [][]int16
}

func nosleep(time.Duration) {}

func newRig(t *testing.T, mo model.Opts, o si3050.Opts, irq bool) *rig {
	t.Helper()
	chip := model.New(mo)
	l := newLine()
	chip.Attach(l)
	c, err := chip.Connect(si3050.MaxSpeed, si3050.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	o.Sleep = nosleep
	var ip gpio.PinIn
	if irq {
		ip = chip.IRQPin()
	}
	dev, err := si3050.New(c, chip.ResetPin(), ip, &o)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, chip: chip, line: l, dev: dev}
	for range 4 {
		r.tx = append(r.tx, make([]int16, 80))
		r.rx = append(r.rx, make([]int16, 80))
	}
	if v := chip.Violations(); len(v) != 0 {
		t.Fatalf("violations after bring-up: %v", v)
	}
	return r
}

func (r *rig) now() time.Duration { return time.Duration(r.seq) * 10 * time.Millisecond }

// run advances n frames, polling after each, and returns the union of events.
func (r *rig) run(n int) (si3050.Status, si3050.Event) {
	r.t.Helper()
	var ev si3050.Event
	var st si3050.Status
	for range n {
		r.seq++
		r.chip.Transfer(r.seq, r.tx, r.rx)
		var err error
		st, err = r.dev.Poll(r.now())
		if err != nil {
			r.t.Fatal(err)
		}
		ev |= st.Events
	}
	return st, ev
}

func TestBringUpCountries(t *testing.T) {
	for _, tc := range []struct {
		country       string
		r16, r26, r30 byte
		ohs2          bool
	}{
		{"us", 0x01, 0xC0, 0x00, false},
		{"fcc", 0x01, 0xC0, 0x00, false},
		{"tbr21", 0x00, 0xC2, 0x02, false},
		{"uk", 0x00, 0xC2, 0x05, true},
		{"de", 0x00, 0xC2, 0x03, true},
		{"fr", 0x00, 0xC2, 0x02, true},
		{"jp", 0x00, 0x30, 0x00, false},
		{"CN", 0x00, 0x30, 0x0F, false},
		{"au", 0x40, 0x30, 0x03, false},
		{"br", 0x00, 0x30, 0x00, false},
		{"nl", 0x00, 0xC2, 0x02, true},
		{"pl", 0x03, 0xC0, 0x00, false},
		{"nz", 0x00, 0xC0, 0x04, false},
	} {
		t.Run(tc.country, func(t *testing.T) {
			r := newRig(t, model.Opts{}, si3050.Opts{Country: tc.country, Slot: 2}, false)
			c := r.chip
			if c.Reg(16) != tc.r16 || c.Reg(26) != tc.r26 || c.Reg(30) != tc.r30 || (c.Reg(31)&0x08 != 0) != tc.ohs2 {
				t.Errorf("regs 16/26/30/31 = %#02x %#02x %#02x %#02x", c.Reg(16), c.Reg(26), c.Reg(30), c.Reg(31))
			}
			if c.Reg(34) != 32 || c.Reg(36) != 32 || c.Reg(33) != 0x38 {
				t.Errorf("PCM regs 33/34/36 = %#02x %d %d", c.Reg(33), c.Reg(34), c.Reg(36))
			}
			if !c.LinkUp() || c.Reg(5) != 0x08 || c.Reg(6) != 0 {
				t.Errorf("link %v reg5 %#02x reg6 %#02x", c.LinkUp(), c.Reg(5), c.Reg(6))
			}
			if c.Reg(24) != 0x80|17 || c.Reg(22) != 14 || c.Reg(23) != 2<<3|1 {
				t.Errorf("ring validation regs 22-24 = %#02x %#02x %#02x", c.Reg(22), c.Reg(23), c.Reg(24))
			}
			id := r.dev.Identity()
			if id.Revision != model.DefaultRevision || id.LineSide != model.DefaultLineSideID {
				t.Errorf("identity %+v", id)
			}
			if !strings.Contains(r.dev.String(), "slot 2") {
				t.Error(r.dev.String())
			}
		})
	}
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		mo   model.Opts
		fail int
		want error
		msg  string
	}{
		{"absent-ff", model.Opts{Absent: true, AbsentValue: 0xFF}, 0, si3050.ErrNotFound, "reads 0xff"},
		{"absent-00", model.Opts{Absent: true, AbsentValue: 0x00}, 0, si3050.ErrNotFound, "reads 0x00"},
		{"no-pclk", model.Opts{NoPCLK: true}, 0, si3050.ErrNotFound, "PCLK"},
		{"wrong-rev-f", model.Opts{Revision: 0x0F}, 0, si3050.ErrWrongPart, "revision 15"},
		{"no-line-side", model.Opts{NoLineSide: true}, 0, si3050.ErrTimeout, "line-side device not up"},
		{"spi-error", model.Opts{}, 1, model.ErrInjected, "spi-test/0: write register 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chip := model.New(tc.mo)
			chip.FailSPI(tc.fail)
			c, err := chip.Connect(0, spi.Mode3, 8)
			if err != nil {
				t.Fatal(err)
			}
			_, err = si3050.New(c, nil, nil, &si3050.Opts{Name: "spi-test/0", Sleep: nosleep})
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if tc.name == "no-line-side" && chip.Reg(6)&0x10 == 0 {
				t.Error("line side left powered after a failed bring-up")
			}
		})
	}
}

func TestWrongChainPosition(t *testing.T) {
	a := model.New(model.Opts{Chain: 0})
	b := model.New(model.Opts{Chain: 2})
	bus, err := model.NewBus(a, b)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := bus.Connect(0, spi.Mode3, 8)
	d0, err := si3050.New(c, nil, nil, &si3050.Opts{Chain: 0, Slot: 0, Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := si3050.New(c, nil, nil, &si3050.Opts{Chain: 2, Slot: 1, Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	if a.Reg(36) != 0 || b.Reg(36) != 16 {
		t.Errorf("slots: chip0 %d chip2 %d", a.Reg(36), b.Reg(36))
	}
	if _, err := si3050.New(c, nil, nil, &si3050.Opts{Chain: 1, Sleep: nosleep}); !errors.Is(err, si3050.ErrNotFound) {
		t.Errorf("empty chain position: %v", err)
	}
	if err := d0.SetHook(true); err != nil {
		t.Fatal(err)
	}
	if !a.OffHook() || b.OffHook() {
		t.Error("hook went to the wrong chip")
	}
	_ = d2
	if _, err := model.NewBus(a, model.New(model.Opts{Chain: 0})); err == nil {
		t.Error("two chips at one position accepted")
	}
	id, err := si3050.Probe(c, 2)
	if err != nil || id.LineSide != model.DefaultLineSideID {
		t.Errorf("probe: %+v %v", id, err)
	}
}

func TestOptsValidation(t *testing.T) {
	chip := model.New(model.Opts{})
	c, _ := chip.Connect(0, spi.Mode3, 8)
	for _, o := range []si3050.Opts{
		{Chain: 16}, {Slot: 64}, {Country: "mars"}, {Format: 9},
		{RingMinHz: 50, RingMaxHz: 40}, {RingConfirm: 2 * time.Second},
		{RingTimeout: 3 * time.Second}, {InUseVolts: 2},
	} {
		o.Sleep = nosleep
		if _, err := si3050.New(c, nil, nil, &o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := si3050.New(nil, nil, nil, nil); err == nil {
		t.Error("nil conn accepted")
	}
}

func TestRingValidation(t *testing.T) {
	for _, tc := range []struct {
		min, max int
		ras, rmx byte
	}{
		{15, 68, 17, 14},
		{10, 80, 25, 22},
		{16, 25, 16, 7},
	} {
		ras, rmx := si3050.RingValidation(tc.min, tc.max)
		if ras != tc.ras || rmx != tc.rmx {
			t.Errorf("%d-%d Hz: RAS %d RMX %d, want %d %d", tc.min, tc.max, ras, rmx, tc.ras, tc.rmx)
		}
	}
	for n, want := range map[int]byte{0: 0, 1: 8, 2: 4, 3: 12, 15: 15} {
		if got := si3050.ChainBits(n); got != want {
			t.Errorf("ChainBits(%d) = %#x, want %#x", n, got, want)
		}
	}
}

func TestRingDetection(t *testing.T) {
	for _, tc := range []struct {
		name string
		vrms float64
		hz   float64
		want bool
	}{
		{"us-20hz", 90, 20, true},
		{"uk-25hz", 75, 25, true},
		{"fr-50hz", 80, 50, true},
		{"jp-16hz", 75, 16, true},
		{"too-slow-10hz", 90, 10, false},
		{"too-fast-90hz", 90, 90, false},
		{"below-threshold", 12, 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, model.Opts{}, si3050.Opts{}, false)
			r.run(5)
			r.line.set(func(l *line) { l.ringVrms, l.ringHz = tc.vrms, tc.hz })
			st, ev := r.run(200) // 2 s burst
			if got := ev&si3050.EventRingStart != 0; got != tc.want || st.Ringing != tc.want {
				t.Fatalf("ring start %v ringing %v, want %v", got, st.Ringing, tc.want)
			}
			r.line.set(func(l *line) { l.ringVrms = 0 })
			st, ev = r.run(20) // 200 ms: within the 256 ms ring time-out
			if tc.want && (!st.Ringing || ev&si3050.EventRingStop != 0) {
				t.Fatal("ringing ended before the time-out")
			}
			st, ev = r.run(20)
			if st.Ringing || (tc.want && ev&si3050.EventRingStop == 0) {
				t.Fatalf("ringing %v after time-out, events %b", st.Ringing, ev)
			}
			if tc.want && st.Rings != 1 {
				t.Errorf("rings = %d", st.Rings)
			}
		})
	}
}

func TestRingConfirmation(t *testing.T) {
	r := newRig(t, model.Opts{}, si3050.Opts{RingConfirm: 384 * time.Millisecond}, false)
	r.line.set(func(l *line) { l.ringVrms, l.ringHz = 90, 20 })
	if st, _ := r.run(30); st.Ringing {
		t.Fatal("ring reported before the confirmation time")
	}
	if st, _ := r.run(15); !st.Ringing {
		t.Fatal("ring not reported after the confirmation time")
	}
	// A second burst counts as ring 2; answering ends ringing and resets.
	r.line.set(func(l *line) { l.ringVrms = 0 })
	r.run(100)
	r.line.set(func(l *line) { l.ringVrms = 90 })
	st, _ := r.run(60)
	if st.Rings != 2 {
		t.Errorf("rings = %d, want 2", st.Rings)
	}
	if err := r.dev.SetHook(true); err != nil {
		t.Fatal(err)
	}
	st, _ = r.run(1)
	if st.Ringing || st.Rings != 0 || !st.OffHook {
		t.Errorf("after answer: %+v", st)
	}
}

func TestHookAndLoop(t *testing.T) {
	r := newRig(t, model.Opts{}, si3050.Opts{}, false)
	st, _ := r.run(3)
	if st.LineVolts != 48 || st.LoopMA != 0 || !st.Battery || st.OffHook {
		t.Fatalf("on hook: %+v", st)
	}
	if err := r.dev.SetHook(true); err != nil {
		t.Fatal(err)
	}
	st, _ = r.run(3)
	if !st.OffHook || st.LineVolts != 8 || st.LoopMA < 26 || st.LoopMA > 33 {
		t.Fatalf("off hook: %+v", st)
	}
	if ua, err := r.dev.LoopCurrentFine(); err != nil || ua < 28000 || ua > 32000 {
		t.Errorf("fine loop current %d µA, %v", ua, err)
	}
	r.line.set(func(l *line) { l.loopMA = 200 })
	if st, _ = r.run(2); !st.Overload {
		t.Error("overload not reported")
	}
	if err := r.dev.SetHook(false); err != nil {
		t.Fatal(err)
	}
	if st, _ = r.run(2); st.OffHook || st.LineVolts != 48 {
		t.Errorf("back on hook: %+v", st)
	}
	if err := r.dev.Halt(); err != nil || r.chip.Reg(6)&0x10 == 0 {
		t.Errorf("halt: %v", err)
	}
}

func TestPolarityBatteryInUse(t *testing.T) {
	r := newRig(t, model.Opts{}, si3050.Opts{}, false)
	r.run(3)
	// A 30 ms flip is a glitch, not a reversal.
	r.line.set(func(l *line) { l.volts = -48 })
	_, ev := r.run(3)
	r.line.set(func(l *line) { l.volts = 48 })
	_, ev2 := r.run(10)
	if (ev|ev2)&si3050.EventPolarity != 0 {
		t.Fatal("glitch reported as a reversal")
	}
	r.line.set(func(l *line) { l.volts = -48 })
	st, ev := r.run(10)
	if ev&si3050.EventPolarity == 0 || !st.Reversed || st.LineVolts != -48 {
		t.Fatalf("reversal: %+v events %b", st, ev)
	}
	// Battery loss and return.
	r.line.set(func(l *line) { l.volts = 0 })
	st, ev = r.run(10)
	if ev&si3050.EventBatteryLost == 0 || st.Battery {
		t.Fatalf("battery loss: %+v events %b", st, ev)
	}
	r.line.set(func(l *line) { l.volts = 48 })
	st, ev = r.run(10)
	if ev&si3050.EventBatteryRestored == 0 || !st.Battery || ev&si3050.EventPolarity == 0 || st.Reversed {
		t.Fatalf("battery back: %+v events %b", st, ev)
	}
	// Parallel phone off hook on an idle line.
	r.line.set(func(l *line) { l.volts = 9 })
	st, ev = r.run(10)
	if ev&si3050.EventInUse == 0 || !st.InUse || !st.Battery {
		t.Fatalf("parallel pick-up: %+v events %b", st, ev)
	}
	r.line.set(func(l *line) { l.volts = 48 })
	if st, ev = r.run(10); ev&si3050.EventInUseEnd == 0 || st.InUse {
		t.Fatalf("parallel hang-up: %+v", st)
	}
	// Off hook: the current halves when a parallel phone picks up.
	if err := r.dev.SetHook(true); err != nil {
		t.Fatal(err)
	}
	r.run(5)
	r.line.set(func(l *line) { l.loopMA = 12 })
	if st, ev = r.run(10); ev&si3050.EventInUse == 0 {
		t.Fatalf("parallel pick-up off hook: %+v", st)
	}
	// Disconnect off hook: open loop.
	r.line.set(func(l *line) { l.volts = 0 })
	if st, ev = r.run(10); ev&si3050.EventBatteryLost == 0 || st.LoopMA != 0 {
		t.Fatalf("disconnect off hook: %+v events %b", st, ev)
	}
	if r.chip.Reg(4) != 0 {
		t.Errorf("interrupts left pending: %#02x", r.chip.Reg(4))
	}
}

func TestPCM(t *testing.T) {
	for _, f := range []pcm.Format{pcm.Linear16, pcm.ULaw, pcm.ALaw} {
		t.Run(f.String(), func(t *testing.T) {
			r := newRig(t, model.Opts{}, si3050.Opts{Slot: 3, Format: f}, false)
			r.line.set(func(l *line) { l.tone = 1000 })
			for i := range r.tx[3] {
				r.tx[3][i] = -2000
			}
			r.run(1)
			// On hook with the line monitor: line audio reaches the host
			// (caller ID), the host's does not reach the line.
			got := r.rx[3][5]
			want := map[pcm.Format]uint16{pcm.Linear16: 1000, pcm.ULaw: 0xCE << 8, pcm.ALaw: 0xFA << 8}[f]
			if uint16(got) != want {
				t.Errorf("captured %#04x, want %#04x", uint16(got), uint16(want))
			}
			if r.line.heard[5] != 0 {
				t.Error("host audio reached the line on hook")
			}
			if err := r.dev.SetHook(true); err != nil {
				t.Fatal(err)
			}
			if f != pcm.Linear16 {
				code := uint16(dsp.MulawEncode(-2000)) << 8
				if f == pcm.ALaw {
					code = uint16(dsp.AlawEncode(-2000)) << 8
				}
				for i := range r.tx[3] {
					r.tx[3][i] = int16(code)
				}
			}
			r.run(1)
			if h := r.line.heard[5]; h > -1800 || h < -2200 {
				t.Errorf("line heard %d, want about -2000", h)
			}
			if r.rx[0][5] != 0 || r.rx[2][5] != 0 {
				t.Error("wrote other slots")
			}
		})
	}
}

func TestIRQFastPath(t *testing.T) {
	r := newRig(t, model.Opts{}, si3050.Opts{}, true)
	r.run(2)
	before := r.chip.Accesses()
	r.run(5) // idle within 100 ms: the INT pin says nothing happened
	if got := r.chip.Accesses() - before; got != 0 {
		t.Errorf("%d register accesses on an idle line with INT high", got)
	}
	r.run(10) // the periodic full read
	if r.chip.Accesses() == before {
		t.Error("no periodic read")
	}
	r.line.set(func(l *line) { l.ringVrms, l.ringHz = 90, 20 })
	st, ev := r.run(25)
	if ev&si3050.EventRingStart == 0 || !st.Ringing {
		t.Fatalf("ring with IRQ: %+v", st)
	}
	// An SPI error in Poll is reported and the next Poll recovers.
	r.chip.FailSPI(1)
	r.seq++
	r.chip.Transfer(r.seq, r.tx, r.rx)
	if _, err := r.dev.Poll(r.now()); !errors.Is(err, model.ErrInjected) {
		t.Fatalf("poll error %v", err)
	}
	if _, err := r.dev.Poll(r.now()); err != nil {
		t.Fatal(err)
	}
}

func TestPollNoAlloc(t *testing.T) {
	r := newRig(t, model.Opts{}, si3050.Opts{}, false)
	n := testing.AllocsPerRun(100, func() {
		r.seq++
		if _, err := r.dev.Poll(r.now()); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Poll allocates %v times", n)
	}
}

func TestCountries(t *testing.T) {
	// The table holds the administrations plus every tone profile
	// country but the two FCC aliases.
	want := []string{"fcc", "tbr21"}
	for _, c := range dsp.Countries() {
		if c != "us" && c != "ca" {
			want = append(want, c)
		}
	}
	slices.Sort(want)
	if got := si3050.Countries(); !slices.Equal(got, want) {
		t.Errorf("Countries() = %v, want %v", got, want)
	}
	for _, c := range dsp.Countries() {
		if _, err := si3050.LookupCountry(c); err != nil {
			t.Errorf("profile country %s: %v", c, err)
		}
	}
	if c, err := si3050.LookupCountry(" USA "); err != nil || c.Name != "fcc" {
		t.Error(c, err)
	}
	if _, err := si3050.LookupCountry("xx"); err == nil {
		t.Error("unknown country accepted")
	}
}
