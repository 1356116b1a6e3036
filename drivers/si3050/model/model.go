// Package model is a register-level behavioural model of the Silicon Labs
// Si3050 voice DAA with its Si3019 line-side device, behind the periph.io
// interfaces the real chip sits behind: an spi.PortCloser speaking the
// DAA's 3-byte frames, a RESET input pin and an active-low INT output. Its
// line side hangs on a Line (a virtual central office) and a virtual PCM
// highway calls Transfer once per frame.
//
// # What is modelled
//
//   - SPI: mode 3, 8 bits, at most MaxSpeed. A register access is a
//     control byte (bit 7 broadcast, bit 6 read, bit 5 register access,
//     bits 3:0 the bit-reversed chain position), an address and a data
//     byte, in one chip-select cycle or one byte per cycle. A chip only
//     answers frames with its chain position (or broadcast writes); for
//     others its SDO is released and reads see 0xFF. Bus puts several chips
//     on one chip select (daisy chain).
//   - Reset values: reg2 = 0x03, reg6 = 0x10 (line side powered down),
//     reg11 = the system-side revision with line-side ID 0, reg22 = 0x96,
//     reg24 = 0x19. reg1 bit 7 is a self-clearing soft reset. Without PCLK
//     (Opts.NoPCLK) the PLL never locks and reg2 reads 0.
//   - Line-side link: clearing reg6 bit 4 powers the Si3019, which answers
//     Opts.LinkAccesses register accesses later: reg11 bits 7:4 show its ID,
//     reg13 its revision, reg12 bit 6 frame detect (never with
//     Opts.NoLineSide).
//   - Read-only: reg11, 12, 13, 28, 29 and reg5's RDT, RDTP, RDTN bits.
//     reg4 interrupt bits clear when written 0; the INT pin is low while a
//     bit enabled in reg3 is set and reg2 INTE is on.
//   - Line: reg29 LVS is the line voltage, 1 V/bit signed, readable off
//     hook or on hook with the line monitor (reg5 ONHM); reg12 LCS the loop
//     current at 3.3 mA/bit (31 = overload) and reg28 at 1.1 mA/bit, off
//     hook. A sign change of LVS raises POLI, a drop under 3 V BTDI, loss of
//     loop current while off hook DODI.
//   - Ringing: a ring above the threshold of RT/RT2 (reg16 bit 0, reg17
//     bit 4) sets RDTP/RDTN alternately at the ring frequency. With ring
//     validation (reg24 RNGV) the ring only counts when tip/ring events
//     (two per period) come no further apart than RAS*2 ms and no closer
//     than (RAS-RMX)*2 ms, and RDT sets after the confirmation time (RCC)
//     and ring delay (RDLY), raising RDTI; it clears RTO*128 ms after the
//     last valid event (raising RDTI again when reg2 RDI is set). Without
//     RNGV, RDT follows the raw detector.
//   - PCM: with reg33 PCME on and the link up, the chip exchanges its TX
//     (reg34/35) and RX (reg36/37) channels (start count / 16) with the
//     highway, 16-bit linear or G.711 (reg33 bits 4:3) in the word's high
//     byte. The line's audio reaches the host off hook or with the line
//     monitor on (caller ID); the host's audio reaches the line off hook.
//   - Gains: reg38 (whole dB) and reg40 (tenths) scale the host's audio
//     to the line, reg39 and reg41 the line's audio to the host (after
//     the hybrid); bits 3:0 the size, bit 4 attenuation.
//   - Echo: off hook, the captured audio carries the hybrid's echo of what
//     the host sends (Opts.Hybrid: 10 dB trans-hybrid loss after 1 ms,
//     dispersed over 4 ms, by default).
//
// Time: line behaviour (ring validation) runs on Transfer's frame counter
// (10 ms per frame), link-up on register accesses, so the model is
// deterministic.
//
// Fault injection: Opts.Absent (every read returns Opts.AbsentValue: 0xFF
// for a floating bus, 0x00 for a shorted one), a wrong revision (Opts.
// Revision 0 or 15), NoPCLK, NoLineSide, and FailSPI (the next n transfers
// fail).
//
// Reference: Silicon Labs "Si3050 + Si3011/18/19" datasheet, register map.
package model

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/physic"

	"github.com/loopstart/loopstart/drivers/internal/hybridmodel"
	"github.com/loopstart/loopstart/drivers/internal/pinmodel"
	"github.com/loopstart/loopstart/drivers/internal/spimodel"
	"github.com/loopstart/loopstart/dsp"
)

