package dsp

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// DTMF frequencies (ITU-T Q.23): rows are the low group, columns the high group.
var (
	dtmfLow  = [4]float64{697, 770, 852, 941}
	dtmfHigh = [4]float64{1209, 1336, 1477, 1633}
)

// dtmfKeys is the keypad, indexed [low][high].
const dtmfKeys = "123A456B789C*0#D"

// DTMFFreqs returns the low- and high-group frequencies of a DTMF digit
// (0-9, *, #, A-D; a-d are accepted too). ok is false for anything else.
func DTMFFreqs(digit byte) (low, high float64, ok bool) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i := range len(dtmfKeys) {
		if dtmfKeys[i] == digit {
			return dtmfLow[i/4], dtmfHigh[i%4], true
		}
	}
	return 0, 0, false
}

// Errors returned (wrapped) by DTMFGen.Queue.
var (
	ErrQueueFull    = errors.New("dsp: dtmf queue full")
	ErrInvalidDigit = errors.New("dsp: invalid dtmf digit")
	ErrDuration     = errors.New("dsp: invalid dtmf duration")
	ErrLevel        = errors.New("dsp: invalid dtmf level")
)

// DTMFQueueLen is the number of digits a DTMFGen can hold.
const DTMFQueueLen = 64

// dtmfLowOffset is how much weaker, in dB, the low-group tone is generated
// than the high group (the usual pre-emphasis; within the 4 dB twist limit).
const dtmfLowOffset = 2

type dtmfItem struct {
	low, high       float64 // Hz
	ampLow, ampHigh float64
	on, total       int // samples
}

// DTMFGen generates queued DTMF digits. Its zero value is usable and idle.
// It is not safe for concurrent use.
type DTMFGen struct {
	q      [DTMFQueueLen]dtmfItem
	head   int
	count  int
	cur    dtmfItem
	active bool
	pos    int
	phLow  float64
	phHigh float64
}

// Queue appends digits to the generator's queue, each played as a tone burst
// of duration on followed by off silence. level is the high-group tone level
// in dBm0 (at most +3.17, full scale); the low-group tone is 2 dB lower.
// Either all digits are queued or, on error (invalid digit, level or
// duration, or not enough room in the DTMFQueueLen-digit queue), none. Queue does not
// allocate unless it returns an error.
func (g *DTMFGen) Queue(digits string, on, off time.Duration, level float64) error {
	if on <= 0 || off < 0 || durationSamples(on) == 0 || on > time.Hour || off > time.Hour {
		return fmt.Errorf("queue dtmf on %v off %v: %w", on, off, ErrDuration)
	}
	if math.IsNaN(level) || math.IsInf(level, 0) || level > dBm0Offset {
		return fmt.Errorf("queue dtmf level %v dBm0: %w", level, ErrLevel)
	}
	for i := range len(digits) {
		if _, _, ok := DTMFFreqs(digits[i]); !ok {
			return fmt.Errorf("queue dtmf %q at %d: %w", digits[i], i, ErrInvalidDigit)
		}
	}
	if g.count+len(digits) > DTMFQueueLen {
		return fmt.Errorf("queue %d dtmf digits with %d pending: %w", len(digits), g.count, ErrQueueFull)
	}
	onN := durationSamples(on)
	total := onN + durationSamples(off)
	ampHigh := DBm0ToAmplitude(level)
	ampLow := DBm0ToAmplitude(level - dtmfLowOffset)
	for i := range len(digits) {
		lo, hi, _ := DTMFFreqs(digits[i])
		g.q[(g.head+g.count)%DTMFQueueLen] = dtmfItem{
			low: lo, high: hi, ampLow: ampLow, ampHigh: ampHigh, on: onN, total: total,
		}
		g.count++
	}
	return nil
}

