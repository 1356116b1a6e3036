package si3050

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// SPI parameters to pass to spi.Port.Connect for this chip.
const (
	// MaxSpeed is the datasheet's highest SCLK (16.384 MHz).
	MaxSpeed = 16384 * physic.KiloHertz
	// SPIMode is the chip's SPI mode: clock idles high, MSB first.
	SPIMode = spi.Mode3
	// MaxChain is the number of chips one chip select can address.
	MaxChain = 16
)

// Errors New and the methods wrap; test them with errors.Is.
var (
	// ErrNotFound means no DAA answered: register 2 read 0x00 or 0xFF, or a
	// test pattern did not read back (no chip, wrong chip select or chain
	// position, no power, no PCLK).
	ErrNotFound = errors.New("no Si3050 found")
	// ErrWrongPart means a chip answered with an identity that is not an
	// Si3050's.
	ErrWrongPart = errors.New("not an Si3050")
	// ErrBadState means the chip did not show its reset values after reset.
	ErrBadState = errors.New("chip not in its reset state")
	// ErrTimeout means a bounded wait (line-side link-up) did not finish.
	ErrTimeout = errors.New("timeout")
)

// Control byte bits.
const (
	ctlBroadcast = 0x80
	ctlRead      = 0x40
	ctlRegister  = 0x20
)

// Registers.
const (
	regCtrl1    = 1
	regCtrl2    = 2
	regIntMask  = 3
	regIntSrc   = 4
	regDAA1     = 5
	regDAA2     = 6
	regSysRev   = 11
	regLineStat = 12
	regLineRev  = 13
	regIntl1    = 16
	regIntl2    = 17
	regIntl3    = 18
	regRing1    = 22
	regRing2    = 23
	regRing3    = 24
	regDCTerm   = 26
	regLCS2     = 28
	regLVS      = 29
	regACTerm   = 30
	regDAA5     = 31
	regPCM      = 33
	regTXLo     = 34
	regTXHi     = 35
	regRXLo     = 36
	regRXHi     = 37
)

// Register bits.
const (
	softReset   = 0x80 // reg1
	ctrl2Reset  = 0x03 // reg2 reset value
	ctrl2INTE   = 0x80 // reg2: INT pin enabled (active low, INTP = 0)
	daaOH       = 0x01 // reg5
	daaRDT      = 0x04
	daaONHM     = 0x08
	daaRDTP     = 0x20
	daaRDTN     = 0x40
	pdl         = 0x10 // reg6: line side powered down
	frameDetect = 0x40 // reg12
	lcsMask     = 0x1F
	pcmEnable   = 0x20 // reg33
	intRDTI     = 0x80 // reg3/4
	intROVI     = 0x40
	intFDTI     = 0x20
	intBTDI     = 0x10
	intDODI     = 0x08
	intLCSOI    = 0x04
	intPOLI     = 0x01
	testPattern = 0x5A
)

// Timing.
const (
	resetHold        = time.Millisecond
	pllWait          = time.Millisecond
	softResetWait    = 100 * time.Millisecond
	linkTimeout      = 2 * time.Second
	pollStep         = 10 * time.Millisecond
	fullReadInterval = 100 * time.Millisecond
	ringEpisodeGap   = 8 * time.Second
)

// Defaults of Opts.
const (
	defaultRingMinHz        = 15
	defaultRingMaxHz        = 68
	defaultRingConfirm      = 150 * time.Millisecond
	defaultRingTimeout      = 256 * time.Millisecond
	defaultPolarityDebounce = 64 * time.Millisecond
	defaultBatteryDebounce  = 64 * time.Millisecond
	defaultBatteryThreshold = 3
	defaultInUseVolts       = 20
)