// MaxSpeed is the highest SCLK the model accepts (16.384 MHz).
const MaxSpeed = 16384 * physic.KiloHertz

// DefaultRevision is reg11 bits 3:0 when Opts.Revision is 0. [U]
const DefaultRevision = 0x05

// DefaultLineSideID is the Si3019's line-side ID in reg11 bits 7:4. [U]
const DefaultLineSideID = 0x3

// FrameDuration is the time one Transfer stands for.
const FrameDuration = 10 * time.Millisecond

// ErrInjected is returned by a transfer failed with FailSPI.
var ErrInjected = errors.New("si3050 model: injected SPI error")

const defaultLinkAccesses = 6

// Condition is the line's DC and ringing state as the DAA sees it.
type Condition struct {
	// Volts is the tip-ring DC voltage, negative when reversed.
	Volts float64
	// LoopMA is the loop current while the DAA is off hook.
	LoopMA float64
	// RingVrms and RingHz describe a ringing signal (0 when none).
	RingVrms, RingHz float64
}

// Line is what hangs on the DAA's tip and ring: a virtual central office.
// Its methods must not call back into the chip.
type Line interface {
	// Condition returns the line's state for the DAA's hook state at frame
	// seq.
	Condition(seq uint64, offHook bool) Condition
	// Audio is called once per frame. fromLine receives what the line
	// carries towards the DAA (zeroed before the call); toLine is what the
	// DAA sends to the line (zeros unless off hook). Neither may be
	// retained.
	Audio(seq uint64, offHook bool, toLine, fromLine []int16)
}

// Opts configures a Chip. The zero value is a healthy Si3050 + Si3019 at
// chain position 0.
type Opts struct {
	// Chain is the chip's daisy-chain position, 0-15.
	Chain int
	// Revision is reg11 bits 3:0; 0 selects DefaultRevision.
	Revision byte
	// LineSideID is the line-side device ID; 0 selects DefaultLineSideID.
	LineSideID byte
	// LinkAccesses is how many register accesses the line side takes to
	// answer after power-up; 0 selects 6.
	LinkAccesses int
	// NoLineSide models a missing line-side device or broken isolation
	// link: it never answers.
	NoLineSide bool
	// NoPCLK models a stopped PCM clock: the PLL never locks, reg2 reads 0.
	NoPCLK bool
	// Absent makes every read return AbsentValue: no chip on the bus.
	Absent      bool
	AbsentValue byte
	// Hybrid is the line's trans-hybrid echo path; the zero value is a
	// typical local loop (DefaultHybridLoss, DefaultHybridDelay).
	Hybrid Hybrid
}

// Chip is the model of one Si3050 with its line side. All state is guarded
// by one mutex, never held while a Line method runs.
type Chip struct {
	opts Opts
	mu   sync.Mutex
	line Line

	regs    [128]byte
	inReset bool
	link    int // accesses until the link is up; -1 up, 0 down and idle

	// Frame parser.
	pos      int
	ctl, adr byte

	// Line sensing.
	seq        uint64
	lvs        int
	validSince time.Duration
	lastValid  time.Duration
	rdt        bool

	fail       spimodel.Failures
	port       *spimodel.Port
	accesses   int
	violations []string
	from, to   []int16
	echo       []int16 // the hybrid's echo of to
	hy         hybridmodel.Path

	reset *pinmodel.Out
	irq   *pinmodel.In
}

// New returns a chip out of reset.
func New(opts Opts) *Chip {
	if opts.Revision == 0 {
		opts.Revision = DefaultRevision
	}
	if opts.LineSideID == 0 {
		opts.LineSideID = DefaultLineSideID
	}
	if opts.LinkAccesses <= 0 {
		opts.LinkAccesses = defaultLinkAccesses
	}
	c := &Chip{opts: opts, from: make([]int16, 80), to: make([]int16, 80), echo: make([]int16, 80)}
	opts.Hybrid.Apply(&c.hy)
	c.newPins()
	c.port = spimodel.NewPort(&spiSpec, spimodel.Target{
		Name: c.String(), Cycle: c.cycle, Abort: c.abort, TakeFailure: c.fail.Take,
	})
	c.resetRegs()
	return c
}

// String names the model.
func (c *Chip) String() string { return fmt.Sprintf("si3050-model/%d", c.opts.Chain) }

