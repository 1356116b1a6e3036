package si3215

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
	// MaxSpeed is the highest SCLK used for the chip. [U] 16 MHz, like the
	// related Si3050; boards may go slower.
	MaxSpeed = 16 * physic.MegaHertz
	// SPIMode is the chip's SPI mode: clock idles high, data sampled on the
	// rising edge, MSB first.
	SPIMode = spi.Mode3
)

// Errors New and the methods wrap; test them with errors.Is.
var (
	// ErrNotFound means no ProSLIC answered: reg0 read as 0x00 or 0xFF, or
	// reported revision 0 or 15 (nothing on the bus, wrong chip select, no
	// power, or SPI wiring).
	ErrNotFound = errors.New("no ProSLIC found")
	// ErrWrongPart means a chip answered but is not a supported Si3215/16.
	ErrWrongPart = errors.New("not a supported Si3215")
	// ErrBadState means the chip did not show its reset values after a reset.
	ErrBadState = errors.New("chip not in its reset state")
	// ErrTimeout means a bounded wait (indirect access, battery power-up,
	// calibration) did not finish.
	ErrTimeout = errors.New("timeout")
	// ErrPowerAlarm means the chip reported a power alarm (an external
	// transistor overheating, a short on the line): the line is shut down
	// and the port is faulty until ClearFault.
	ErrPowerAlarm = errors.New("power alarm")
)

// Opts configures a Dev. Zero fields take the values of DefaultOpts.
type Opts struct {
	// Slot is the PCM channel of the line. Audio is 16-bit linear, and on our
	// highway a "slot" is one 16-bit channel: TX and RX start at bit
	// Slot*16 after frame sync. 0-63.
	Slot int
	// Debounce is how long a new raw hook reading must stay stable before
	// PollHook reports it (default 20 ms). It must stay well below a pulse
	// dialing break (about 60 ms); values above 50 ms are refused.
	Debounce time.Duration
	// RingHz is the ringing frequency in Hz (default 20, 10-100).
	RingHz int
	// RingAmplitude is the ringing oscillator amplitude RNGX (indirect 8);
	// 0 selects 0x160, the customary "normal" setting with the default VBATH.
	RingAmplitude uint16
	// Name identifies the chip in errors and String, e.g. "spi0.0"; empty
	// selects the connection's String().
	Name string
	// Sleep waits during reset and bounded polls; nil means time.Sleep.
	// Tests and simulations pass a function that returns at once: every wait
	// is bounded by summing the requested durations, never by the wall clock.
	Sleep func(time.Duration)
	// Format is the PCM sample format (default 16-bit linear; µ-law and
	// A-law put the 8-bit code in the first 8 bit clocks of the slot).
	Format pcm.Format
	// Country selects the ringing amplitude and DC offset, the two-wire
	// impedance and the gains (LookupCountry); RingHz, when zero, also
	// comes from it. Empty keeps the chip's reset impedance, 0 dB gains and
	// the default ringing.
	Country string
	// RingVoltsPeak, when set, overrides the country's ringing amplitude
	// (volts peak, at most 90); RingAmplitude overrides both.
	RingVoltsPeak int
	// RingDCOffsetVolts, when set, overrides the country's ringing DC
	// offset (-45..45 V).
	RingDCOffsetVolts int
	// Daisy puts the chip in daisy-chain mode at position Chain (0-7): all
	// chips share one chip select, SDI passed on through SDITHRU, and every
	// access is preceded by a chip-select byte (1<<Chain; 0xFF broadcast).
	// On a chain, create the Dev with the RESET pin first: it resets every
	// chip and turns daisy-chain mode on for all; create the others after
	// it, without the pin.
	Daisy bool
	Chain int
}

// DefaultOpts documents the values New uses for zero fields of Opts. New does
// not read this variable.
var DefaultOpts = Opts{
	Slot:          0,
	Debounce:      defaultDebounce,
	RingHz:        defaultRingHz,
	RingAmplitude: defaultRingAmplitude,
	Name:          "", // the connection's String()
}