// Pause appends off of silence to the queue: the pause between two
// digits queued separately (a digit queued right behind another plays
// without one, and two tone bursts without a pause between them read as
// one key, or none, to a detector). It does not allocate unless it
// returns an error.
func (g *DTMFGen) Pause(off time.Duration) error {
	if off <= 0 || durationSamples(off) == 0 || off > time.Hour {
		return fmt.Errorf("queue dtmf pause %v: %w", off, ErrDuration)
	}
	if g.count+1 > DTMFQueueLen {
		return fmt.Errorf("queue a dtmf pause with %d pending: %w", g.count, ErrQueueFull)
	}
	g.q[(g.head+g.count)%DTMFQueueLen] = dtmfItem{total: durationSamples(off)}
	g.count++
	return nil
}

// Busy reports whether a digit is playing or queued.
func (g *DTMFGen) Busy() bool { return g.active || g.count > 0 }

// Fill overwrites dst with the next len(dst) samples (silence when idle).
// It does not allocate.
func (g *DTMFGen) Fill(dst []int16) { g.render(dst, false) }

// Add mixes the next len(dst) samples onto dst, saturating at the int16
// limits. It does not allocate.
func (g *DTMFGen) Add(dst []int16) { g.render(dst, true) }

func (g *DTMFGen) render(dst []int16, add bool) {
	// Each tone's sine comes from a phasor started at its phase and turned
	// by its step every sample (as ToneGen does): four trigonometric calls
	// per digit and call instead of two per sample. The phases still
	// advance exactly as before.
	var sl, cl, sh, ch, rsl, rcl, rsh, rch float64
	fresh := true
	for i := range dst {
		if !g.active {
			if g.count == 0 {
				if !add {
					clear(dst[i:])
				}
				return
			}
			g.cur = g.q[g.head]
			g.head = (g.head + 1) % DTMFQueueLen
			g.count--
			g.active = true
			g.pos = 0
			g.phLow, g.phHigh = 0, 0
			fresh = true
		}
		var v float64
		if g.pos < g.cur.on {
			if fresh {
				sl, cl = math.Sincos(2 * math.Pi * g.phLow)
				sh, ch = math.Sincos(2 * math.Pi * g.phHigh)
				rsl, rcl = math.Sincos(2 * math.Pi * g.cur.low / SampleRate)
				rsh, rch = math.Sincos(2 * math.Pi * g.cur.high / SampleRate)
				fresh = false
			}
			v = g.cur.ampLow*sl + g.cur.ampHigh*sh
			sl, cl = sl*rcl+cl*rsl, cl*rcl-sl*rsl
			sh, ch = sh*rch+ch*rsh, ch*rch-sh*rsh
			g.phLow += g.cur.low / SampleRate
			if g.phLow >= 1 {
				g.phLow--
			}
			g.phHigh += g.cur.high / SampleRate
			if g.phHigh >= 1 {
				g.phHigh--
			}
		}
		if add {
			v += float64(dst[i])
		}
		dst[i] = saturate(v)
		g.pos++
		if g.pos >= g.cur.total {
			g.active = false
		}
	}
}

