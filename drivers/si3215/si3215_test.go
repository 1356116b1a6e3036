package si3215_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/drivers/si3215/model"
)

// phone is a virtual phone for the model's line.
type phone struct {
	mu      sync.Mutex
	closed  bool
	ringing bool
	rings   int     // ring bursts seen
	ringOff int     // ring stops seen
	mic     int16   // constant microphone sample
	heard   []int16 // last earpiece frame
}

func newPhone() *phone { return &phone{heard: make([]int16, 80)} }

func (p *phone) setHook(off bool) {
	p.mu.Lock()
	p.closed = off
	p.mu.Unlock()
}

func (p *phone) LoopClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *phone) Ring(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ringing = on
	if on {
		p.rings++
	} else {
		p.ringOff++
	}
}

func (p *phone) Audio(_ uint64, ear, mouth []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	copy(p.heard, ear)
	for i := range mouth {
		mouth[i] = p.mic
	}
}

func (p *phone) state() (ringing bool, rings, ringOff int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ringing, p.rings, p.ringOff
}

// sleeper replaces time.Sleep and adds up what was asked for.
type sleeper struct{ total time.Duration }

func (s *sleeper) Sleep(d time.Duration) { s.total += d }

type rig struct {
	chip  *model.Chip
	phone *phone
	dev   *si3215.Dev
	sleep *sleeper
}

func newRig(t testing.TB, mopts model.Opts, opts si3215.Opts, withIRQ bool) (*rig, error) {
	t.Helper()
	r := &rig{chip: model.New(mopts), phone: newPhone(), sleep: &sleeper{}}
	r.chip.Attach(r.phone)
	c, err := r.chip.Connect(si3215.MaxSpeed, si3215.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	opts.Sleep = r.sleep.Sleep
	if opts.Name == "" {
		opts.Name = "spi0.0"
	}
	var irq gpio.PinIn
	if withIRQ {
		irq = r.chip.IRQPin()
	}
	r.dev, err = si3215.New(c, r.chip.ResetPin(), irq, &opts)
	return r, err
}

func mustRig(t testing.TB, opts si3215.Opts, withIRQ bool) *rig {
	t.Helper()
	r, err := newRig(t, model.Opts{}, opts, withIRQ)
	if err != nil {
		t.Fatal(err)
	}
	if v := r.chip.Violations(); len(v) != 0 {
		t.Fatalf("model saw protocol violations: %q", v)
	}
	return r
}

func TestNewReachesForwardActive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slot   int
		ringHz int
		lo, hi byte
		rco    uint16
	}{
		{"slot0", 0, 0, 0x00, 0, 0x7EFE},
		{"slot1", 1, 20, 0x10, 0, 0x7EFE},
		{"slot17-25Hz", 17, 25, 0x10, 1, 0x7E6D},
		{"slot63", 63, 50, 0xF0, 3, si3215.RingCoefficient(50)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRig(t, si3215.Opts{Slot: tc.slot, RingHz: tc.ringHz}, false)
			c := r.chip
			if got := c.Linefeed(); got != 1 {
				t.Errorf("linefeed = %d, want 1 (forward active)", got)
			}
			for _, w := range []struct{ addr, want byte }{
				{1, 0x80 | 0x20 | 0x18}, // Si3215 bit, PCM on, linear 16
				{2, tc.lo}, {3, tc.hi}, {4, tc.lo}, {5, tc.hi},
				{8, 0},       // digital loopback off
				{14, 0},      // DC-DC on
				{19, 0},      // interrupts cleared
				{96, 0},      // calibration done
				{108, 0xEB},  // enhancements
				{67, 0x07},   // auto control
				{92, 0xFF},   // DC-DC period
				{93, 0x19},   // DC-DC engaged, calibration finished
				{107, 0x08},  // DC-DC calibration result
				{64, 0x11},   // LF and shadow
				{22, 0},      // no interrupts without an IRQ pin
				{34, 0},      // ring oscillator control
				{73, 0x04},   // common mode
				{71, 0},      // 20 mA
				{66, 0x01},   // Q7 off
				{97, 0x1F},   // calibrations selected
				{0, 0x03},    // ID untouched
				{6, 0},       // variant untouched
				{11, 0x33},   // hybrid untouched
				{68, 0},      // on hook
				{31, 0},      // indirect idle
				{18, 0},      // status clear
				{20, 0},      // status clear
				{21, 0},      // masks
				{23, 0},      // masks
				{74, 0x32},   // VBATH untouched
				{69, 0x0A},   // debounce untouched
				{70, 0x0A},   // debounce untouched
				{75, 0x10},   // untouched
				{10, 0},      // impedance untouched
				{9, 0},       // analog gain untouched
				{33, 0},      // untouched
				{48, 0},      // ring timers untouched
				{65, 0},      // untouched
				{72, 0},      // untouched
				{28 + 2, 66}, // last indirect address read back
			} {
				if got := c.Reg(w.addr); got != w.want {
					t.Errorf("reg%d = 0x%02x, want 0x%02x", w.addr, got, w.want)
				}
			}
			if v := c.Reg(82); v < 0xC0 {
				t.Errorf("VBAT reg82 = 0x%02x, want >= 0xC0", v)
			}
			for _, w := range []struct {
				addr byte
				want uint16
			}{{7, tc.rco}, {8, 0x160}, {9, 0}, {13, 0x4000}, {14, 0x4000}, {22, 0x8000}, {23, 0x0320}, {26, 0x0010}, {64, 0x0C00}, {66, 0x1000}} {
				if got := c.IndirectReg(w.addr); got != w.want {
					t.Errorf("IR%d = 0x%04x, want 0x%04x", w.addr, got, w.want)
				}
			}
			lf, err := r.dev.Linefeed()
			if err != nil || lf != si3215.LinefeedForwardActive {
				t.Errorf("Linefeed() = %v, %v", lf, err)
			}
			if s := r.dev.String(); !strings.Contains(s, "spi0.0") || !strings.Contains(s, "rev C") {
				t.Errorf("String() = %q", s)
			}
			// Reset 250+250 ms, then a few 10 ms polls: all through Sleep.
			if r.sleep.total < 500*time.Millisecond || r.sleep.total > time.Second {
				t.Errorf("slept %v in total", r.sleep.total)
			}
		})
	}
}