// Opts configures a Dev. Zero fields take the defaults documented on each.
type Opts struct {
	// Chain is the chip's position on its chip select's daisy chain, 0-15.
	Chain int
	// Slot is the PCM channel: TX and RX start Slot*16 bit clocks after
	// frame sync (one 16-bit channel per slot, as for the Si3215). 0-63.
	Slot int
	// Format is the PCM sample format (default 16-bit linear).
	Format pcm.Format
	// Country selects the line interface settings (LookupCountry); default
	// "fcc" (USA, Canada).
	Country string
	// RingMinHz and RingMaxHz bound the ring frequency the chip accepts as a
	// valid ring (default 15 and 68 Hz; the datasheet's window).
	RingMinHz, RingMaxHz int
	// RingConfirm is how long a valid ring signal must last before ringing
	// is reported (RCC; default 150 ms, rounded up to 100, 150, 200, 256,
	// 384, 512, 640 or 1024 ms).
	RingConfirm time.Duration
	// RingTimeout is how long after the last ring cycle ringing is reported
	// over (RTO; default 256 ms, in 128 ms steps up to 1920 ms).
	RingTimeout time.Duration
	// PolarityDebounce is how long a new polarity must hold to count as a
	// reversal (default 64 ms).
	PolarityDebounce time.Duration
	// BatteryDebounce is how long the line voltage must stay under
	// BatteryThreshold to count as lost battery, and above it to count as
	// restored (default 64 ms). It also debounces line-in-use.
	BatteryDebounce time.Duration
	// BatteryThreshold is the line voltage magnitude, in volts, under which
	// the line has no battery (default 3).
	BatteryThreshold int
	// InUseVolts is the on-hook line voltage magnitude under which another
	// phone on the line is off hook (default 20 V).
	InUseVolts int
	// Name identifies the chip in errors, e.g. "spi0.1/2"; empty selects the
	// connection's String() and the chain position.
	Name string
	// Sleep waits during reset and bounded polls; nil means time.Sleep.
	// Every wait is bounded by summing requested durations, never by the
	// wall clock, so a simulation may pass a function that returns at once.
	Sleep func(time.Duration)
}

// Event is a set of line events reported by one Poll.
type Event uint16

// Line events.
const (
	// EventRingStart: a validated ring burst began.
	EventRingStart Event = 1 << iota
	// EventRingStop: the ring burst ended (ring time-out passed).
	EventRingStop
	// EventPolarity: tip and ring polarity reversed and held.
	EventPolarity
	// EventBatteryLost: line voltage fell under the battery threshold and
	// stayed there (disconnect, cut line).
	EventBatteryLost
	// EventBatteryRestored: battery came back.
	EventBatteryRestored
	// EventInUse: another phone on the line went off hook.
	EventInUse
	// EventInUseEnd: the other phone hung up.
	EventInUseEnd
)

// Status is the line's state after a Poll.
type Status struct {
	// OffHook is true while the DAA holds the line (seized).
	OffHook bool
	// Ringing is true during a validated ring burst.
	Ringing bool
	// Rings counts ring bursts in the current ringing episode.
	Rings int
	// LineVolts is the tip-ring voltage in volts (register 29), negative
	// when the polarity is reversed.
	LineVolts int
	// LoopMA is the loop current in mA while off hook (register 12 LCS,
	// 3.3 mA/bit; 0 on hook).
	LoopMA int
	// Reversed is the debounced polarity, relative to the polarity seen at
	// start-up.
	Reversed bool
	// Battery is false while the line has no battery (debounced).
	Battery bool
	// InUse is true while another phone on the line is off hook.
	InUse bool
	// Overload is true when the loop current reads full scale (LCS = 31).
	Overload bool
	// Events are the changes this Poll found.
	Events Event
}

// Identity is what Probe reads from a chip.
type Identity struct {
	// Ctrl2 is register 2 (0x03 after reset).
	Ctrl2 byte
	// Revision is the system-side revision, register 11 bits 3:0.
	Revision byte
	// LineSide is the line-side device ID, register 11 bits 7:4 (0 until the
	// link is up; 1 Si3018, 3 Si3019 [U]).
	LineSide byte
	// LineSideRev is register 13 bits 5:2.
	LineSideRev byte
}