// Detector parameters.
const (
	// dtmfBlock is the Goertzel window length: 102 samples (12.75 ms) gives
	// ~78 Hz bins, narrow enough to separate adjacent DTMF frequencies.
	dtmfBlock = 102
	// dtmfHop is the distance between window starts: two interleaved Goertzel
	// banks give half-overlapping windows, one result every 6.4 ms.
	dtmfHop = dtmfBlock / 2
	// dtmfMinLevel is the weakest tone (dBm0, per frequency) accepted.
	dtmfMinLevel = -36
	// dtmfNormalTwist: the low group may be this many dB stronger. Q.24
	// requires acceptance up to 8 dB; the 2 dB margin covers the estimate's
	// scatter (µ-law noise, the other tone's leakage, ±1.5 % offsets), which
	// at exactly 8 dB would otherwise reject about half the digits.
	dtmfNormalTwist = 10
	// dtmfReverseTwist: the high group may be this many dB stronger (Q.24:
	// accept 4 dB; same 2 dB margin).
	dtmfReverseTwist = 6
	// dtmfDominance: each tone must beat the others of its group by this
	// many dB. With 102-sample windows the leakage of 1336 Hz and of an
	// 8 dB stronger 941 Hz into the 1209 Hz filter adds up to about −8 dB,
	// so 6 dB leaves room for Q.24's twist.
	dtmfDominance = 6
	// dtmfPurity is the minimum fraction of the window's power that the two
	// tones must carry. It rejects speech, noise and off-frequency tones, and
	// windows only partly covered by a tone (the fraction falls in
	// proportion to the covered part).
	dtmfPurity = 0.7
	// dtmfGuard is the relative offset of the guard frequencies evaluated on
	// both sides of each detected tone: a tone nearer a guard than its
	// nominal frequency (off by more than dtmfGuard/2 = 2.5%) is rejected.
	dtmfGuard = 0.05
	// dtmfHoldPurity is the relaxed purity that keeps an already reported
	// digit alive (hysteresis, so a marginal tone is not reported twice);
	// dominance is relaxed to 4 dB and the guard check skipped likewise.
	dtmfHoldPurity = 0.5
	// dtmfConfirm consecutive windows must agree before a digit is
	// reported. A tone of 40 ms (320 samples) always covers at least four
	// whole windows; a 23 ms tone covers at most three windows by more than
	// 70%, so it cannot pass the purity check four times.
	dtmfConfirm = 4
	// dtmfRelease consecutive windows without the digit end it. A 10 ms
	// dropout spoils at most three windows and is bridged; a 40 ms pause
	// spoils at least seven.
	dtmfRelease = 4
)

// DTMFDetector finds DTMF digits in 8 kHz linear audio. It runs Goertzel
// filters for the eight DTMF frequencies over half-overlapping 102-sample
// windows and classifies a window as a digit when both groups carry enough
// energy (≥ −36 dBm0 per tone), each tone dominates its group by 6 dB, the
// twist is within 10 dB (low stronger) / 6 dB (high stronger), which
// accepts Q.24's 8 dB / 4 dB with margin, and the two
// tones carry at least 70% of the window's power; guard filters at ±5%
// reject tones more than 2.5% off frequency. A digit is reported once,
// when four consecutive windows agree (about 32 ms after it starts; any tone
// of 40 ms or more qualifies, 20 ms bursts do not); it is reported again
// only after four windows without it. Create one with NewDTMFDetector (the
// zero value also works).
//
// The filters run once over each 51-sample half window; a window's
// spectrum is the sum of its two halves' (the older one rotated by the
// half's length), so each sample costs at most eight Goertzel steps, not
// sixteen. The high-group filters run only for windows whose low group
// could belong to a digit (a tone above the minimum level that dominates
// its group and carries enough of the window's power), which skips them
// for silence, noise and most speech without changing any decision.
type DTMFDetector struct {
	ready  bool
	s1, s2 [4]float64 // low-group Goertzel state over the current half
	cnt    int        // samples in the current half
	// Per half window, indexed by ph(0) (previous) and ph(1) (current),
	// which swap at every half: samples, Goertzel outputs (high group
	// only once computed), energy Σx² (once computed).
	cur      int
	win      [2][dtmfHop]float64
	re, im   [2][8]float64
	hiDone   [2]bool
	halfE    [2]float64
	eDone    [2]bool
	havePrev bool
	last     byte // previous window's classification, 0 = none
	run      int  // consecutive windows classified as last
	held     byte // digit currently reported, 0 = none
	miss     int  // consecutive windows without held
}

// NewDTMFDetector returns a detector ready for 8 kHz linear samples.
func NewDTMFDetector() *DTMFDetector {
	d := &DTMFDetector{}
	d.init()
	return d
}

func (d *DTMFDetector) init() { *d = DTMFDetector{ready: true} }