// Attach hangs l on the line (nil detaches).
func (c *Chip) Attach(l Line) {
	c.mu.Lock()
	c.line = l
	c.mu.Unlock()
}

// Reg returns register addr without side effects.
func (c *Chip) Reg(addr byte) byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[addr&0x7F]
}

// OffHook reports whether the DAA holds the line (reg5 OH).
func (c *Chip) OffHook() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offHook()
}

// LinkUp reports whether the line-side device answers.
func (c *Chip) LinkUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.link < 0
}

// Accesses counts complete register accesses addressed to this chip.
func (c *Chip) Accesses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accesses
}

// Violations lists what the host did that the real chip would not accept.
func (c *Chip) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// FailSPI makes the next n transfers on any connection fail with
// ErrInjected, as a broken bus would.
func (c *Chip) FailSPI(n int) { c.fail.Set(n) }

func (c *Chip) violate(format string, a ...any) {
	if len(c.violations) < 64 {
		c.violations = append(c.violations, fmt.Sprintf(format, a...))
	}
}

// resetRegs returns every register to its reset value. Caller holds mu.
func (c *Chip) resetRegs() {
	c.regs = [128]byte{}
	c.regs[2] = 0x03
	if c.opts.NoPCLK {
		c.regs[2] = 0
	}
	c.regs[6] = 0x10
	c.regs[11] = c.opts.Revision & 0x0F
	c.regs[22] = 0x96
	c.regs[23] = 0x2D
	c.regs[24] = 0x19
	c.link = 0
	c.pos = 0
	c.lvs = 0
	c.validSince = -1
	c.rdt = false
}

func (c *Chip) offHook() bool { return c.regs[5]&0x01 != 0 }

// Register kinds.
func known(a byte) bool {
	switch {
	case a >= 1 && a <= 6, a >= 9 && a <= 13, a >= 15 && a <= 26,
		a >= 28 && a <= 31, a >= 33 && a <= 41, a >= 43 && a <= 52, a == 59:
		return true
	}
	return false
}

func readOnly(a byte) bool {
	switch a {
	case 11, 12, 13, 28, 29:
		return true
	}
	return false
}

// cycle clocks one byte through the chip's frame parser and returns what the
// chip drives on SDO (0xFF when released).
func (c *Chip) cycle(b byte) byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inReset {
		return 0xFF
	}
	if c.opts.Absent {
		c.pos = (c.pos + 1) % 3
		return c.opts.AbsentValue
	}
	switch c.pos {
	case 0:
		c.ctl, c.pos = b, 1
		return 0xFF
	case 1:
		c.adr, c.pos = b, 2
		return 0xFF
	}
	c.pos = 0
	ctl, a := c.ctl, c.adr&0x7F
	if ctl&0x20 == 0 {
		c.violate("frame without the register-access bit: control 0x%02x", ctl)
		return 0xFF
	}
	broadcast := ctl&0x80 != 0
	read := ctl&0x40 != 0
	if !broadcast && ctl&0x0F != chainBits(c.opts.Chain) {
		return 0xFF // another chip's frame
	}
	if broadcast && read {
		c.violate("broadcast read of register %d", a)
		return 0xFF
	}
	c.accesses++
	c.tick()
	if read {
		if !known(a) {
			c.violate("read of unknown register %d", a)
		}
		return c.regs[a]
	}
	c.write(a, b)
	return 0xFF
}

func chainBits(n int) byte {
	var r byte
	for i := range 4 {
		if n&(1<<i) != 0 {
			r |= 0x08 >> i
		}
	}
	return r
}

// abort drops a half-received frame.
func (c *Chip) abort() {
	c.mu.Lock()
	c.pos = 0
	c.mu.Unlock()
}

// tick advances register-access time: the line-side link. Caller holds mu.
func (c *Chip) tick() {
	if c.link > 0 {
		c.link--
		if c.link == 0 {
			c.link = -1
			c.regs[11] = c.opts.LineSideID<<4 | c.opts.Revision&0x0F
			c.regs[13] = 0x02 << 2
			c.regs[12] |= 0x40
		}
	}
}

