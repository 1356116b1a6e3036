package dsp

import "math"

// Answer-tone detector geometry and thresholds. A block is 80 samples
// (10 ms): 2100 Hz and 1100 Hz are then exactly bins 21 and 11 of its DFT
// (whole cycles), so a steady tone keeps its phase from block to block and
// a phase reversal shows as a jump of π.
const (
	atBlock      = 80
	atBinANS     = 21                            // 2100 Hz
	atBinCNG     = 11                            // 1100 Hz
	atPurity     = 0.5                           // share of the block's power in the bin
	atMinLevel   = -40.0                         // dBm0: quieter blocks are not tone
	atHoldLevel  = -36.0                         // dBm0: signal that holds the NLP off
	atANSBlocks  = 20                            // 200 ms of 2100 Hz: answer tone
	atCNGBlocks  = 30                            // 300 ms of 1100 Hz: fax calling tone
	atGap        = 2                             // blocks of dropout a tone survives
	atRevHold    = 20                            // blocks between two reversals at least
	atRevMinRun  = 10                            // 2100 Hz for 100 ms before a reversal counts
	atRevAngle   = math.Pi / 2                   // phase jump (beyond the drift) of a reversal
	atHoldBlocks = 25                            // 250 ms below atHoldLevel release the hold
	atSinePower  = 22702.0 * 22702.0 / 2         // per-sample power of a 0 dBm0 sine
	atMinPower   = atSinePower * 1e-4            // −40 dBm0
	atHoldPower  = atSinePower * 2.5118864315e-4 // −36 dBm0
)

// atTable holds cos and sin of 2π·bin·n/80 for the two bins.
var atTable = func() (t [2][atBlock][2]float32) {
	for i, bin := range [2]int{atBinANS, atBinCNG} {
		for n := range atBlock {
			a := 2 * math.Pi * float64(bin*n) / atBlock
			t[i][n] = [2]float32{float32(math.Cos(a)), float32(math.Sin(a))}
		}
	}
	return t
}()

// AnswerToneDetector listens for the tones that tell a voice path it
// carries a modem or a fax call:
//
//   - the 2100 Hz answer tone (ITU-T V.25 ANS, T.30 CED; V.8 ANSam is the
//     same tone amplitude-modulated at 15 Hz), reported after 200 ms;
//   - its phase reversals (every 450 ms in V.25 ANS with reversals and
//     ANSam), which ask echo cancellers to disable themselves (G.165,
//     G.168 tone disabler);
//   - the 1100 Hz fax calling tone (T.30 CNG: 0.5 s on, 3 s off),
//     reported after 300 ms.
//
// Tones are recognised from 10 ms blocks: a block holds a tone when at
// least half its power is in the tone's DFT bin and it is above −40 dBm0;
// a tone survives 20 ms of dropout (a reversal's own block loses power).
// A reversal is a phase jump of more than 90° beyond the tone's steady
// drift (a tone off 2100 Hz by up to ±21 Hz turns by up to 76° per
// block), seen between neighbouring blocks or across one weak block.
//
// Feed it the audio in any chunks; it never allocates. The zero value is
// ready. It is not safe for concurrent use.
type AnswerToneDetector struct {
	re, im   [2]float32 // running DFT sums of the current block (ANS, CNG)
	pow      float32    // running Σx² of the current block
	n        int        // samples in the current block
	x1, x2   complex64  // ANS bin of the last two blocks
	s1, s2   bool       // whether those blocks held 2100 Hz
	drift    complex64  // unit phase step per block of the current tone
	hasDrift bool

	runANS, gapANS int // blocks of 2100 Hz (with dropouts) and current dropout
	runCNG, gapCNG int
	revWait        int // blocks until another reversal may count
	quiet          int // consecutive blocks below atHoldLevel

	ans, cng, seenANS bool
	reversals         int
	blocks            uint64
}

// Reset forgets everything heard.
func (d *AnswerToneDetector) Reset() { *d = AnswerToneDetector{} }

// Process feeds audio to the detector.
func (d *AnswerToneDetector) Process(x []int16) {
	a, c := &atTable[0], &atTable[1]
	// The sums in registers, stored at each block's end and the call's
	// (the same arithmetic as on the fields: the same bits).
	ra, ia, rc, ic, pow, n := d.re[0], d.im[0], d.re[1], d.im[1], d.pow, d.n
	for _, v := range x {
		f := float32(v)
		ta, tc := &a[n], &c[n]
		ra += f * ta[0]
		ia -= f * ta[1]
		rc += f * tc[0]
		ic -= f * tc[1]
		pow += f * f
		if n++; n == atBlock {
			d.re, d.im, d.pow, d.n = [2]float32{ra, rc}, [2]float32{ia, ic}, pow, n
			d.block()
			ra, ia, rc, ic, pow, n = 0, 0, 0, 0, 0, 0
		}
	}
	d.re, d.im, d.pow, d.n = [2]float32{ra, rc}, [2]float32{ia, ic}, pow, n
}

