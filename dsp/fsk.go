package dsp

import (
	"fmt"
	"math"
)

// FSK modems for on-hook data (caller ID): Bell 202 and ITU-T V.23 forward
// channel, both 1200 baud, asynchronous 8N1 characters sent LSB first
// (Telcordia GR-30-CORE; ETSI EN 300 659-1 and ITU-T V.23).

// FSKStandard selects the modem.
type FSKStandard int

const (
	// Bell202 is Bell 202: mark (1) 1200 Hz, space (0) 2200 Hz; used for
	// caller ID in North America (Telcordia GR-30-CORE).
	Bell202 FSKStandard = iota + 1
	// V23 is the ITU-T V.23 forward channel: mark 1300 Hz, space 2100 Hz;
	// used by ETSI caller ID (EN 300 659-1), the UK (SIN 227) and Japan.
	V23
)

// FSKBaud is the bit rate of both modems.
const FSKBaud = 1200

// String returns "bell202" or "v23".
func (s FSKStandard) String() string {
	switch s {
	case Bell202:
		return "bell202"
	case V23:
		return "v23"
	}
	return fmt.Sprintf("fsk(%d)", int(s))
}

// Freqs returns the mark (binary 1) and space (binary 0) frequencies in Hz;
// ok is false for an unknown standard.
func (s FSKStandard) Freqs() (mark, space float64, ok bool) {
	switch s {
	case Bell202:
		return 1200, 2200, true
	case V23:
		return 1300, 2100, true
	}
	return 0, 0, false
}

// FSKTx is a continuous-phase FSK modulator fed with bits and characters.
// Queueing allocates (the queue grows); Fill does not.
type FSKTx struct {
	mark, space float64 // cycles per sample
	amp         float64
	bits        []byte // queued bits, one per byte (0 or 1)
	pos         int    // next bit in bits
	acc         int    // bit clock: units of 1/(SampleRate*FSKBaud) s
	phase       float64
}

// NewFSKTx returns a modulator for std whose tone level is level dBm0
// (caller ID is sent at about −13.5 dBm0 in North America, −13 dBm0 in
// Europe).
func NewFSKTx(std FSKStandard, level float64) (*FSKTx, error) {
	m, s, ok := std.Freqs()
	if !ok {
		return nil, fmt.Errorf("new fsk modulator: unknown standard %d", int(std))
	}
	if math.IsNaN(level) || level > dBm0Offset {
		return nil, fmt.Errorf("new fsk modulator level %v dBm0: %w", level, ErrLevel)
	}
	return &FSKTx{mark: m / SampleRate, space: s / SampleRate, amp: DBm0ToAmplitude(level)}, nil
}

// QueueSeizure queues n bits of channel seizure: alternating 0 and 1,
// starting with 0 (GR-30: 300 bits; EN 300 659-1: 300 bits).
func (t *FSKTx) QueueSeizure(n int) {
	for i := range n {
		t.bits = append(t.bits, byte(i&1))
	}
}

// QueueMarks queues n mark (1) bits.
func (t *FSKTx) QueueMarks(n int) {
	for range n {
		t.bits = append(t.bits, 1)
	}
}

// QueueBytes queues each byte as an asynchronous character: a start bit
// (0), eight data bits LSB first and stop bits (1), stop ≥ 1.
func (t *FSKTx) QueueBytes(b []byte, stop int) {
	stop = max(stop, 1)
	for _, c := range b {
		t.bits = append(t.bits, 0)
		for k := range 8 {
			t.bits = append(t.bits, (c>>k)&1)
		}
		for range stop {
			t.bits = append(t.bits, 1)
		}
	}
}

// Busy reports whether bits remain to be sent.
func (t *FSKTx) Busy() bool { return t.pos < len(t.bits) }

// Remaining returns the number of samples needed to send the queued bits.
func (t *FSKTx) Remaining() int {
	units := (len(t.bits)-t.pos)*SampleRate - t.acc
	return (units + FSKBaud - 1) / FSKBaud
}