func TestRingCoefficient(t *testing.T) {
	for _, tc := range []struct {
		hz   int
		want uint16
	}{{20, 0x7EFE}, {25, 0x7E6D}, {16, 0x7F5B}, {50, 0x79BC}} {
		if got := si3215.RingCoefficient(tc.hz); got != tc.want {
			t.Errorf("RingCoefficient(%d) = 0x%04x, want 0x%04x", tc.hz, got, tc.want)
		}
	}
}

// constConn is a bus with nothing on it: every byte reads b.
type constConn struct{ b byte }

func (c *constConn) String() string       { return "const" }
func (c *constConn) Duplex() conn.Duplex  { return conn.Full }
func (c *constConn) Tx(w, r []byte) error { fill(r, c.b); return nil }
func (c *constConn) TxPackets(p []spi.Packet) error {
	for i := range p {
		fill(p[i].R, c.b)
	}
	return nil
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func TestNewAbsentChip(t *testing.T) {
	for _, b := range []byte{0x00, 0xFF} {
		_, err := si3215.New(&constConn{b}, nil, nil, &si3215.Opts{Name: "spi1.2", Sleep: func(time.Duration) {}})
		if !errors.Is(err, si3215.ErrNotFound) {
			t.Fatalf("bus reading 0x%02x: err = %v, want ErrNotFound", b, err)
		}
		if !strings.Contains(err.Error(), "spi1.2") {
			t.Errorf("error %q does not name the bus", err)
		}
	}
	// Without a name the connection's String() is used.
	_, err := si3215.New(&constConn{0xFF}, nil, nil, &si3215.Opts{Sleep: func(time.Duration) {}})
	if err == nil || !strings.Contains(err.Error(), "const") {
		t.Errorf("err = %v, want it to name the connection", err)
	}
}

func TestNewWrongChip(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts model.Opts
		want error
	}{
		{"si3210", model.Opts{Si3210: true}, si3215.ErrWrongPart},
		{"rev1", model.Opts{ID: 0x01}, si3215.ErrWrongPart},
		{"rev15", model.Opts{ID: 0x0F}, si3215.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newRig(t, tc.opts, si3215.Opts{}, false)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "spi0.0") {
				t.Errorf("error %q does not name the bus", err)
			}
		})
	}
}

func TestNewTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  model.Opts
		what  string
		limit time.Duration
	}{
		{"calibration", model.Opts{StuckCalibration: true}, "calibration", 2 * time.Second},
		{"no-battery", model.Opts{NoDCDC: true}, "battery", 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newRig(t, tc.opts, si3215.Opts{}, false)
			if !errors.Is(err, si3215.ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if !strings.Contains(err.Error(), tc.what) || !strings.Contains(err.Error(), "spi0.0") {
				t.Errorf("error %q should name %q and the bus", err, tc.what)
			}
			// The wait is bounded by requested sleep, not wall time.
			if min := 500*time.Millisecond + tc.limit; r.sleep.total < min || r.sleep.total > min+time.Second {
				t.Errorf("slept %v, want about %v", r.sleep.total, min)
			}
			if r.chip.Linefeed() != 0 || r.chip.Reg(14) != 0x10 {
				t.Errorf("linefeed %d, reg14 0x%02x after a failed init, want open and DC-DC off", r.chip.Linefeed(), r.chip.Reg(14))
			}
		})
	}
}

// danglingPin is a reset line that is not connected: Out succeeds and does
// nothing.
type danglingPin struct{ gpio.PinOut }

func (danglingPin) Out(gpio.Level) error { return nil }

func TestNewBadState(t *testing.T) {
	r := mustRig(t, si3215.Opts{}, false)
	// A reset pin that is not wired: the chip keeps its configured state.
	c, err := r.chip.Connect(0, spi.Mode3, 8)
	if err != nil {
		t.Fatal(err)
	}
	_, err = si3215.New(c, danglingPin{}, nil, &si3215.Opts{Name: "spi0.0", Sleep: r.sleep.Sleep})
	if !errors.Is(err, si3215.ErrBadState) {
		t.Fatalf("err = %v, want ErrBadState", err)
	}
	// Without a reset pin the checks are skipped and re-initialising works.
	if _, err := si3215.New(c, nil, nil, &si3215.Opts{Name: "spi0.0", Sleep: r.sleep.Sleep}); err != nil {
		t.Fatalf("re-init without reset: %v", err)
	}
}