const (
	defaultDebounce      = 20 * time.Millisecond
	maxDebounce          = 50 * time.Millisecond
	defaultRingHz        = 20
	defaultRingAmplitude = 0x160

	// Reset timing from AN35: hold RESET low 250 ms, then wait 250 ms.
	resetHold = 250 * time.Millisecond
	resetWait = 250 * time.Millisecond

	pollStep        = 10 * time.Millisecond
	vbatTimeout     = 500 * time.Millisecond
	calTimeout      = 2 * time.Second
	dcdcCalTimeout  = 200 * time.Millisecond
	indirectPolls   = 1000
	vbatPoweredUp   = 0xC0 // reg82 reading, 0.376 V/LSB: about 72 V
	dcdcCalMin      = 0x02 // plausible reg107 range after DC-DC calibration
	dcdcCalMax      = 0x0D
	dcdcCalFallback = 0x08
)

// Direct registers.
const (
	regID           = 0
	regPCMMode      = 1
	regTXStartLo    = 2
	regTXStartHi    = 3
	regRXStartLo    = 4
	regRXStartHi    = 5
	regVariant      = 6
	regLoopback     = 8
	regHybrid       = 11
	regPowerDown    = 14
	regIntStatus1   = 18
	regIntStatus2   = 19
	regIntStatus3   = 20
	regIntMask1     = 21
	regIntMask2     = 22
	regIntMask3     = 23
	regIDataLo      = 28
	regIDataHi      = 29
	regIAddr        = 30
	regIStatus      = 31
	regRingOscCtl   = 34
	regLinefeed     = 64
	regBatFeed      = 66
	regAutoCtl      = 67
	regLoopStatus   = 68
	regLoopILimit   = 71
	regCommonMode   = 73
	regVBATSense    = 82
	regDCDCPeriod   = 92
	regDCDCCtl      = 93
	regCalStart     = 96
	regCalSelect    = 97
	regDCDCCalValue = 107
	regEnhance      = 108
)

// Register bits and values.
const (
	pcmEnable      = 0x20
	powerDownDCDC  = 0x10 // reg14 bit 4
	loopLCR        = 0x01 // reg68
	loopRTP        = 0x02
	intRingTrip    = 0x01 // reg19
	intLoop        = 0x02
	intPowerAlarms = 0xFC // reg19 bits 7:2: transistor power alarms
	dcdcCalBusy    = 0x80 // reg93
)

// Indirect registers, Si3215 numbering.
const (
	irRingVOffset = 6
	irRCO         = 7
	irRNGX        = 8
	irRNGY        = 9
	irRXGain      = 13
	irTXGain      = 14
	irLoopFilter  = 22 // first of the filters flushed during calibration
	irLastFilter  = 26
)

type irValue struct {
	addr byte
	val  uint16
}

// Dev is one Si3215. Its methods may be called from any goroutine; the
// real-time methods (PollHook, SetLinefeed, SetRinging) do not allocate.
type Dev struct {
	mu    sync.Mutex
	c     spi.Conn
	reset gpio.PinOut
	irq   gpio.PinIn
	opts  Opts
	sleep func(time.Duration)
	rev   byte
	vari  byte
	irs   []irValue

	// Fixed SPI buffers: one byte per chip-select cycle.
	cmd, data, dummy, in [1]byte
	wr, rd               [2]spi.Packet

	lf Linefeed // last linefeed written

	// Daisy-chain framing: a chip-select byte before each access.
	daisy bool
	mask  [1]byte
	wr3   [3]spi.Packet
	rd3   [3]spi.Packet

	line    *Country // country setup, nil for chip defaults
	ringVpk int      // ringing amplitude in volts peak (0: RNGX as given)
	ringOff int      // ringing DC offset, volts

	fault error // a power alarm: the port is out of service

	// Hook debounce.
	hookInit  bool
	hookState bool          // debounced
	hookRaw   bool          // last raw reading
	hookSince time.Duration // when hookRaw last changed
	forceRead bool          // read reg68 at the next poll even if IRQ is idle
}

var _ conn.Resource = (*Dev)(nil)