// dtmfConsts are the detector's constant tables, computed once.
type dtmfConsts struct {
	coef   [8]float64
	cosw   [8]float64    // cos ω, sin ω: a half's Goertzel output
	sinw   [8]float64    // y = s1 − e^{−jω}·s2
	rotC   [8]float64    // e^{jω·51}: an older half's phase shift
	rotS   [8]float64    //
	guard  [8][2]float64 // Goertzel coefficients at f·(1−g), f·(1+g)
	minPow float64
}

var dtmfK = func() *dtmfConsts {
	t := &dtmfConsts{}
	for k := range 8 {
		f := dtmfLow[k%4]
		if k >= 4 {
			f = dtmfHigh[k-4]
		}
		w := 2 * math.Pi * f / SampleRate
		t.coef[k] = 2 * math.Cos(w)
		t.cosw[k], t.sinw[k] = math.Cos(w), math.Sin(w)
		t.rotC[k], t.rotS[k] = math.Cos(w*dtmfHop), math.Sin(w*dtmfHop)
		t.guard[k][0] = 2 * math.Cos(2*math.Pi*f*(1-dtmfGuard)/SampleRate)
		t.guard[k][1] = 2 * math.Cos(2*math.Pi*f*(1+dtmfGuard)/SampleRate)
	}
	a := DBm0ToAmplitude(dtmfMinLevel)
	t.minPow = a * a / 2
	return t
}()

// Reset forgets all state, as if no samples had been processed.
func (d *DTMFDetector) Reset() { d.init() }

// Process consumes samples (any number; a partial window is kept for the
// next call), appends each newly detected digit to out once and returns out.
// It does not allocate when out has spare capacity.
func (d *DTMFDetector) Process(samples []int16, out []byte) []byte {
	if !d.ready { // zero value
		d.init()
	}
	for len(samples) > 0 {
		n := min(len(samples), dtmfHop-d.cnt)
		d.runLow(samples[:n])
		samples = samples[n:]
		if d.cnt == dtmfHop {
			out = d.endHalf(out)
		}
	}
	return out
}

// ph returns the storage index of half window h (0 = previous, 1 =
// current).
func (d *DTMFDetector) ph(h int) int { return d.cur ^ 1 ^ h }

// runLow feeds x (which fits in the current half window) to the four
// low-group Goertzel filters and the window buffer. (The coefficients are
// read from memory in the loop: held in registers, they would push the
// filter state onto the stack.)
func (d *DTMFDetector) runLow(x []int16) {
	buf := d.win[d.cur][d.cnt : d.cnt+len(x)]
	c, s1, s2 := &dtmfK.coef, &d.s1, &d.s2
	a0, a1, a2, a3 := s1[0], s1[1], s1[2], s1[3]
	b0, b1, b2, b3 := s2[0], s2[1], s2[2], s2[3]
	buf = buf[:len(x)]
	for i, v := range x {
		f := float64(v)
		buf[i] = f
		a0, b0 = (f-b0)+c[0]*a0, a0
		a1, b1 = (f-b1)+c[1]*a1, a1
		a2, b2 = (f-b2)+c[2]*a2, a2
		a3, b3 = (f-b3)+c[3]*a3, a3
	}
	*s1 = [4]float64{a0, a1, a2, a3}
	*s2 = [4]float64{b0, b1, b2, b3}
	d.cnt += len(x)
}

// runHigh computes half window h's high-group Goertzel outputs from its
// buffered samples.
func (d *DTMFDetector) runHigh(h int) {
	h = d.ph(h)
	if d.hiDone[h] {
		return
	}
	c := &dtmfK.coef
	c0, c1, c2, c3 := c[4], c[5], c[6], c[7]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	for _, f := range &d.win[h] {
		a0, b0 = (f-b0)+c0*a0, a0
		a1, b1 = (f-b1)+c1*a1, a1
		a2, b2 = (f-b2)+c2*a2, a2
		a3, b3 = (f-b3)+c3*a3, a3
	}
	d.output(h, 4, [4]float64{a0, a1, a2, a3}, [4]float64{b0, b1, b2, b3})
	d.hiDone[h] = true
}