// Dev is one Si3050. Its methods may be called from any goroutine; Poll and
// SetHook do not allocate.
type Dev struct {
	mu      sync.Mutex
	c       spi.Conn
	reset   gpio.PinOut
	irq     gpio.PinIn
	opts    Opts
	country Country
	sleep   func(time.Duration)
	id      Identity
	ctl     byte // control byte: register access + chain ID

	// Fixed SPI buffers, one byte per chip-select cycle.
	b0, b1, b2, in [1]byte
	pk             [3]spi.Packet

	st        Status
	init      bool
	lastFull  time.Duration
	polRaw    bool // reversed, raw
	polSince  time.Duration
	batRaw    bool // battery present, raw
	batSince  time.Duration
	useRaw    bool
	useSince  time.Duration
	ringEnd   time.Duration
	refLoopMA int // loop current after seizure, for parallel pick-up
	polRef    bool
}

var _ conn.Resource = (*Dev)(nil)

// New resets and initialises the DAA on c and leaves it on hook with the
// line monitor on. c must be connected with SPIMode, 8 bits, at most
// MaxSpeed; PCLK and FSYNC must already run. reset (RESET pin) and irq (INT
// pin, open drain, active low) may be nil: without reset a soft reset is
// used; without irq Poll reads the chip every time. opts may be nil.
func New(c spi.Conn, reset gpio.PinOut, irq gpio.PinIn, opts *Opts) (*Dev, error) {
	o := Opts{}
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "si3050"
		if c != nil {
			o.Name = c.String()
		}
		o.Name = fmt.Sprintf("%s/%d", o.Name, o.Chain)
	}
	if o.Country == "" {
		o.Country = "fcc"
	}
	setDefault(&o.RingMinHz, defaultRingMinHz)
	setDefault(&o.RingMaxHz, defaultRingMaxHz)
	setDefault(&o.BatteryThreshold, defaultBatteryThreshold)
	setDefault(&o.InUseVolts, defaultInUseVolts)
	setDefault(&o.RingConfirm, defaultRingConfirm)
	setDefault(&o.RingTimeout, defaultRingTimeout)
	setDefault(&o.PolarityDebounce, defaultPolarityDebounce)
	setDefault(&o.BatteryDebounce, defaultBatteryDebounce)
	cty, err := LookupCountry(o.Country)
	if err != nil {
		return nil, fmt.Errorf("si3050 %s: %w", o.Name, err)
	}
	_, fmtOK := o.Format.PCMF()
	switch {
	case c == nil:
		return nil, fmt.Errorf("si3050 %s: nil spi.Conn", o.Name)
	case o.Chain < 0 || o.Chain >= MaxChain:
		return nil, fmt.Errorf("si3050 %s: chain position %d out of range 0-%d", o.Name, o.Chain, MaxChain-1)
	case o.Slot < 0 || o.Slot > 63:
		return nil, fmt.Errorf("si3050 %s: slot %d out of range 0-63", o.Name, o.Slot)
	case !fmtOK:
		return nil, fmt.Errorf("si3050 %s: unknown PCM format %v", o.Name, o.Format)
	case o.RingMinHz < 4 || o.RingMaxHz > 100 || o.RingMinHz >= o.RingMaxHz:
		return nil, fmt.Errorf("si3050 %s: ring window %d-%d Hz invalid (4 <= min < max <= 100)", o.Name, o.RingMinHz, o.RingMaxHz)
	case o.RingConfirm < 0 || o.RingConfirm > 1024*time.Millisecond:
		return nil, fmt.Errorf("si3050 %s: ring confirmation %v out of range 0-1024ms", o.Name, o.RingConfirm)
	case o.RingTimeout < 0 || o.RingTimeout > 1920*time.Millisecond:
		return nil, fmt.Errorf("si3050 %s: ring time-out %v out of range 0-1920ms", o.Name, o.RingTimeout)
	case o.BatteryThreshold < 1 || o.InUseVolts <= o.BatteryThreshold || o.InUseVolts > 100:
		return nil, fmt.Errorf("si3050 %s: battery threshold %d V / in-use %d V invalid", o.Name, o.BatteryThreshold, o.InUseVolts)
	}
	d := &Dev{c: c, reset: reset, irq: irq, opts: o, country: cty, sleep: o.Sleep}
	if d.sleep == nil {
		d.sleep = time.Sleep
	}
	d.ctl = ctlRegister | ChainBits(o.Chain)
	d.pk[0].W = d.b0[:]
	d.pk[1].W = d.b1[:]
	d.pk[2].W = d.b2[:]
	if err := d.bringUp(); err != nil {
		return nil, err
	}
	return d, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// ChainBits returns the low bits of the control byte for chain position n:
// n's four bits in reverse order (0 -> 0x0, 1 -> 0x8, 2 -> 0x4, 3 -> 0xC).
func ChainBits(n int) byte {
	var r byte
	for i := range 4 {
		if n&(1<<i) != 0 {
			r |= 0x08 >> i
		}
	}
	return r
}

// RingValidation returns the ring validation fields for a frequency window:
// RAS (register 24 bits 5:0), the longest time between two tip/ring events
// in 2 ms units, and RMX (register 22 bits 5:0), which with RAS bounds the
// shortest: events come twice per ring period, so
// RAS = ceil(1/(2*fmin)/2ms) and RMX = RAS - 1/(2*fmax)/2ms, plus 1 as the
// datasheet recommends for margin.
func RingValidation(minHz, maxHz int) (ras, rmx byte) {
	r := math.Ceil(250 / float64(minHz))
	m := math.Floor(r-250/float64(maxHz)) + 1
	r = min(r, 63)
	m = max(min(m, r), 0)
	return byte(r), byte(m)
}

// rccCode returns the RCC code whose confirmation time is the shortest at
// or above d.
func rccCode(d time.Duration) byte {
	steps := [...]int{100, 150, 200, 256, 384, 512, 640, 1024}
	for i, ms := range steps {
		if d <= time.Duration(ms)*time.Millisecond {
			return byte(i)
		}
	}
	return 7
}

// rtoCode returns the RTO code (n * 128 ms, 1-15) at or above d.
func rtoCode(d time.Duration) byte {
	n := (d + 128*time.Millisecond - 1) / (128 * time.Millisecond)
	return byte(min(max(n, 1), 15))
}

func (d *Dev) bringUp() error {
	if err := d.doReset(); err != nil {
		return err
	}
	if err := d.probe(); err != nil {
		return err
	}
	ras, rmx := RingValidation(d.opts.RingMinHz, d.opts.RingMaxHz)
	r16, r17, r26, r30, r31 := d.country.registers()
	pcmf, _ := d.opts.Format.PCMF()
	count := d.opts.Slot * 16
	ctrl2 := byte(ctrl2Reset)
	var mask byte
	if d.irq != nil {
		ctrl2 |= ctrl2INTE
		mask = intRDTI | intPOLI | intBTDI | intDODI | intLCSOI
		// INT is open drain; a pull-up is expected on the board.
		if err := d.irq.In(gpio.PullNoChange, gpio.NoEdge); err != nil {
			return fmt.Errorf("si3050 %s: irq pin: %w", d.opts.Name, err)
		}
	}
	steps := [...]struct{ addr, val byte }{
		{regCtrl2, ctrl2},
		{regPCM, pcmf << 3}, // format, PCM still off
		{regTXLo, byte(count)},
		{regTXHi, byte(count>>8) & 0x03},
		{regRXLo, byte(count)},
		{regRXHi, byte(count>>8) & 0x03},
		{regPCM, pcmf<<3 | pcmEnable},
		{regIntl1, r16},
		{regIntl2, r17},
		{regDCTerm, r26},
		{regACTerm, r30},
		{regDAA5, 0x20 | r31 | 0x02}, // FOH 128 ms, OHS2, 200 Hz high-pass
		{regIntl3, 0x02},             // full-wave ring detection
		{regRing1, rmx},              // RDLY 0
		{regRing2, rtoCode(d.opts.RingTimeout)<<3 | rccCode(d.opts.RingConfirm)},
		{regRing3, 0x80 | ras}, // RNGV
		{regIntSrc, 0},
		{regIntMask, mask},
	}
	for _, s := range steps {
		if err := d.write(s.addr, s.val); err != nil {
			return d.fail(err)
		}
	}
	if err := d.linkUp(); err != nil {
		return d.fail(err)
	}
	if err := d.write(regDAA1, daaONHM); err != nil {
		return d.fail(err)
	}
	return nil
}