// New resets and initialises the ProSLIC on conn and leaves the line in
// forward active. conn must be connected with SPIMode, 8 bits, at most
// MaxSpeed. reset (the RESET pin) and irq (the INT pin) may be nil: without
// reset the chip is not pulsed and the reset-state sanity checks are skipped;
// without irq PollHook reads the hook register every time. opts may be nil.
func New(c spi.Conn, reset gpio.PinOut, irq gpio.PinIn, opts *Opts) (*Dev, error) {
	o := Opts{}
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		o.Name = "si3215"
		if c != nil {
			o.Name = c.String()
		}
	}
	if o.Debounce == 0 {
		o.Debounce = defaultDebounce
	}
	var line *Country
	if o.Country != "" {
		c, err := LookupCountry(o.Country)
		if err != nil {
			return nil, fmt.Errorf("si3215 %s: %w", o.Name, err)
		}
		line = &c
		if o.RingHz == 0 {
			o.RingHz = c.RingHz
		}
		if o.RingVoltsPeak == 0 {
			o.RingVoltsPeak = c.RingVoltsPeak
		}
		if o.RingDCOffsetVolts == 0 {
			o.RingDCOffsetVolts = c.RingDCOffsetVolts
		}
	}
	if o.RingHz == 0 {
		o.RingHz = defaultRingHz
	}
	if o.RingAmplitude == 0 && o.RingVoltsPeak > 0 && o.RingVoltsPeak <= 90 && o.RingHz >= 10 && o.RingHz <= 100 {
		o.RingAmplitude = RingAmplitude(o.RingHz, o.RingVoltsPeak)
	}
	if o.RingAmplitude == 0 {
		o.RingAmplitude = defaultRingAmplitude
	}
	_, fmtOK := o.Format.PCMF()
	switch {
	case !fmtOK:
		return nil, fmt.Errorf("si3215 %s: unknown PCM format %v", o.Name, o.Format)
	case o.RingVoltsPeak < 0 || o.RingVoltsPeak > 90:
		return nil, fmt.Errorf("si3215 %s: ringing %d V peak out of range 0-90", o.Name, o.RingVoltsPeak)
	case o.RingDCOffsetVolts < -45 || o.RingDCOffsetVolts > 45:
		return nil, fmt.Errorf("si3215 %s: ringing DC offset %d V out of range -45..45", o.Name, o.RingDCOffsetVolts)
	case o.Daisy && (o.Chain < 0 || o.Chain > 7):
		return nil, fmt.Errorf("si3215 %s: chain position %d out of range 0-7", o.Name, o.Chain)
	}
	switch {
	case c == nil:
		return nil, fmt.Errorf("si3215 %s: nil spi.Conn", o.Name)
	case o.Slot < 0 || o.Slot > 63:
		return nil, fmt.Errorf("si3215 %s: slot %d out of range 0-63", o.Name, o.Slot)
	case o.Debounce < 0 || o.Debounce > maxDebounce:
		return nil, fmt.Errorf("si3215 %s: debounce %v out of range 0-%v", o.Name, o.Debounce, maxDebounce)
	case o.RingHz < 10 || o.RingHz > 100:
		return nil, fmt.Errorf("si3215 %s: ring frequency %d Hz out of range 10-100", o.Name, o.RingHz)
	case o.RingAmplitude > 0x7FFF:
		return nil, fmt.Errorf("si3215 %s: ring amplitude 0x%x above 0x7fff", o.Name, o.RingAmplitude)
	}
	d := &Dev{c: c, reset: reset, irq: irq, opts: o, sleep: o.Sleep, line: line,
		ringVpk: o.RingVoltsPeak, ringOff: o.RingDCOffsetVolts}
	if d.sleep == nil {
		d.sleep = time.Sleep
	}
	d.wr[0].W = d.cmd[:]
	d.wr[1].W = d.data[:]
	d.rd[0].W = d.cmd[:]
	d.rd[1].W = d.dummy[:]
	d.rd[1].R = d.in[:]
	d.wr3[0].W, d.wr3[1].W, d.wr3[2].W = d.mask[:], d.cmd[:], d.data[:]
	d.rd3[0].W, d.rd3[1].W, d.rd3[2].W, d.rd3[2].R = d.mask[:], d.cmd[:], d.dummy[:], d.in[:]
	d.mask[0] = 1 << uint(o.Chain&7)
	d.irs = indirectTable(o.RingHz, o.RingAmplitude)
	if line != nil || o.RingDCOffsetVolts != 0 {
		rx, tx := 0.0, 0.0
		if line != nil {
			rx, tx = line.RXGainDB, line.TXGainDB
		}
		for i := range d.irs {
			switch d.irs[i].addr {
			case irRingVOffset:
				d.irs[i].val = RingOffset(o.RingDCOffsetVolts)
			case irRXGain:
				d.irs[i].val = gainReg(rx)
			case irTXGain:
				d.irs[i].val = gainReg(tx)
			}
		}
	}
	if err := d.init(); err != nil {
		return nil, err
	}
	return d, nil
}