// output stores the outputs y = s1 − e^{−jω}·s2 of the four filters from
// k0 for the half window stored at index h.
func (d *DTMFDetector) output(h, k0 int, s1, s2 [4]float64) {
	for i := range 4 {
		k := k0 + i
		d.re[h][k] = s1[i] - dtmfK.cosw[k]*s2[i]
		d.im[h][k] = dtmfK.sinw[k] * s2[i]
	}
}

// window returns the power (A²/2) of the tone of filters k0..k0+3 over
// the window: this half's output plus the previous half's rotated by
// e^{jω·51}; tone power is 2|X|²/N².
func (d *DTMFDetector) window(pow *[8]float64, k0 int) {
	const scale = 2.0 / (dtmfBlock * dtmfBlock)
	p, c := d.ph(0), d.ph(1)
	for k := k0; k < k0+4; k++ {
		pr, pi := d.re[p][k], d.im[p][k]
		wr := d.re[c][k] + dtmfK.rotC[k]*pr - dtmfK.rotS[k]*pi
		wi := d.im[c][k] + dtmfK.rotS[k]*pr + dtmfK.rotC[k]*pi
		pow[k] = (wr*wr + wi*wi) * scale
	}
}

// endHalf finishes the current half window: it classifies the window made
// of the previous half and this one, updates the digit state and starts
// the next half.
func (d *DTMFDetector) endHalf(out []byte) []byte {
	d.output(d.cur, 0, d.s1, d.s2)
	d.hiDone[d.cur], d.eDone[d.cur] = false, false

	if d.havePrev {
		var pow [8]float64
		d.window(&pow, 0)
		var r byte
		if d.lowMayMatch(&pow) {
			energy := d.halfEnergy(0) + d.halfEnergy(1)
			d.runHigh(0)
			d.runHigh(1)
			d.window(&pow, 4)
			r = d.classify(&pow, energy, false)
			if r == 0 && d.held != 0 && d.classify(&pow, energy, true) == d.held {
				r = d.held
			}
		}
		out = d.endWindow(r, out)
	}
	d.havePrev = true
	d.cur ^= 1
	d.s1, d.s2 = [4]float64{}, [4]float64{}
	d.cnt = 0
	return out
}

// halfEnergy returns Σx² over half window h.
func (d *DTMFDetector) halfEnergy(h int) float64 {
	h = d.ph(h)
	if !d.eDone[h] {
		// Three partial sums (51 = 3·17) shorten the dependency chain.
		var e0, e1, e2 float64
		x := d.win[h][:]
		for i := 0; i+2 < len(x); i += 3 {
			e0 += x[i] * x[i]
			e1 += x[i+1] * x[i+1]
			e2 += x[i+2] * x[i+2]
		}
		d.halfE[h], d.eDone[h] = e0+e1+e2, true
	}
	return d.halfE[h]
}

// lowMayMatch reports whether the low group alone allows classify (with
// the relaxed hold criteria, which are implied by the normal ones) to
// find a digit: the strongest low tone is above the minimum level,
// dominates its group by 4 dB and, with a high tone at most 6 dB
// stronger, could carry half the window's power.
func (d *DTMFDetector) lowMayMatch(pow *[8]float64) bool {
	row, rowPow := strongest(pow[:4])
	if rowPow < dtmfK.minPow {
		return false
	}
	for k := range 4 {
		if k != row && pow[k]*holdDominance > rowPow {
			return false
		}
	}
	energy := d.halfEnergy(0) + d.halfEnergy(1)
	return energy != 0 && rowPow*(1+reverseTwist) >= dtmfHoldPurity*energy/dtmfBlock
}