// fail powers the line side down again (best effort) and returns err.
func (d *Dev) fail(err error) error {
	_ = d.write(regDAA1, 0)
	_ = d.write(regDAA2, pdl)
	return err
}

func (d *Dev) doReset() error {
	if d.reset != nil {
		if err := d.reset.Out(gpio.Low); err != nil {
			return fmt.Errorf("si3050 %s: reset pin: %w", d.opts.Name, err)
		}
		d.sleep(resetHold)
		if err := d.reset.Out(gpio.High); err != nil {
			return fmt.Errorf("si3050 %s: reset pin: %w", d.opts.Name, err)
		}
		d.sleep(pllWait)
		return nil
	}
	// Soft reset; a missing chip just ignores it and fails the probe.
	if err := d.write(regCtrl1, softReset); err != nil {
		return err
	}
	d.sleep(softResetWait)
	return nil
}

// probe checks the identity and the reset state.
func (d *Dev) probe() error {
	id, err := d.readIdentity()
	if err != nil {
		return err
	}
	d.id = id
	if id.Ctrl2 == 0x00 || id.Ctrl2 == 0xFF {
		return fmt.Errorf("si3050 %s: %w (register 2 reads 0x%02x; check power, wiring, chip select, chain position and that PCLK runs)", d.opts.Name, ErrNotFound, id.Ctrl2)
	}
	if id.Revision == 0 || id.Revision == 0x0F {
		return fmt.Errorf("si3050 %s: %w: register 11 reads 0x%02x (system-side revision %d)", d.opts.Name, ErrWrongPart, id.LineSide<<4|id.Revision, id.Revision)
	}
	if id.Ctrl2 != ctrl2Reset {
		return fmt.Errorf("si3050 %s: %w: register 2 reads 0x%02x, want 0x%02x", d.opts.Name, ErrBadState, id.Ctrl2, ctrl2Reset)
	}
	if id.LineSide != 0 {
		return fmt.Errorf("si3050 %s: %w: line side already powered (register 11 = 0x%02x) after reset", d.opts.Name, ErrBadState, id.LineSide<<4|id.Revision)
	}
	// SPI sanity: a pattern in the RX count register must read back.
	if err := d.write(regRXLo, testPattern); err != nil {
		return err
	}
	v, err := d.read(regRXLo)
	if err != nil {
		return err
	}
	if v != testPattern {
		return fmt.Errorf("si3050 %s: %w: register 36 reads 0x%02x after writing 0x%02x (SPI data path broken?)", d.opts.Name, ErrNotFound, v, testPattern)
	}
	return nil
}

func (d *Dev) readIdentity() (Identity, error) {
	var id Identity
	c2, err := d.read(regCtrl2)
	if err != nil {
		return id, err
	}
	r11, err := d.read(regSysRev)
	if err != nil {
		return id, err
	}
	r13, err := d.read(regLineRev)
	if err != nil {
		return id, err
	}
	return Identity{Ctrl2: c2, Revision: r11 & 0x0F, LineSide: r11 >> 4, LineSideRev: (r13 >> 2) & 0x0F}, nil
}

