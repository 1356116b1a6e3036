package model

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/physic"

	"github.com/loopstart/loopstart/drivers/internal/hybridmodel"
	"github.com/loopstart/loopstart/drivers/internal/pinmodel"
	"github.com/loopstart/loopstart/drivers/internal/spimodel"
	"github.com/loopstart/loopstart/dsp"
)

// DefaultID is the reg0 value of the modelled part when Opts.ID is 0: part
// field 0, silicon revision 3 (C). Revisions 0 and 15 mean "no chip", below 2
// are too old for the driver.
const DefaultID = 0x03

// MaxSpeed is the highest SCLK the model accepts. [U] The datasheet limit is
// taken as 16 MHz (cycle time 62 ns), like the Si3050's 16.4 MHz.
const MaxSpeed = 16 * physic.MegaHertz

// Default timings, in register accesses.
const (
	defaultIndirectBusy        = 2
	defaultCalibrationAccesses = 16
	dcdcCalAccesses            = 4
	vbatStep                   = 0x20
	// feedVBAT is the VBAT reading (0.376 V/LSB) above which the linefeed
	// can supply loop current (about 48 V).
	feedVBAT = 0x80
)

// Terminal is what hangs on the tip/ring pair: a virtual phone.
type Terminal interface {
	// LoopClosed reports whether the terminal closes the DC loop (is off
	// hook). It may be called from any goroutine and must not call back into
	// the chip.
	LoopClosed() bool
	// Ring is called when ringing voltage appears (true) or disappears (false).
	Ring(on bool)
	// Audio is called once per PCM frame. earpiece holds what the line
	// delivers to the phone (zeros when the feed carries no audio: open,
	// ringing, no battery); the phone writes its microphone audio into mouth
	// (same length, zeroed before the call). Neither slice may be retained.
	Audio(seq uint64, earpiece, mouth []int16)
}

// Opts configures a Chip. The zero value models a healthy Si3215.
type Opts struct {
	// ID is the value of reg0 (bits 5:4 part, 3:0 revision); 0 selects DefaultID.
	ID byte
	// Variant is the value of reg6 bits 7:5 ([U] part variant).
	Variant byte
	// Si3210 models an Si3210/Si3211: reg1 bit 7 reads 0. The Si3215 driver
	// must refuse it.
	Si3210 bool
	// StuckCalibration makes reg96 never clear (a failed calibration).
	StuckCalibration bool
	// NoDCDC keeps VBAT at 0 whatever the driver does (missing high voltage
	// supply or a broken converter).
	NoDCDC bool
	// CalibrationAccesses is how many register accesses calibration takes;
	// 0 selects 16.
	CalibrationAccesses int
	// IndirectBusy is how many further register accesses reg31 stays busy after
	// an indirect access starts; 0 selects 2.
	IndirectBusy int
	// StuckBusy makes reg31 never clear after an indirect access starts.
	StuckBusy bool
	// Absent makes every byte clocked out AbsentValue (0xFF: nothing on the
	// bus, 0x00: SDO shorted low): no chip answers.
	Absent      bool
	AbsentValue byte
	// Chain is the chip's daisy-chain position (0-7): in daisy-chain mode
	// (register 0 bit 7) it answers accesses whose chip-select byte has bit
	// Chain set.
	Chain int
	// Hybrid is the line's trans-hybrid echo path; the zero value is a
	// typical 600 Ω line (DefaultHybridLoss, DefaultHybridDelay).
	Hybrid Hybrid
}

// Chip is the model of one Si3215. Its SPI connection, pins and Transfer may be
// used from different goroutines; all state is guarded by one mutex, which is
// never held while a Terminal method runs.
type Chip struct {
	opts Opts

	mu   sync.Mutex
	term Terminal

	regs [128]byte
	ir   [256]uint16

	inReset bool

	// SPI byte protocol: a control byte waits for its data byte.
	pending bool
	cmd     byte

	// Indirect port.
	irBusy     int
	irWrite    bool
	irAddr     byte
	idaWritten bool

	calLeft     int // accesses until reg96 clears; <0: stuck
	dcdcCalLeft int

	rtp, lcr  bool
	ringShown bool // what the terminal was last told

	port *spimodel.Port

	ear, mouth []int16
	dec        []int16
	echo       []int16 // the hybrid's echo of ear
	hy         hybridmodel.Path

	accesses   int
	violations []string

	reset *pinmodel.Out
	irq   *pinmodel.In

	daisy bool // daisy-chain mode: a chip-select byte leads each access
	dpos  int  // byte position in a daisy frame
	dsel  bool // this chip is selected by the frame's chip-select byte
	fail  spimodel.Failures
}