// RingCoefficient returns the ringing oscillator coefficient RCO (indirect 7)
// for a ring frequency: 2^15 * cos(2*pi*hz/1000), the oscillator running at
// 1 kHz. 20 Hz gives 0x7EFE (DAHDI's table uses the close 0x7EF0), 25 Hz
// 0x7E6D (the value DAHDI uses).
func RingCoefficient(hz int) uint16 {
	return uint16(math.Round(32768 * math.Cos(2*math.Pi*float64(hz)/1000)))
}

// indirectTable returns the indirect registers New loads, in order, with
// the Si3215 addresses and the values recommended by the datasheet (digital
// gains at 0 dB: the host does the levels).
func indirectTable(ringHz int, amplitude uint16) []irValue {
	return []irValue{
		{irRingVOffset, 0x0000},
		{irRCO, RingCoefficient(ringHz)},
		{irRNGX, amplitude},
		{irRNGY, 0x0000}, // initial phase
		{irRXGain, 0x4000},
		{irTXGain, 0x4000},
		{15, 0x1000}, // loop closure threshold
		{16, 0x3600}, // ring trip threshold
		{17, 0x1000}, // common mode minimum
		{18, 0x0200}, // common mode maximum
		{19, 0x07C0}, // power alarm Q1/Q2
		{20, 0x2600}, // power alarm Q3/Q4
		{21, 0x1B80}, // power alarm Q5/Q6
		{22, 0x8000}, // loop closure filter
		{23, 0x0320}, // ring trip filter
		{24, 0x008C}, // thermal low-pass pole Q1/Q2
		{25, 0x0100}, // thermal low-pass pole Q3/Q4
		{26, 0x0010}, // thermal low-pass pole Q5/Q6
		{27, 0x0C00}, // common mode bias while ringing
		{64, 0x0C00}, // DC-DC minimum voltage
		{66, 0x1000}, // loop closure threshold, low
	}
}

func (d *Dev) init() error {
	if d.reset != nil {
		if err := d.reset.Out(gpio.Low); err != nil {
			return fmt.Errorf("si3215 %s: reset pin: %w", d.opts.Name, err)
		}
		d.sleep(resetHold)
		if err := d.reset.Out(gpio.High); err != nil {
			return fmt.Errorf("si3215 %s: reset pin: %w", d.opts.Name, err)
		}
		d.sleep(resetWait)
	}
	if d.irq != nil {
		// INT is open drain; boards fit a pull-up, and Linux GPIO backends
		// often cannot set pulls, so none is requested.
		if err := d.irq.In(gpio.PullNoChange, gpio.NoEdge); err != nil {
			return fmt.Errorf("si3215 %s: irq pin: %w", d.opts.Name, err)
		}
	}
	if d.opts.Daisy {
		if err := d.enableDaisy(); err != nil {
			return err
		}
	}
	if err := d.probe(); err != nil {
		return err
	}
	steps := []func() error{
		// Keep the DC-DC converter off while configuring.
		func() error { return d.write(regPowerDown, powerDownDCDC) },
		d.loadIndirect,
		func() error { return d.write(regLoopback, 0) },     // no digital loopback
		func() error { return d.write(regEnhance, 0xEB) },   // revision C enhancements
		func() error { return d.write(regAutoCtl, 0x07) },   // auto ring trip etc., no auto battery switching
		func() error { return d.write(regBatFeed, 0x01) },   // Q7 off
		func() error { return d.flushFilters(0x8000, nil) }, // flush filters during calibration
		d.setupLine,
		d.powerUp,
		func() error { return d.write(regLoopILimit, 0) }, // 20 mA loop current limit
		func() error { return d.write(regDCDCCtl, 0x19) }, // engage DC-DC
		d.calibrate,
		d.calibrateDCDC,
		func() error { return d.flushFilters(0, d.irs) }, // restore filters
		d.verifyIndirect,
		d.setupPCM,
		d.setupInterrupts,
		func() error { return d.write(regRingOscCtl, 0) }, // software cadence, no ring timers
		func() error { return d.setLinefeed(LinefeedForwardActive) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			// Best effort: leave the line dead and the converter off.
			_ = d.write(regLinefeed, byte(LinefeedOpen))
			_ = d.write(regPowerDown, powerDownDCDC)
			return err
		}
	}
	return nil
}