// linkUp powers the line side and waits for it over the isolation link.
func (d *Dev) linkUp() error {
	if err := d.write(regDAA2, 0); err != nil {
		return err
	}
	var r11, r12 byte
	for waited := time.Duration(0); ; waited += pollStep {
		var err error
		if r11, err = d.read(regSysRev); err != nil {
			return err
		}
		if r11&0xF0 != 0 {
			if r12, err = d.read(regLineStat); err != nil {
				return err
			}
			if r12&frameDetect != 0 {
				break
			}
		}
		if waited >= linkTimeout {
			return fmt.Errorf("si3050 %s: line-side device not up after %v (register 11 = 0x%02x, register 12 = 0x%02x; is the Si3018/19 fitted and the isolation capacitors intact?): %w",
				d.opts.Name, linkTimeout, r11, r12, ErrTimeout)
		}
		d.sleep(pollStep)
	}
	d.id.LineSide = r11 >> 4
	r13, err := d.read(regLineRev)
	if err != nil {
		return err
	}
	d.id.LineSideRev = (r13 >> 2) & 0x0F
	return nil
}

// Probe reads the identity registers of the chip at chain position chain on
// c without resetting or configuring it: for hardware smoke tests.
func Probe(c spi.Conn, chain int) (Identity, error) {
	if chain < 0 || chain >= MaxChain {
		return Identity{}, fmt.Errorf("si3050: chain position %d out of range", chain)
	}
	d := &Dev{c: c, ctl: ctlRegister | ChainBits(chain), opts: Opts{Name: fmt.Sprintf("%s/%d", c, chain)}}
	d.pk[0].W = d.b0[:]
	d.pk[1].W = d.b1[:]
	d.pk[2].W = d.b2[:]
	return d.readIdentity()
}

// String describes the chip.
func (d *Dev) String() string {
	return fmt.Sprintf("Si3050{%s, rev %d, line side %d rev %d, %s, slot %d}", d.opts.Name, d.id.Revision, d.id.LineSide, d.id.LineSideRev, d.country.Name, d.opts.Slot)
}

// Identity returns what the bring-up read from the chip.
func (d *Dev) Identity() Identity { return d.id }

// Country returns the country settings in use.
func (d *Dev) Country() Country { return d.country }

// SetHook seizes (true: off hook) or releases the line. On hook the line
// monitor stays on, so voltage and caller ID audio remain readable.
func (d *Dev) SetHook(off bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := byte(daaONHM)
	if off {
		v = daaOH
	}
	if err := d.write(regDAA1, v); err != nil {
		return err
	}
	if off != d.st.OffHook {
		d.refLoopMA = 0
	}
	d.st.OffHook = off
	d.lastFull = -fullReadInterval // read everything at the next Poll
	return nil
}

// Poll reads the line and returns its debounced state and the events found
// since the last Poll. now is the caller's monotonic frame clock. With an
// IRQ pin, the chip is only read when an interrupt is pending, a change is
// being debounced, the line rings or is seized, or every 100 ms. Poll does
// not allocate.
func (d *Dev) Poll(now time.Duration) (Status, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Events = 0
	if d.irq != nil && d.init && !d.st.OffHook && !d.st.Ringing && !d.debouncing() &&
		now-d.lastFull < fullReadInterval && d.irq.Read() == gpio.High {
		return d.st, nil
	}
	r5, err := d.read(regDAA1)
	if err != nil {
		return d.st, err
	}
	r4, err := d.read(regIntSrc)
	if err != nil {
		return d.st, err
	}
	if r4 != 0 {
		// Bits clear when written 0: clear exactly those just read.
		if err := d.write(regIntSrc, ^r4); err != nil {
			return d.st, err
		}
	}
	lvsReg, err := d.read(regLVS)
	if err != nil {
		return d.st, err
	}
	r12, err := d.read(regLineStat)
	if err != nil {
		return d.st, err
	}
	d.lastFull = now
	d.update(now, r5, int(int8(lvsReg)), r12)
	return d.st, nil
}

func (d *Dev) debouncing() bool {
	return d.polRaw != d.st.Reversed || d.batRaw != d.st.Battery || d.useRaw != d.st.InUse
}