// Fill writes the next samples into dst and returns how many carry signal;
// the rest of dst (after the last bit) is silence. It does not allocate.
func (t *FSKTx) Fill(dst []int16) int {
	n := 0
	for i := range dst {
		if t.pos >= len(t.bits) {
			clear(dst[i:])
			break
		}
		f := t.space
		if t.bits[t.pos] != 0 {
			f = t.mark
		}
		dst[i] = saturate(t.amp * math.Sin(2*math.Pi*t.phase))
		t.phase += f
		if t.phase >= 1 {
			t.phase--
		}
		n++
		t.acc += FSKBaud
		if t.acc >= SampleRate {
			t.acc -= SampleRate
			t.pos++
		}
	}
	if t.pos >= len(t.bits) {
		t.bits, t.pos = t.bits[:0], 0
	}
	return n
}

// fskWin is the correlator length in samples: one bit period, rounded.
const fskWin = 7

// fskMinPower is the weakest signal (dBm0) the demodulator accepts.
const fskMinPower = -48

// FSKRx demodulates 1200-baud FSK into asynchronous characters. The input
// is band-limited (2nd-order Butterworth high-pass at 0.8×mark, low-pass at
// 1.2×space; this halves the failures at 16 dB SNR), then each sample is correlated with the mark and space frequencies over the last
// bit period (non-coherent quadrature detection); the sign of the energy
// difference, low-pass filtered, is the bit. A UART state machine finds
// start bits, samples each bit in its middle and checks the stop bit.
// Create one with NewFSKRx. It is not safe for concurrent use and does not
// allocate in Process when out has spare capacity.
type FSKRx struct {
	wM, wS     complex128 // per-sample phasor rotation at mark and space
	pM, pS     complex128 // current phasors
	ringM      [fskWin]complex128
	ringS      [fskWin]complex128
	ringP      [fskWin]float64
	sumM, sumS complex128
	sumP       float64
	idx        int
	n          int // samples processed, for periodic renormalisation
	minPow     float64
	hp, lp     biquad // band-limiting prefilter
	// UART
	state   int // 0 hunt (need marks), 1 idle mark, 2 in character
	marks   int // consecutive mark samples while hunting
	acc     int // bit clock within the character
	bit     int // bits sampled in the character (0 = start)
	char    byte
	lastBit byte
	hist    byte // last three raw decisions, newest in bit 0
	carrier bool
}

// NewFSKRx returns a demodulator for std.
func NewFSKRx(std FSKStandard) (*FSKRx, error) {
	m, s, ok := std.Freqs()
	if !ok {
		return nil, fmt.Errorf("new fsk demodulator: unknown standard %d", int(std))
	}
	r := &FSKRx{}
	r.wM = complex(math.Cos(2*math.Pi*m/SampleRate), -math.Sin(2*math.Pi*m/SampleRate))
	r.wS = complex(math.Cos(2*math.Pi*s/SampleRate), -math.Sin(2*math.Pi*s/SampleRate))
	a := DBm0ToAmplitude(fskMinPower)
	r.minPow = a * a / 2
	r.hp = highpass(m*0.8, 0.7071)
	r.lp = lowpass(s*1.2, 0.7071)
	r.Reset()
	return r, nil
}

// Reset forgets all state.
func (r *FSKRx) Reset() {
	hp, lp := r.hp, r.lp
	hp.z1, hp.z2, lp.z1, lp.z2 = 0, 0, 0, 0
	*r = FSKRx{wM: r.wM, wS: r.wS, minPow: r.minPow, pM: 1, pS: 1, hp: hp, lp: lp}
}

// Carrier reports whether an FSK signal was present at the last sample.
func (r *FSKRx) Carrier() bool { return r.carrier }

// Process demodulates samples and appends every complete character (stop
// bit valid) to out, returning it.
func (r *FSKRx) Process(samples []int16, out []byte) []byte {
	for _, s := range samples {
		x := r.lp.step(r.hp.step(float64(s)))
		cm := complex(x, 0) * r.pM
		cs := complex(x, 0) * r.pS
		r.pM *= r.wM
		r.pS *= r.wS
		r.sumM += cm - r.ringM[r.idx]
		r.sumS += cs - r.ringS[r.idx]
		r.sumP += x*x - r.ringP[r.idx]
		r.ringM[r.idx], r.ringS[r.idx], r.ringP[r.idx] = cm, cs, x*x
		r.idx++
		if r.idx == fskWin {
			r.idx = 0
		}
		r.n++
		if r.n&1023 == 0 {
			r.renorm()
		}
		em := real(r.sumM)*real(r.sumM) + imag(r.sumM)*imag(r.sumM)
		es := real(r.sumS)*real(r.sumS) + imag(r.sumS)*imag(r.sumS)
		// Carrier: enough power, most of it at the two frequencies.
		pow := r.sumP / fskWin
		tone := 2 * (em + es) / (fskWin * fskWin)
		r.carrier = pow >= r.minPow && tone >= 0.4*pow
		var b byte
		if em > es {
			b = 1
		}
		out = r.uart(b, out)
	}
	return out
}