// New returns a chip out of reset, with nothing attached to its line.
func New(opts Opts) *Chip {
	if opts.ID == 0 {
		opts.ID = DefaultID
	}
	if opts.CalibrationAccesses <= 0 {
		opts.CalibrationAccesses = defaultCalibrationAccesses
	}
	if opts.IndirectBusy <= 0 {
		opts.IndirectBusy = defaultIndirectBusy
	}
	c := &Chip{
		opts:  opts,
		ear:   make([]int16, 80),
		mouth: make([]int16, 80),
		dec:   make([]int16, 80),
		echo:  make([]int16, 80),
	}
	opts.Hybrid.Apply(&c.hy)
	c.newPins()
	c.port = spimodel.NewPort(&spiSpec, spimodel.Target{
		Name: c.String(), Cycle: c.cycle, Abort: c.abort, TakeFailure: c.fail.Take,
	})
	c.resetRegs()
	return c
}

// String names the model.
func (c *Chip) String() string { return "si3215-model" }

// Attach hangs t on the line (nil detaches).
func (c *Chip) Attach(t Terminal) {
	c.mu.Lock()
	c.term = t
	c.ringShown = false
	c.mu.Unlock()
}

// Linefeed returns the LF field of reg64.
func (c *Chip) Linefeed() uint8 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[64] & 7
}

// Reg returns direct register addr (0-127) without side effects.
func (c *Chip) Reg(addr byte) byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.regs[addr&0x7F]
}

// IndirectReg returns indirect register addr (Si3215 numbering).
func (c *Chip) IndirectReg(addr byte) uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ir[addr]
}

// Accesses returns how many register accesses (control+data byte pairs) the
// chip has seen since New.
func (c *Chip) Accesses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accesses
}

// Violations returns what the host did that a real chip would not accept:
// writes to unknown or read-only registers, indirect accesses while busy,
// unknown indirect addresses. A correct driver leaves it empty.
func (c *Chip) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// KnownIndirect reports whether addr is an indirect register of the Si3215
// that the model implements (oscillators 0-9, digital gains 13-14,
// thresholds, filters and biases 15-27, DC-DC minimum 64, low loop-closure
// threshold 66).
func KnownIndirect(addr byte) bool {
	switch {
	case addr <= 9, addr >= 13 && addr <= 27, addr == 64, addr == 66:
		return true
	}
	return false
}

// Direct register kinds.
const (
	kUnknown = iota
	kRW
	kRO
	kW1C
)

func regKind(a byte) int {
	switch {
	case a == 6, a == 31, a == 68, a >= 79 && a <= 83:
		return kRO
	case a >= 18 && a <= 20:
		return kW1C
	case a >= 1 && a <= 5, a >= 8 && a <= 11, a == 14, a == 15,
		a >= 21 && a <= 23, a >= 28 && a <= 30, a >= 32 && a <= 34,
		a >= 48 && a <= 51, a >= 63 && a <= 67, a >= 69 && a <= 75,
		a == 92, a == 93, a >= 96 && a <= 108:
		return kRW
	}
	return kUnknown
}

// resetRegs puts every register at its reset value. Caller holds mu (or
// owns c exclusively).
func (c *Chip) resetRegs() {
	c.regs = [128]byte{}
	c.ir = [256]uint16{}
	c.regs[0] = c.opts.ID
	c.regs[1] = 0x08 // µ-law, PCM off
	if !c.opts.Si3210 {
		c.regs[1] |= 0x80
	}
	c.regs[6] = c.opts.Variant << 5
	c.regs[8] = 0x02
	c.regs[11] = 0x33
	c.regs[14] = 0x10
	c.regs[67] = 0x1F
	c.regs[69] = 0x0A
	c.regs[70] = 0x0A
	c.regs[73] = 0x02
	c.regs[74] = 0x32
	c.regs[75] = 0x10
	c.regs[93] = 0x0C
	c.pending = false
	c.daisy, c.dpos = false, 0
	c.irBusy, c.idaWritten = 0, false
	c.calLeft, c.dcdcCalLeft = 0, 0
	c.rtp, c.lcr = false, false
}