func TestNewBadOpts(t *testing.T) {
	for _, o := range []si3215.Opts{
		{Slot: -1}, {Slot: 64}, {Debounce: 60 * time.Millisecond}, {Debounce: -time.Millisecond},
		{RingHz: 5}, {RingHz: 101}, {RingAmplitude: 0x8000},
	} {
		chip := model.New(model.Opts{})
		c, _ := chip.Connect(0, spi.Mode3, 8)
		o.Sleep = func(time.Duration) {}
		if _, err := si3215.New(c, chip.ResetPin(), nil, &o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
		if chip.Accesses() != 0 {
			t.Errorf("New(%+v) touched the chip before validating", o)
		}
	}
	if _, err := si3215.New(nil, nil, nil, nil); err == nil {
		t.Error("New(nil conn) succeeded")
	}
}

func TestHookDebounce(t *testing.T) {
	const ms = time.Millisecond
	type step struct {
		at   time.Duration
		hook *bool // change the phone's hook before polling
		want bool
	}
	on, off := new(bool), new(bool)
	*off = true
	steps := []step{
		{0, nil, false},
		{10 * ms, off, false}, // raw off-hook seen at 10 ms
		{20 * ms, on, false},  // 10 ms glitch: ignored
		{30 * ms, nil, false},
		{40 * ms, nil, false},
		{50 * ms, off, false}, // lift at 50 ms
		{60 * ms, nil, false},
		{70 * ms, nil, true}, // stable for 20 ms
		{80 * ms, nil, true},
		{90 * ms, on, true}, // pulse-dial break starts
		{100 * ms, nil, true},
		{110 * ms, nil, false}, // break reported after 20 ms
		{150 * ms, off, false}, // make after a 60 ms break
		{170 * ms, nil, true},
		{180 * ms, on, true}, // short on-hook glitch
		{190 * ms, off, true},
		{200 * ms, nil, true},
		{300 * ms, nil, true},
	}
	for _, irq := range []bool{false, true} {
		t.Run(map[bool]string{false: "polled", true: "irq"}[irq], func(t *testing.T) {
			r := mustRig(t, si3215.Opts{}, irq)
			for _, s := range steps {
				if s.hook != nil {
					r.phone.setHook(*s.hook)
				}
				got, err := r.dev.PollHook(s.at)
				if err != nil {
					t.Fatal(err)
				}
				if got != s.want {
					t.Fatalf("at %v: off-hook = %v, want %v", s.at, got, s.want)
				}
			}
			if v := r.chip.Violations(); len(v) != 0 {
				t.Errorf("violations: %q", v)
			}
		})
	}
}

// TestHookIRQSkipsReads checks that with an IRQ pin an idle line costs no
// register reads.
func TestHookIRQSkipsReads(t *testing.T) {
	r := mustRig(t, si3215.Opts{}, true)
	now := time.Duration(0)
	for i := 0; i < 3; i++ {
		now += 10 * time.Millisecond
		if _, err := r.dev.PollHook(now); err != nil {
			t.Fatal(err)
		}
	}
	before := r.chip.Accesses()
	for i := 0; i < 10; i++ {
		now += 10 * time.Millisecond
		if _, err := r.dev.PollHook(now); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.chip.Accesses() - before; n != 0 {
		t.Errorf("idle polls made %d register accesses", n)
	}
	r.phone.setHook(true)
	for i := 0; i < 3; i++ {
		now += 10 * time.Millisecond
		if _, err := r.dev.PollHook(now); err != nil {
			t.Fatal(err)
		}
	}
	if off, _ := r.dev.PollHook(now + 10*time.Millisecond); !off {
		t.Error("off hook not seen through the interrupt")
	}
}

func TestRinging(t *testing.T) {
	r := mustRig(t, si3215.Opts{}, false)
	if err := r.dev.SetRinging(true); err != nil {
		t.Fatal(err)
	}
	if ringing, rings, _ := r.phone.state(); !ringing || rings != 1 {
		t.Fatalf("phone ringing=%v rings=%d after SetRinging(true)", ringing, rings)
	}
	if lf, _ := r.dev.Linefeed(); lf != si3215.LinefeedRinging {
		t.Errorf("linefeed %v, want ringing", lf)
	}
	if err := r.dev.SetRinging(false); err != nil {
		t.Fatal(err)
	}
	if ringing, _, offs := r.phone.state(); ringing || offs != 1 {
		t.Fatalf("phone ringing=%v stops=%d after SetRinging(false)", ringing, offs)
	}
	if lf, _ := r.dev.Linefeed(); lf != si3215.LinefeedForwardActive {
		t.Errorf("linefeed %v, want forward-active", lf)
	}
	// A cadence: two bursts.
	for i := 0; i < 2; i++ {
		_ = r.dev.SetRinging(true)
		_ = r.dev.SetRinging(false)
	}
	if _, rings, offs := r.phone.state(); rings != 3 || offs != 3 {
		t.Errorf("rings=%d stops=%d, want 3/3", rings, offs)
	}
	if err := r.dev.Halt(); err != nil || r.chip.Linefeed() != 0 {
		t.Errorf("Halt: %v, linefeed %d", err, r.chip.Linefeed())
	}
}

func TestRingTrip(t *testing.T) {
	for _, irq := range []bool{false, true} {
		t.Run(map[bool]string{false: "polled", true: "irq"}[irq], func(t *testing.T) {
			r := mustRig(t, si3215.Opts{}, irq)
			now := time.Duration(0)
			poll := func() bool {
				t.Helper()
				now += 10 * time.Millisecond
				off, err := r.dev.PollHook(now)
				if err != nil {
					t.Fatal(err)
				}
				return off
			}
			_ = r.dev.SetRinging(true)
			if poll() {
				t.Fatal("off hook while ringing on hook")
			}
			r.phone.setHook(true) // answer during the burst
			if poll() {
				t.Fatal("ring trip reported without debounce")
			}
			poll()
			if !poll() {
				t.Fatal("ring trip not reported as off hook")
			}
			if ringing, _, _ := r.phone.state(); ringing {
				t.Error("phone still ringing after ring trip")
			}
			if lf, _ := r.dev.Linefeed(); lf != si3215.LinefeedForwardActive {
				t.Errorf("linefeed %v after auto ring trip, want forward-active", lf)
			}
			// The driver reads and clears interrupt status 19 on every
			// poll that reads the chip (with or without an IRQ pin).
			if r.chip.Reg(19) != 0 {
				t.Errorf("interrupt status 0x%02x left pending", r.chip.Reg(19))
			}
		})
	}
}

func TestPCMAudio(t *testing.T) {
	// An ideal hybrid: the captured word is the phone's alone.
	r, err := newRig(t, model.Opts{Hybrid: model.Hybrid{Off: true}}, si3215.Opts{Slot: 2}, false)
	if err != nil {
		t.Fatal(err)
	}
	from := make([][]int16, 4)
	to := make([][]int16, 4)
	for i := range from {
		from[i] = make([]int16, 80)
		to[i] = make([]int16, 80)
		for j := range from[i] {
			from[i][j] = int16(1000*i + j)
		}
	}
	r.phone.mic = 1234
	frame := func(wantEar bool, wantMouth int16) {
		t.Helper()
		for i := range to {
			fill16(to[i], -1)
		}
		r.chip.Transfer(1, from, to)
		r.phone.mu.Lock()
		heard := r.phone.heard[5]
		r.phone.mu.Unlock()
		if wantEar && heard != 2005 || !wantEar && heard != 0 {
			t.Errorf("phone heard %d (want audio %v)", heard, wantEar)
		}
		if to[2][7] != wantMouth {
			t.Errorf("slot 2 captured %d, want %d", to[2][7], wantMouth)
		}
		if to[1][0] != -1 || to[3][0] != -1 {
			t.Error("chip wrote to another slot")
		}
	}
	frame(false, 0) // on hook, forward active: no audio without on-hook transmission
	r.phone.setHook(true)
	frame(true, 1234)
	_ = r.dev.SetLinefeed(si3215.LinefeedReverseActive)
	frame(true, 1234)
	_ = r.dev.SetLinefeed(si3215.LinefeedOpen)
	frame(false, 0) // no battery: nothing either way
	r.phone.setHook(false)
	_ = r.dev.SetLinefeed(si3215.LinefeedForwardOHT)
	frame(true, 0) // on-hook transmission
	_ = r.dev.SetRinging(true)
	frame(false, 0)
}

func fill16(b []int16, v int16) {
	for i := range b {
		b[i] = v
	}
}

func TestLinefeedString(t *testing.T) {
	for lf, want := range map[si3215.Linefeed]string{
		si3215.LinefeedOpen: "open", si3215.LinefeedForwardActive: "forward-active",
		si3215.LinefeedRinging: "ringing", si3215.LinefeedRingOpen: "ring-open", 9: "linefeed(9)",
	} {
		if got := lf.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint8(lf), got, want)
		}
	}
	r := mustRig(t, si3215.Opts{}, false)
	if err := r.dev.SetLinefeed(8); err == nil {
		t.Error("SetLinefeed(8) succeeded")
	}
}