// renorm rescales the phasors to unit length and recomputes the sums from
// the rings, removing accumulated rounding.
func (r *FSKRx) renorm() {
	r.pM /= complex(cmplxAbs(r.pM), 0)
	r.pS /= complex(cmplxAbs(r.pS), 0)
	r.sumM, r.sumS, r.sumP = 0, 0, 0
	for k := range fskWin {
		r.sumM += r.ringM[k]
		r.sumS += r.ringS[k]
		r.sumP += r.ringP[k]
	}
}

func cmplxAbs(c complex128) float64 { return math.Hypot(real(c), imag(c)) }

// UART states.
const (
	uartHunt = iota
	uartIdle
	uartChar
)

// majority3 maps three decisions (bits 0-2) to their majority.
var majority3 = [8]byte{0, 0, 0, 1, 0, 1, 1, 1}

// uartMarks is how many mark samples (~10 bits) must precede the first
// start bit, so that the channel seizure's alternation is not taken for
// characters.
const uartMarks = 10 * SampleRate / FSKBaud

func (r *FSKRx) uart(b byte, out []byte) []byte {
	r.hist = (r.hist<<1 | b) & 7
	if !r.carrier {
		r.state, r.marks = uartHunt, 0
		r.lastBit = b
		return out
	}
	switch r.state {
	case uartHunt:
		if b == 1 {
			r.marks++
			if r.marks >= uartMarks {
				r.state = uartIdle
			}
		} else {
			r.marks = 0
		}
	case uartIdle:
		if b == 0 {
			// Start bit edge: any space while idle (so a false start
			// re-arms at once and a late stop bit costs no character).
			// Bits are taken by a majority of three decisions centred on
			// the middle of each bit; the majority lags one sample, so
			// the first vote ends a half bit plus one sample from now.
			r.state = uartChar
			r.acc = SampleRate/2 - FSKBaud
			r.bit = 0
			r.char = 0
		}
	case uartChar:
		r.acc += FSKBaud
		if r.acc >= SampleRate {
			r.acc -= SampleRate
			v := majority3[r.hist]
			switch {
			case r.bit == 0:
				if v != 0 { // false start
					r.state = uartIdle
				}
			case r.bit <= 8:
				r.char |= v << (r.bit - 1)
			default:
				if v == 1 {
					out = append(out, r.char)
					r.state = uartIdle
				} else { // framing error: wait for marks again
					r.state, r.marks = uartHunt, 0
				}
			}
			r.bit++
		}
	}
	r.lastBit = b
	return out
}

// biquad is a second-order IIR section (transposed direct form II).
type biquad struct {
	b0, b1, b2, a1, a2 float64
	z1, z2             float64
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.z1
	f.z1 = f.b1*x - f.a1*y + f.z2
	f.z2 = f.b2*x - f.a2*y
	return y
}

// lowpass and highpass design biquads by the bilinear transform (the
// "Audio EQ Cookbook" formulas) for cut-off fc Hz and quality q.
func lowpass(fc, q float64) biquad {
	w := 2 * math.Pi * fc / SampleRate
	alpha := math.Sin(w) / (2 * q)
	c := math.Cos(w)
	a0 := 1 + alpha
	return biquad{b0: (1 - c) / 2 / a0, b1: (1 - c) / a0, b2: (1 - c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0}
}

func highpass(fc, q float64) biquad {
	w := 2 * math.Pi * fc / SampleRate
	alpha := math.Sin(w) / (2 * q)
	c := math.Cos(w)
	a0 := 1 + alpha
	return biquad{b0: (1 + c) / 2 / a0, b1: -(1 + c) / a0, b2: (1 + c) / 2 / a0, a1: -2 * c / a0, a2: (1 - alpha) / a0}
}