// update runs the debouncers on one reading.
func (d *Dev) update(now time.Duration, r5 byte, lvs int, r12 byte) {
	st := &d.st
	st.OffHook = r5&daaOH != 0
	st.LineVolts = lvs
	lcs := int(r12 & lcsMask)
	st.Overload = lcs == lcsMask
	st.LoopMA = 0
	if st.OffHook {
		st.LoopMA = lcs * 33 / 10
	}
	mag := lvs
	if mag < 0 {
		mag = -mag
	}
	battery := mag >= d.opts.BatteryThreshold || st.LoopMA > 0
	if !d.init {
		d.init = true
		d.polRef = lvs < 0
		d.polRaw, d.batRaw = false, battery
		st.Battery = battery
		d.polSince, d.batSince, d.useSince = now, now, now
	}
	// Ringing, as validated by the chip.
	ring := r5&daaRDT != 0 && !st.OffHook
	if ring && !st.Ringing {
		if st.Rings > 0 && now-d.ringEnd > ringEpisodeGap {
			st.Rings = 0
		}
		st.Rings++
		st.Events |= EventRingStart
	} else if !ring && st.Ringing {
		d.ringEnd = now
		st.Events |= EventRingStop
	}
	st.Ringing = ring
	if st.OffHook {
		st.Rings = 0
	}
	// Battery.
	if battery != d.batRaw {
		d.batRaw, d.batSince = battery, now
	}
	if d.batRaw != st.Battery && now-d.batSince >= d.opts.BatteryDebounce {
		st.Battery = d.batRaw
		if st.Battery {
			st.Events |= EventBatteryRestored
		} else {
			st.Events |= EventBatteryLost
		}
	}
	// Polarity, only while there is a voltage to tell it by; ringing
	// swings the voltage both ways and says nothing.
	if battery && mag >= d.opts.BatteryThreshold && !ring {
		rev := (lvs < 0) != d.polRef
		if rev != d.polRaw {
			d.polRaw, d.polSince = rev, now
		}
	}
	if d.polRaw != st.Reversed && now-d.polSince >= d.opts.PolarityDebounce {
		st.Reversed = d.polRaw
		st.Events |= EventPolarity
	}
	// Parallel pick-up.
	inUse := false
	switch {
	case !battery || ring:
	case !st.OffHook:
		inUse = mag < d.opts.InUseVolts
	default:
		if st.LoopMA > d.refLoopMA {
			d.refLoopMA = st.LoopMA
		}
		inUse = d.refLoopMA > 0 && st.LoopMA*10 < d.refLoopMA*6
	}
	if inUse != d.useRaw {
		d.useRaw, d.useSince = inUse, now
	}
	if d.useRaw != st.InUse && now-d.useSince >= d.opts.BatteryDebounce {
		st.InUse = d.useRaw
		if st.InUse {
			st.Events |= EventInUse
		} else {
			st.Events |= EventInUseEnd
		}
	}
}

// LoopCurrentFine returns the loop current from register 28 (LCS2), the
// finer reading (1.1 mA/bit [U]), in µA.
func (d *Dev) LoopCurrentFine() (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.read(regLCS2)
	return int(v) * 1100, err
}

// Halt puts the DAA on hook and powers the line side down.
func (d *Dev) Halt() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write(regDAA1, 0); err != nil {
		return err
	}
	d.st.OffHook = false
	return d.write(regDAA2, pdl)
}

// write writes a register: control, address and data, one byte per
// chip-select cycle.
func (d *Dev) write(addr, val byte) error {
	d.b0[0], d.b1[0], d.b2[0] = d.ctl, addr, val
	d.pk[2].R = nil
	if err := d.c.TxPackets(d.pk[:]); err != nil {
		return fmt.Errorf("si3050 %s: write register %d: %w", d.opts.Name, addr, err)
	}
	return nil
}

// read reads a register: control (read bit set) and address, then the
// chip clocks the data out.
func (d *Dev) read(addr byte) (byte, error) {
	d.b0[0], d.b1[0], d.b2[0] = d.ctl|ctlRead, addr, 0
	d.pk[2].R = d.in[:]
	if err := d.c.TxPackets(d.pk[:]); err != nil {
		return 0, fmt.Errorf("si3050 %s: read register %d: %w", d.opts.Name, addr, err)
	}
	return d.in[0], nil
}