func TestAllocs(t *testing.T) {
	for _, irq := range []bool{false, true} {
		r := mustRig(t, si3215.Opts{}, irq)
		r.phone.setHook(true)
		now := time.Duration(0)
		if n := testing.AllocsPerRun(200, func() {
			now += 10 * time.Millisecond
			if _, err := r.dev.PollHook(now); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("PollHook (irq=%v) allocates %v times per call", irq, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			_ = r.dev.SetRinging(true)
			_ = r.dev.SetRinging(false)
		}); n != 0 {
			t.Errorf("SetRinging allocates %v times per call", n)
		}
		from := [][]int16{make([]int16, 80), make([]int16, 80)}
		to := [][]int16{make([]int16, 80), make([]int16, 80)}
		var seq uint64
		if n := testing.AllocsPerRun(200, func() {
			seq++
			r.chip.Transfer(seq, from, to)
		}); n != 0 {
			t.Errorf("Transfer allocates %v times per call", n)
		}
	}
}

func BenchmarkPollHook(b *testing.B) {
	r := mustRig(b, si3215.Opts{}, false)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := r.dev.PollHook(time.Duration(i) * 10 * time.Millisecond); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentPhone flips the hook from another goroutine while the media
// loop polls and transfers (run with -race).
func TestConcurrentPhone(t *testing.T) {
	r := mustRig(t, si3215.Opts{}, true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 500; i++ {
			r.phone.setHook(i%2 == 0)
		}
		r.phone.setHook(true)
	}()
	from := [][]int16{make([]int16, 80)}
	to := [][]int16{make([]int16, 80)}
	now := time.Duration(0)
	for i := 0; i < 200; i++ {
		now += 10 * time.Millisecond
		if _, err := r.dev.PollHook(now); err != nil {
			t.Fatal(err)
		}
		r.chip.Transfer(uint64(i), from, to)
	}
	<-done
	for i := 0; i < 4; i++ {
		now += 10 * time.Millisecond
		_, _ = r.dev.PollHook(now)
	}
	if off, _ := r.dev.PollHook(now + 10*time.Millisecond); !off {
		t.Error("final off-hook not reported")
	}
}