// write performs a register write. Caller holds mu.
func (c *Chip) write(a, v byte) {
	switch {
	case !known(a):
		c.violate("write 0x%02x to unknown register %d", v, a)
		return
	case readOnly(a):
		c.violate("write 0x%02x to read-only register %d", v, a)
		return
	}
	switch a {
	case 1:
		if v&0x80 != 0 {
			c.resetRegs()
			return
		}
		c.regs[1] = v
	case 2:
		if c.opts.NoPCLK {
			return // no clock, no registers
		}
		c.regs[2] = v
	case 4:
		c.regs[4] &= v
	case 5:
		c.regs[5] = c.regs[5]&0x64 | v&^0x64
	case 6:
		c.regs[6] = v
		switch {
		case v&0x10 != 0:
			c.link = 0
			c.regs[11] &= 0x0F
			c.regs[12] &^= 0x40
		case c.link == 0 && !c.opts.NoLineSide && !c.opts.NoPCLK:
			c.link = c.opts.LinkAccesses
		}
	default:
		c.regs[a] = v
	}
}

// ringThreshold is the ring detect threshold in Vrms (centre of the
// datasheet's range for RT/RT2). Caller holds mu.
func (c *Chip) ringThreshold() float64 {
	rt, rt2 := c.regs[16]&1 != 0, c.regs[17]&0x10 != 0
	switch {
	case rt && rt2:
		return 45
	case rt:
		return 21.5
	}
	return 15
}

// sense updates the status registers from the line condition at time now.
// Caller holds mu.
func (c *Chip) sense(now time.Duration, cond Condition) {
	up := c.link < 0
	oh := c.offHook()
	monitor := oh || c.regs[5]&0x08 != 0
	lvs := 0
	if up && monitor {
		lvs = int(math.Round(cond.Volts))
		lvs = max(min(lvs, 127), -127)
	}
	old := c.lvs
	if (old >= 3 && lvs <= -3) || (old <= -3 && lvs >= 3) {
		c.regs[4] |= 0x01 // POLI
	}
	if abs(old) >= 3 && abs(lvs) < 3 {
		c.regs[4] |= 0x10 // BTDI
	}
	c.lvs = lvs
	c.regs[29] = byte(int8(lvs))
	lcs, lcs2 := 0, 0
	if up && oh {
		lcs = min(int(math.Round(cond.LoopMA/3.3)), 31)
		lcs2 = min(int(math.Round(cond.LoopMA/1.1)), 255)
		if lcs == 31 && c.regs[12]&0x1F != 31 {
			c.regs[4] |= 0x04 // LCSOI
		}
		if lcs == 0 && c.regs[12]&0x1F != 0 {
			c.regs[4] |= 0x08 // DODI
		}
	}
	c.regs[12] = c.regs[12]&^0x1F | byte(lcs)
	c.regs[28] = byte(lcs2)

	// Ring detector.
	raw := up && !oh && cond.RingVrms >= c.ringThreshold() && cond.RingHz > 0
	r5 := c.regs[5] &^ 0x64
	if raw {
		if math.Sin(2*math.Pi*cond.RingHz*now.Seconds()+0.5) >= 0 {
			r5 |= 0x20 // RDTP
		} else {
			r5 |= 0x40 // RDTN
		}
	}
	if c.regs[24]&0x80 == 0 {
		c.setRDT(raw)
	} else {
		ras := float64(c.regs[24] & 0x3F)
		rmx := float64(c.regs[22] & 0x3F)
		half := 500 / math.Max(cond.RingHz, 1e-3) // ms between events
		valid := raw && half <= ras*2 && half >= (ras-rmx)*2
		rcc := [...]int{100, 150, 200, 256, 384, 512, 640, 1024}[c.regs[23]&7]
		rdly := int(c.regs[22]>>6) | int(c.regs[23]>>7)<<2
		rto := time.Duration(c.regs[23]>>3&0x0F) * 128 * time.Millisecond
		if valid {
			c.lastValid = now
			if c.validSince < 0 {
				c.validSince = now
			}
			if now-c.validSince >= time.Duration(rcc+256*rdly)*time.Millisecond {
				c.setRDT(true)
			}
		} else {
			c.validSince = -1
			if c.rdt && now-c.lastValid >= rto {
				c.setRDT(false)
			}
		}
	}
	if c.rdt {
		r5 |= 0x04
	}
	c.regs[5] = r5
}