// ANS reports whether a 2100 Hz answer tone is sounding now (for at least
// 200 ms, with or without reversals or modulation).
func (d *AnswerToneDetector) ANS() bool { return d.ans }

// HeardANS reports whether an answer tone was recognised since Reset.
func (d *AnswerToneDetector) HeardANS() bool { return d.seenANS }

// CNG reports whether the 1100 Hz fax calling tone was recognised since
// Reset.
func (d *AnswerToneDetector) CNG() bool { return d.cng }

// Reversals returns the phase reversals counted in 2100 Hz since Reset.
func (d *AnswerToneDetector) Reversals() int { return d.reversals }

// Holding reports whether signal has stayed above −36 dBm0, without 250 ms
// below it, since an answer tone was recognised: the time a G.164/G.168
// tone disabler holds (data follows the answer tone).
func (d *AnswerToneDetector) Holding() bool {
	return d.seenANS && d.quiet < atHoldBlocks
}

// block evaluates one 10 ms block.
func (d *AnswerToneDetector) block() {
	d.blocks++
	p := d.pow / atBlock // mean power per sample
	xa := complex(d.re[0], d.im[0])
	ma := d.re[0]*d.re[0] + d.im[0]*d.im[0]
	mc := d.re[1]*d.re[1] + d.im[1]*d.im[1]
	// A sine of amplitude A gives |X|² = (A·N/2)² and Σx² = A²·N/2.
	norm := float32(atBlock) * d.pow / 2
	loud := p >= atMinPower
	ans := loud && ma >= atPurity*norm
	cng := loud && mc >= atPurity*norm
	d.re, d.im, d.pow, d.n = [2]float32{}, [2]float32{}, 0, 0

	if p >= atHoldPower {
		d.quiet = 0
	} else if d.quiet < atHoldBlocks {
		d.quiet++
	}

	// 1100 Hz: CNG after 300 ms (latched).
	d.runCNG, d.gapCNG = run(cng, d.runCNG, d.gapCNG)
	if d.runCNG >= atCNGBlocks {
		d.cng = true
	}

	// 2100 Hz and its phase.
	d.runANS, d.gapANS = run(ans, d.runANS, d.gapANS)
	if d.runANS == 0 {
		d.hasDrift = false
		d.ans = false
	} else if d.runANS >= atANSBlocks {
		d.ans, d.seenANS = true, true
	}
	if d.revWait > 0 {
		d.revWait--
	}
	if ans {
		rev, steady := false, false
		if d.s1 {
			step := xa * conj(d.x1)
			if !d.hasDrift {
				d.drift, d.hasDrift = unit(step), true
			} else if math.Abs(phase(step*conj(d.drift))) > atRevAngle {
				rev = true
			} else {
				steady = true
				d.drift = unit(d.drift + 0.25*(unit(step)-d.drift))
			}
		}
		if !rev && !steady && d.s2 && d.hasDrift {
			// Across a block weakened by a reversal in its middle.
			rev = math.Abs(phase(xa*conj(d.x2)*conj(d.drift*d.drift))) > atRevAngle
		}
		if rev && d.revWait == 0 && d.runANS >= atRevMinRun {
			d.reversals++
			d.revWait = atRevHold
		}
	}
	d.x2, d.s2 = d.x1, d.s1
	d.x1, d.s1 = xa, ans
}

// run advances a tone's run of blocks: on extends it, and it survives
// atGap blocks without the tone.
func run(on bool, n, gap int) (int, int) {
	switch {
	case on:
		return n + 1, 0
	case n > 0 && gap < atGap:
		return n, gap + 1
	}
	return 0, 0
}

func conj(z complex64) complex64 { return complex(real(z), -imag(z)) }

func unit(z complex64) complex64 {
	m := float32(math.Hypot(float64(real(z)), float64(imag(z))))
	if m == 0 {
		return 1
	}
	return z / complex(m, 0)
}

func phase(z complex64) float64 { return math.Atan2(float64(imag(z)), float64(real(z))) }