// probe checks the identity registers and, after a reset, the reset values.
func (d *Dev) probe() error {
	id, err := d.read(regID)
	if err != nil {
		return err
	}
	if d.daisy {
		id &= 0x3F // bit 7 reads back the daisy-chain enable
	}
	rev := id & 0x0F
	if id == 0x00 || id == 0xFF || rev == 0 || rev == 0x0F {
		return fmt.Errorf("si3215 %s: %w (register 0 reads 0x%02x; check power, wiring and chip select)", d.opts.Name, ErrNotFound, id)
	}
	if rev < 2 {
		return fmt.Errorf("si3215 %s: %w: silicon revision %d is too old", d.opts.Name, ErrWrongPart, rev)
	}
	r1, err := d.read(regPCMMode)
	if err != nil {
		return err
	}
	if r1&0x80 == 0 {
		return fmt.Errorf("si3215 %s: %w: register 1 bit 7 is clear, an Si3210/Si3211 (register 0 = 0x%02x)", d.opts.Name, ErrWrongPart, id)
	}
	v, err := d.read(regVariant)
	if err != nil {
		return err
	}
	d.rev, d.vari = rev, v>>5
	if d.reset == nil {
		return nil
	}
	for _, r := range [...]struct{ addr, want byte }{{regLoopback, 0x02}, {regLinefeed, 0x00}, {regHybrid, 0x33}} {
		got, err := d.read(r.addr)
		if err != nil {
			return err
		}
		if got != r.want {
			return fmt.Errorf("si3215 %s: %w: register %d reads 0x%02x, want 0x%02x", d.opts.Name, ErrBadState, r.addr, got, r.want)
		}
	}
	return nil
}

func (d *Dev) loadIndirect() error {
	for _, r := range d.irs {
		if err := d.writeIndirect(r.addr, r.val); err != nil {
			return err
		}
	}
	return nil
}