// violate records a protocol violation. Caller holds mu.
func (c *Chip) violate(format string, a ...any) {
	if len(c.violations) < 64 {
		c.violations = append(c.violations, fmt.Sprintf(format, a...))
	}
}

// loopClosed asks the terminal, without holding mu.
func (c *Chip) loopClosed() bool {
	c.mu.Lock()
	t := c.term
	c.mu.Unlock()
	return t != nil && t.LoopClosed()
}

// ringEvent tells the terminal about a ringing change computed under mu.
// Called without mu.
func (c *Chip) ringEvent(t Terminal, ev int) {
	if t == nil || ev == 0 {
		return
	}
	t.Ring(ev > 0)
}

// feeding reports whether the linefeed supplies battery. Caller holds mu.
func (c *Chip) feeding() bool {
	if c.inReset || c.regs[82] < feedVBAT {
		return false
	}
	switch c.regs[64] & 7 {
	case 1, 2, 5, 6:
		return true
	}
	return false
}

// setLinefeed sets LF and its shadow. Caller holds mu.
func (c *Chip) setLinefeed(lf byte) {
	lf &= 7
	c.regs[64] = lf | lf<<4
}

// sense updates hook and ring trip from the terminal state and returns a
// ringing change for the terminal (+1 on, -1 off, 0 none). Caller holds mu.
func (c *Chip) sense(closed bool) int {
	lcr, rtp := false, false
	if !c.inReset && c.regs[82] >= feedVBAT {
		switch c.regs[64] & 7 {
		case 1, 2, 5, 6:
			lcr = closed
		case 4:
			rtp = closed
		}
	}
	if rtp && !c.rtp {
		c.regs[19] |= 0x01
		if c.regs[67]&0x04 != 0 {
			// Auto ring trip: the chip leaves ringing by itself.
			c.setLinefeed(1)
			rtp = false
			lcr = closed
		}
	}
	if lcr != c.lcr {
		c.regs[19] |= 0x02
	}
	c.lcr, c.rtp = lcr, rtp
	var v byte
	if lcr {
		v |= 1
	}
	if rtp {
		v |= 2
	}
	c.regs[68] = v
	// Analog readouts: loop current (1.1 mA/LSB, 25 mA when the loop is
	// closed), tip and ring voltages (0.376 V/LSB) from the feed.
	c.regs[79], c.regs[80], c.regs[81] = 0, 0, 0
	if lcr {
		c.regs[79] = 23
	}
	if c.feeding() {
		vb := c.regs[82]
		if lcr {
			vb = 0x18 // about 9 V across an off-hook phone
		}
		if c.regs[64]&4 != 0 { // reverse polarity
			c.regs[80] = vb
		} else {
			c.regs[81] = vb
		}
	}

	ring := !c.inReset && c.regs[64]&7 == 4 && c.regs[82] >= feedVBAT && c.ir[8] != 0
	if c.term == nil || ring == c.ringShown {
		return 0
	}
	c.ringShown = ring
	if ring {
		return 1
	}
	return -1
}

// tick advances model time by one register access. Caller holds mu.
func (c *Chip) tick() {
	c.accesses++
	if c.irBusy > 0 && !c.opts.StuckBusy {
		c.irBusy--
		if c.irBusy == 0 {
			if c.irWrite {
				c.ir[c.irAddr] = uint16(c.regs[28]) | uint16(c.regs[29])<<8
			} else {
				v := c.ir[c.irAddr]
				c.regs[28], c.regs[29] = byte(v), byte(v>>8)
			}
			c.regs[20] |= 0x02
		}
	}
	if c.irBusy > 0 {
		c.regs[31] = 1
	} else {
		c.regs[31] = 0
	}
	if c.calLeft > 0 {
		c.calLeft--
		if c.calLeft == 0 {
			c.regs[96] = 0
		}
	}
	if c.dcdcCalLeft > 0 {
		c.dcdcCalLeft--
		if c.dcdcCalLeft == 0 {
			c.regs[93] &^= 0x80
			c.regs[107] = 0x08
		}
	}
	target := byte(0)
	if c.regs[14]&0x10 == 0 && c.regs[92] != 0 && !c.opts.NoDCDC {
		t := int(c.regs[74]) * 1500 / 376
		if t > 255 {
			t = 255
		}
		target = byte(t)
	}
	switch v := c.regs[82]; {
	case v < target:
		c.regs[82] = v + min(vbatStep, target-v)
	case v > target:
		c.regs[82] = v - min(vbatStep, v-target)
	}
}