// setRDT changes the ring detect state, raising RDTI at the start (and the
// end with reg2 RDI). Caller holds mu.
func (c *Chip) setRDT(on bool) {
	if on == c.rdt {
		return
	}
	c.rdt = on
	if on || c.regs[2]&0x04 != 0 {
		c.regs[4] |= 0x80
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// irqAsserted reports whether an enabled interrupt is pending. Caller
// holds mu.
func (c *Chip) irqAsserted() bool {
	return !c.inReset && c.regs[2]&0x80 != 0 && c.regs[3]&c.regs[4] != 0
}

// Transfer exchanges one PCM frame with the highway and advances line time
// by one frame: fromHost[ch] is what the host sends on channel ch, toHost[ch]
// receives what the chip captures. Channels the chip does not use are left
// alone.
func (c *Chip) Transfer(seq uint64, fromHost, toHost [][]int16) {
	c.mu.Lock()
	c.seq = seq
	l := c.line
	oh := c.offHook()
	c.mu.Unlock()
	var cond Condition
	if l != nil {
		cond = l.Condition(seq, oh)
	}
	c.mu.Lock()
	now := time.Duration(seq) * FrameDuration
	if !c.inReset {
		c.sense(now, cond)
	}
	n := 80
	for _, s := range fromHost {
		if s != nil {
			n = len(s)
			break
		}
	}
	if n > len(c.from) {
		c.from, c.to, c.echo = make([]int16, n), make([]int16, n), make([]int16, n)
	}
	from, to, echo := c.from[:n], c.to[:n], c.echo[:n]
	clear(from)
	clear(to)
	up := !c.inReset && c.link < 0
	pcmOn := up && c.regs[33]&0x20 != 0
	pcmf := c.regs[33] >> 3 & 3
	oh = c.offHook()
	monitor := oh || c.regs[5]&0x08 != 0
	tx, rx := c.channel(34, len(toHost)), c.channel(36, len(fromHost))
	if pcmOn && oh && rx >= 0 && fromHost[rx] != nil {
		g := c.gain(38, 40)
		for i, v := range fromHost[rx][:min(n, len(fromHost[rx]))] {
			to[i] = decode(pcmf, v)
			if g != 1 {
				to[i] = hybridmodel.Sat(float32(to[i]) * g)
			}
		}
	}
	rxGain := c.gain(39, 41)
	// The hybrid hears what goes to the line (silence on hook).
	c.hy.Echo(echo, to)
	talk := oh && up && c.hy.On()
	c.mu.Unlock()

	if l != nil {
		l.Audio(seq, oh && up, to, from)
	}
	if talk {
		for i, e := range echo {
			from[i] = hybridmodel.Sat(float32(from[i]) + float32(e))
		}
	}
	if rxGain != 1 {
		for i, v := range from {
			from[i] = hybridmodel.Sat(float32(v) * rxGain)
		}
	}
	if !pcmOn || tx < 0 || toHost[tx] == nil {
		return
	}
	out := toHost[tx]
	if !monitor {
		clear(out)
		return
	}
	for i := range out {
		v := int16(0)
		if i < n {
			v = from[i]
		}
		out[i] = encode(pcmf, v)
	}
}

// gain returns the linear factor of the digital gain stage in registers
// whole and tenths (bits 3:0 the size, bit 4 attenuation). Caller holds
// mu.
func (c *Chip) gain(whole, tenths byte) float32 {
	db := 0.0
	for _, r := range [...]struct {
		v    byte
		unit float64
	}{{c.regs[whole], 1}, {c.regs[tenths], 0.1}} {
		step := float64(r.v&0x0F) * r.unit
		if r.v&0x10 != 0 {
			step = -step
		}
		db += step
	}
	if db == 0 {
		return 1
	}
	return float32(math.Pow(10, db/20))
}

// channel returns the channel at start count reg lo/lo+1, or -1 when it is
// not on a 16-bit boundary or beyond n. Caller holds mu.
func (c *Chip) channel(lo byte, n int) int {
	count := int(c.regs[lo]) | int(c.regs[lo+1]&0x03)<<8
	if count%16 != 0 || count/16 >= n {
		return -1
	}
	return count / 16
}

func encode(pcmf byte, v int16) int16 {
	switch pcmf {
	case 0:
		return int16(uint16(dsp.AlawEncode(v)) << 8)
	case 1:
		return int16(uint16(dsp.MulawEncode(v)) << 8)
	}
	return v
}

func decode(pcmf byte, v int16) int16 {
	switch pcmf {
	case 0:
		return dsp.AlawDecode(byte(uint16(v) >> 8))
	case 1:
		return dsp.MulawDecode(byte(uint16(v) >> 8))
	}
	return v
}