// endWindow updates the digit state with a window's classification r
// (0 = no digit).
func (d *DTMFDetector) endWindow(r byte, out []byte) []byte {
	if r == d.last {
		d.run++
	} else {
		d.last, d.run = r, 1
	}
	switch {
	case r != 0 && r == d.held:
		d.miss = 0
	case r != 0 && d.run >= dtmfConfirm:
		d.held = r
		d.miss = 0
		out = append(out, r)
	default:
		d.miss++
		if d.miss >= dtmfRelease {
			d.held = 0
		}
	}
	return out
}

// Linear power ratios of dtmfNormalTwist, dtmfReverseTwist and dtmfDominance.
const (
	normalTwist  = 10                // 10^(10/10)
	reverseTwist = 3.981071705534973 // 10^(6/10)
	dominance    = 3.981071705534973 // 10^(6/10)
	// holdDominance (4 dB) replaces dominance while a digit is held.
	holdDominance = 2.51188643150958
)

// classify returns the digit present in a window with tone powers pow
// and energy Σx², or 0. hold selects the relaxed criteria that keep an
// already reported digit alive: lower purity and dominance, no frequency
// guard.
func (d *DTMFDetector) classify(pow *[8]float64, energy float64, hold bool) byte {
	if energy == 0 {
		return 0
	}
	row, rowPow := strongest(pow[:4])
	col, colPow := strongest(pow[4:])
	if rowPow < dtmfK.minPow || colPow < dtmfK.minPow {
		return 0
	}
	if rowPow > colPow*normalTwist || colPow > rowPow*reverseTwist {
		return 0
	}
	dom, purity := dominance, dtmfPurity
	if hold {
		dom, purity = holdDominance, dtmfHoldPurity
	}
	for k := range 4 {
		if k != row && pow[k]*dom > rowPow {
			return 0
		}
		if k != col && pow[4+k]*dom > colPow {
			return 0
		}
	}
	meanPow := energy / dtmfBlock
	if rowPow+colPow < purity*meanPow {
		return 0
	}
	digit := dtmfKeys[row*4+col]
	// The guard check is skipped for the digit already held: if it failed,
	// the relaxed (hold) classification would return the same digit.
	if !hold && digit != d.held {
		const scale = 2.0 / (dtmfBlock * dtmfBlock)
		r, c := row, 4+col
		gc := [4]float64{dtmfK.guard[r][0], dtmfK.guard[r][1], dtmfK.guard[c][0], dtmfK.guard[c][1]}
		g0, g1, g2, g3 := goertzel4(&d.win[d.ph(0)], &d.win[d.ph(1)], &gc)
		pr, pc := pow[r]/scale, pow[c]/scale
		if g0 > pr || g1 > pr || g2 > pc || g3 > pc {
			return 0
		}
	}
	return digit
}

// goertzel4 returns |X|² of x followed by y at the four frequencies
// whose Goertzel coefficients are in c, in one pass (the four
// independent recurrences overlap in the pipeline; the coefficients are
// read from memory so that the state stays in registers).
func goertzel4(x, y *[dtmfHop]float64, c *[4]float64) (float64, float64, float64, float64) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	for _, in := range [2]*[dtmfHop]float64{x, y} {
		for _, v := range in {
			a0, b0 = (v-b0)+c[0]*a0, a0
			a1, b1 = (v-b1)+c[1]*a1, a1
			a2, b2 = (v-b2)+c[2]*a2, a2
			a3, b3 = (v-b3)+c[3]*a3, a3
		}
	}
	c0, c1, c2, c3 := c[0], c[1], c[2], c[3]
	return a0*a0 + b0*b0 - c0*a0*b0, a1*a1 + b1*b1 - c1*a1*b1,
		a2*a2 + b2*b2 - c2*a2*b2, a3*a3 + b3*b3 - c3*a3*b3
}

func strongest(p []float64) (int, float64) {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return best, p[best]
}