// read performs a register read. Caller holds mu.
func (c *Chip) read(a byte) byte {
	return c.regs[a]
}

// write performs a register write. Caller holds mu.
func (c *Chip) write(a, v byte) {
	if a == 0 {
		// Register 0 is read-only but for bit 7, daisy-chain enable.
		if v&0x80 != 0 {
			c.daisy = true
			c.regs[0] |= 0x80
		} else if v != 0 {
			c.violate("write 0x%02x to register 0 (only bit 7, daisy chain, is writable)", v)
		}
		return
	}
	switch regKind(a) {
	case kUnknown:
		c.violate("write 0x%02x to unknown register %d", v, a)
		return
	case kRO:
		c.violate("write 0x%02x to read-only register %d", v, a)
		return
	case kW1C:
		c.regs[a] &^= v
		return
	}
	switch a {
	case 1:
		c.regs[1] = c.regs[1]&0x80 | v&0x7F
	case 28, 29:
		if c.irBusy > 0 {
			c.violate("write to register %d while indirect access busy", a)
			return
		}
		c.regs[a] = v
		c.idaWritten = true
	case 30:
		if c.irBusy > 0 {
			c.violate("write to register 30 while indirect access busy")
			return
		}
		if !KnownIndirect(v) {
			c.violate("indirect access to unknown indirect register %d", v)
		}
		c.regs[30] = v
		c.irAddr = v
		c.irWrite = c.idaWritten
		c.idaWritten = false
		c.irBusy = c.opts.IndirectBusy
		c.regs[31] = 1
	case 64:
		c.setLinefeed(v)
	case 93:
		c.regs[93] = v
		if v&0x80 != 0 {
			c.dcdcCalLeft = dcdcCalAccesses
		}
	case 96:
		c.regs[96] = v
		switch {
		case v == 0:
			c.calLeft = 0
		case c.opts.StuckCalibration:
			c.calLeft = -1
		default:
			c.calLeft = c.opts.CalibrationAccesses
		}
	default:
		c.regs[a] = v
	}
}

// access runs one complete register access (the data byte of a control+data
// pair) and returns the byte the chip clocks out.
func (c *Chip) access(cmd, data byte) byte {
	closed := c.loopClosed()
	c.mu.Lock()
	if c.inReset {
		c.mu.Unlock()
		return 0xFF
	}
	c.tick()
	ev := c.sense(closed)
	ev2 := 0
	var out byte
	a := cmd & 0x7F
	if cmd&0x80 != 0 {
		out = c.read(a)
	} else {
		c.write(a, data)
		ev2 = c.sense(closed)
	}
	t := c.term
	c.mu.Unlock()
	c.ringEvent(t, ev)
	c.ringEvent(t, ev2)
	return out
}

// irqAsserted reports whether an enabled interrupt is pending. Caller holds mu.
func (c *Chip) irqAsserted() bool {
	return c.regs[18]&c.regs[21]|c.regs[19]&c.regs[22]|c.regs[20]&c.regs[23] != 0
}