// flushFilters writes val to the filter registers, or their table values when
// table is not nil.
func (d *Dev) flushFilters(val uint16, table []irValue) error {
	for a := byte(irLoopFilter); a <= irLastFilter; a++ {
		v := val
		for _, r := range table {
			if r.addr == a {
				v = r.val
			}
		}
		if err := d.writeIndirect(a, v); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dev) verifyIndirect() error {
	for _, r := range d.irs {
		got, err := d.readIndirect(r.addr)
		if err != nil {
			return err
		}
		if got != r.val {
			return fmt.Errorf("si3215 %s: indirect register %d reads 0x%04x after load, want 0x%04x", d.opts.Name, r.addr, got, r.val)
		}
	}
	return nil
}

// powerUp starts the DC-DC converter and waits for the battery voltage.
func (d *Dev) powerUp() error {
	if err := d.write(regDCDCPeriod, 0xFF); err != nil {
		return err
	}
	if err := d.write(regPowerDown, 0); err != nil {
		return err
	}
	var vbat byte
	err := d.poll(vbatTimeout, "battery power-up", func() (bool, error) {
		var err error
		vbat, err = d.read(regVBATSense)
		return vbat >= vbatPoweredUp, err
	})
	if err != nil {
		return fmt.Errorf("%w (VBAT register 82 = 0x%02x, about %d V; is the DC-DC supply fitted?)", err, vbat, int(vbat)*376/1000)
	}
	return nil
}

// calibrate runs the chip's automatic calibrations.
func (d *Dev) calibrate() error {
	if err := d.write(regCalSelect, 0x1F); err != nil {
		return err
	}
	if err := d.write(regCalStart, 0x5F); err != nil {
		return err
	}
	return d.poll(calTimeout, "calibration", func() (bool, error) {
		v, err := d.read(regCalStart)
		return v == 0, err
	})
}

// calibrateDCDC runs the DC-DC converter calibration and checks its result.
func (d *Dev) calibrateDCDC() error {
	if err := d.write(regDCDCCtl, 0x99); err != nil {
		return err
	}
	err := d.poll(dcdcCalTimeout, "DC-DC calibration", func() (bool, error) {
		v, err := d.read(regDCDCCtl)
		return v&dcdcCalBusy == 0, err
	})
	if err != nil {
		return err
	}
	v, err := d.read(regDCDCCalValue)
	if err != nil {
		return err
	}
	if v < dcdcCalMin || v > dcdcCalMax {
		return d.write(regDCDCCalValue, dcdcCalFallback)
	}
	return nil
}

func (d *Dev) setupPCM() error {
	count := d.opts.Slot * 16
	pcmf, _ := d.opts.Format.PCMF()
	for _, r := range [...]struct{ addr, val byte }{
		{regPCMMode, pcmEnable | pcmf<<3},
		{regTXStartLo, byte(count)},
		{regTXStartHi, byte(count>>8) & 0x03},
		{regRXStartLo, byte(count)},
		{regRXStartHi, byte(count>>8) & 0x03},
	} {
		if err := d.write(r.addr, r.val); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dev) setupInterrupts() error {
	var mask2 byte
	if d.irq != nil {
		mask2 = intLoop | intRingTrip | intPowerAlarms
	}
	for _, r := range [...]struct{ addr, val byte }{
		{regIntStatus1, 0xFF}, // clear everything pending
		{regIntStatus2, 0xFF},
		{regIntStatus3, 0xFF},
		{regCommonMode, 0x04},
		{regIntMask1, 0},
		{regIntMask2, mask2},
		{regIntMask3, 0},
	} {
		if err := d.write(r.addr, r.val); err != nil {
			return err
		}
	}
	return nil
}

// poll calls done every pollStep until it reports true, for at most limit of
// requested sleep.
func (d *Dev) poll(limit time.Duration, what string, done func() (bool, error)) error {
	for waited := time.Duration(0); ; waited += pollStep {
		ok, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if waited >= limit {
			return fmt.Errorf("si3215 %s: %s not finished after %v: %w", d.opts.Name, what, limit, ErrTimeout)
		}
		d.sleep(pollStep)
	}
}

// String describes the chip.
func (d *Dev) String() string {
	return fmt.Sprintf("Si3215{%s, rev %c, variant %d, slot %d}", d.opts.Name, 'A'+d.rev-1, d.vari, d.opts.Slot)
}

// SetLinefeed sets the linefeed state (register 64).
func (d *Dev) SetLinefeed(lf Linefeed) error {
	if lf > LinefeedRingOpen {
		return fmt.Errorf("si3215 %s: invalid linefeed %d", d.opts.Name, lf)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fault != nil && lf != LinefeedOpen {
		return d.fault
	}
	return d.setLinefeed(lf)
}

func (d *Dev) setLinefeed(lf Linefeed) error {
	if err := d.write(regLinefeed, byte(lf)); err != nil {
		return err
	}
	d.lf = lf
	d.forceRead = true
	return nil
}

// Linefeed reads back the linefeed state the chip is in. It differs from the
// last SetLinefeed after an automatic ring trip, which switches the chip from
// ringing to forward active by itself.
func (d *Dev) Linefeed() (Linefeed, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.read(regLinefeed)
	return Linefeed(v & 0x07), err
}

// SetRinging starts ringing (linefeed ringing, with the ringing oscillator set
// up by New) or stops it (back to forward active). The caller makes the
// cadence by calling it at the cadence's edges.
func (d *Dev) SetRinging(on bool) error {
	if on {
		return d.SetLinefeed(LinefeedRinging)
	}
	return d.SetLinefeed(LinefeedForwardActive)
}

// PollHook samples the hook (register 68: loop closure, or ring trip while
// ringing) and returns the debounced state, true meaning off hook. now is the
// caller's monotonic frame clock: a change is reported once the raw reading
// has been stable for Opts.Debounce. With an IRQ pin, the register is only read
// when an interrupt is pending, a change is being debounced, the line is
// ringing, or the linefeed was just changed. PollHook does not allocate.
func (d *Dev) PollHook(now time.Duration) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pollHook(now)
}

func (d *Dev) pollHook(now time.Duration) (bool, error) {
	if d.fault != nil {
		return d.hookState, d.fault
	}
	if d.irq != nil && d.hookInit && !d.forceRead && d.hookRaw == d.hookState &&
		d.lf != LinefeedRinging && d.irq.Read() == gpio.High {
		return d.hookState, nil
	}
	// Interrupt status: loop closure, ring trip and the power alarms. Read
	// every poll without an IRQ pin, so alarms are seen either way.
	s, err := d.read(regIntStatus2)
	if err != nil {
		return d.hookState, err
	}
	if s != 0 {
		if err := d.write(regIntStatus2, s); err != nil {
			return d.hookState, err
		}
	}
	if s&intPowerAlarms != 0 {
		return d.hookState, d.powerAlarm(s)
	}
	v, err := d.read(regLoopStatus)
	if err != nil {
		return d.hookState, err
	}
	d.forceRead = false
	raw := v&(loopLCR|loopRTP) != 0
	if !d.hookInit || raw != d.hookRaw {
		d.hookInit = true
		d.hookRaw = raw
		d.hookSince = now
	}
	if d.hookRaw != d.hookState && now-d.hookSince >= d.opts.Debounce {
		d.hookState = d.hookRaw
	}
	return d.hookState, nil
}

// Halt opens the linefeed: no battery, no ringing.
func (d *Dev) Halt() error {
	return d.SetLinefeed(LinefeedOpen)
}

// write writes a direct register: two chip-select cycles.
func (d *Dev) write(addr, val byte) error {
	d.cmd[0] = addr & 0x7F
	d.data[0] = val
	pk := d.wr[:]
	if d.daisy {
		pk = d.wr3[:]
	}
	if err := d.c.TxPackets(pk); err != nil {
		return fmt.Errorf("si3215 %s: write register %d: %w", d.opts.Name, addr, err)
	}
	return nil
}

// read reads a direct register: a control byte, then one byte clocked out.
func (d *Dev) read(addr byte) (byte, error) {
	d.cmd[0] = 0x80 | addr
	d.dummy[0] = 0
	pk := d.rd[:]
	if d.daisy {
		pk = d.rd3[:]
	}
	if err := d.c.TxPackets(pk); err != nil {
		return 0, fmt.Errorf("si3215 %s: read register %d: %w", d.opts.Name, addr, err)
	}
	return d.in[0], nil
}

// waitIndirect waits until the indirect port is idle (register 31 = 0).
func (d *Dev) waitIndirect() error {
	for i := 0; i < indirectPolls; i++ {
		v, err := d.read(regIStatus)
		if err != nil {
			return err
		}
		if v == 0 {
			return nil
		}
	}
	return fmt.Errorf("si3215 %s: indirect register port still busy after %d polls: %w", d.opts.Name, indirectPolls, ErrTimeout)
}

func (d *Dev) writeIndirect(addr byte, val uint16) error {
	if err := d.waitIndirect(); err != nil {
		return err
	}
	if err := d.write(regIDataLo, byte(val)); err != nil {
		return err
	}
	if err := d.write(regIDataHi, byte(val>>8)); err != nil {
		return err
	}
	return d.write(regIAddr, addr)
}

func (d *Dev) readIndirect(addr byte) (uint16, error) {
	if err := d.waitIndirect(); err != nil {
		return 0, err
	}
	if err := d.write(regIAddr, addr); err != nil {
		return 0, err
	}
	if err := d.waitIndirect(); err != nil {
		return 0, err
	}
	lo, err := d.read(regIDataLo)
	if err != nil {
		return 0, err
	}
	hi, err := d.read(regIDataHi)
	if err != nil {
		return 0, err
	}
	return uint16(lo) | uint16(hi)<<8, nil
}