// Transfer exchanges one PCM frame with the highway: fromHost[ch] holds what
// the host sends on channel ch, toHost[ch] receives what the chips capture
// (nil slices are skipped). The chip uses its RX and TX channels (start count
// / 16) only when PCM is enabled in 16-bit linear format; it leaves other
// channels untouched. The terminal's Audio is called once per call. Transfer
// is called from one goroutine (the highway's) and does not allocate once the
// frame size is known (80 samples are preallocated).
func (c *Chip) Transfer(seq uint64, fromHost, toHost [][]int16) {
	closed := c.loopClosed()
	c.mu.Lock()
	ev := c.sense(closed)
	n := frameLen(fromHost, toHost)
	if n > len(c.ear) {
		c.ear = make([]int16, n)
		c.mouth = make([]int16, n)
		c.dec = make([]int16, n)
		c.echo = make([]int16, n)
	}
	ear, mouth := c.ear[:n], c.mouth[:n]
	clear(ear)
	clear(mouth)
	pcmOn := !c.inReset && c.regs[1]&0x20 != 0 && c.regs[1]&0x18 != 0x10 && c.regs[8] == 0
	pcmf := c.regs[1] >> 3 & 3
	rx := c.channel(4, len(fromHost))
	tx := c.channel(2, len(toHost))
	// Audio reaches the phone while it draws loop current, or on hook in
	// the on-hook transmission states (caller ID, VMWI); an on-hook phone
	// on forward or reverse active hears nothing.
	lf := c.regs[64] & 7
	if pcmOn && rx >= 0 && c.feeding() && (c.lcr || lf == 2 || lf == 6) && fromHost[rx] != nil {
		src := fromHost[rx]
		if pcmf != 3 {
			m := min(len(src), len(c.dec))
			for i, v := range src[:m] {
				c.dec[i] = decode(pcmf, v)
			}
			src = c.dec[:m]
		}
		gain(ear, src, c.ir[13])
	}
	talk := pcmOn && c.lcr
	echo := c.echo[:n]
	c.hy.Echo(echo, ear)
	txGain := c.ir[14]
	t := c.term
	c.mu.Unlock()

	c.ringEvent(t, ev)
	if t != nil {
		t.Audio(seq, ear, mouth)
	}

	if !pcmOn || tx < 0 || toHost[tx] == nil {
		return
	}
	out := toHost[tx]
	if !talk {
		clear(out)
		return
	}
	if c.hy.On() {
		for i, e := range echo {
			mouth[i] = sat(float32(mouth[i]) + float32(e))
		}
	}
	gain(out, mouth, txGain)
	if pcmf != 3 {
		for i, v := range out {
			out[i] = encode(pcmf, v)
		}
	}
}

// encode puts a G.711 code (pcmf 0 A-law, 1 µ-law) in the word's high byte.
func encode(pcmf byte, v int16) int16 {
	if pcmf == 0 {
		return int16(uint16(dsp.AlawEncode(v)) << 8)
	}
	return int16(uint16(dsp.MulawEncode(v)) << 8)
}

func decode(pcmf byte, v int16) int16 {
	if pcmf == 0 {
		return dsp.AlawDecode(byte(uint16(v) >> 8))
	}
	return dsp.MulawDecode(byte(uint16(v) >> 8))
}

// PowerAlarm raises the power alarm of external transistor q (1-6):
// register 19 bit q+1, which the chip answers by opening the linefeed
// (its thermal protection).
func (c *Chip) PowerAlarm(q int) {
	if q < 1 || q > 6 {
		return
	}
	c.mu.Lock()
	c.regs[19] |= 1 << uint(q+1)
	c.setLinefeed(0)
	ev := c.sense(false)
	t := c.term
	c.mu.Unlock()
	c.ringEvent(t, ev)
}

// FailSPI makes the next n transfers fail with ErrInjected.
func (c *Chip) FailSPI(n int) { c.fail.Set(n) }

// channel returns the PCM channel from the start count at reg lo/lo+1, or -1
// when it is not on a 16-bit boundary or beyond n channels. Caller holds mu.
func (c *Chip) channel(lo byte, n int) int {
	count := int(c.regs[lo]) | int(c.regs[lo+1]&0x03)<<8
	if count%16 != 0 || count/16 >= n {
		return -1
	}
	return count / 16
}

func frameLen(a, b [][]int16) int {
	for _, s := range a {
		if s != nil {
			return len(s)
		}
	}
	for _, s := range b {
		if s != nil {
			return len(s)
		}
	}
	return 0
}

// gain writes src scaled by g/0x4000 (saturating) into dst.
func gain(dst, src []int16, g uint16) {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		v := int32(src[i]) * int32(g) >> 14
		switch {
		case v > 32767:
			v = 32767
		case v < -32768:
			v = -32768
		}
		dst[i] = int16(v)
	}
	clear(dst[n:])
}
