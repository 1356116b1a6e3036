package dsp

import "math"

// Echo canceller tails, in taps (samples at 8 kHz): EchoTail is the
// default (64 ms); NewEchoCancellerTaps takes any tail from EchoTailMin
// (16 ms) to EchoTailMax (128 ms).
const (
	EchoTail    = 512
	EchoTailMin = 128
	EchoTailMax = 1024
)

// Echo canceller geometry: a partitioned-block frequency-domain adaptive
// filter (multidelay filter, MDF) with 40-sample (5 ms) blocks, 40-tap
// partitions and 128-point FFTs (overlap-save: the last 40 outputs of each
// inverse transform are valid). The code allows partitions of a multiple
// of the block (ecStride blocks between the partitions' reference
// spectra); 80-tap partitions halve the per-bin work but lose much of the
// proportionate gains' speed-up on a bulk-delayed path (speech through a
// 45 ms bulk delay: 6.5 dB ERLE after 1 s against 19.4), so the partition
// is one block.
const (
	ecBlock  = 40                                    // block (hop)
	ecPart   = 1 * ecBlock                           // partition length (taps)
	ecStride = ecPart / ecBlock                      // blocks between partitions' reference spectra
	ecParts  = (EchoTailMax + ecPart - 1) / ecPart   // partitions of the longest tail (26)
	ecBlocks = (EchoTailMax + ecBlock - 1) / ecBlock // blocks of the longest tail (26)
	ecWin    = ecPart + ecBlock                      // reference window per transform
	ecValid  = fftN - ecBlock                        // first output of the block
	ecZero   = 1 << 30                               // cap of the count of silent reference samples
)

// Echo canceller tuning.
const (
	echoMu          = 0.8   // step size (normalised per frequency bin)
	echoPropAlpha   = -0.5  // IPNLMS α of the per-partition proportionate gains
	echoReg         = 0.03  // per-bin regularisation, relative to the mean bin power
	echoDelta       = 1e4   // absolute regularisation (per sample²)
	echoVSS         = 1.5   // step · (1 − 1.5·σ_noise/σ_error) per bin
	echoConstrain   = 4     // partitions constrained per block (in turn)
	echoDTRatio     = 4.0   // double talk when rx power > 4 × (echo estimate + noise)
	echoLouder      = 2.0   // near end present when rx power > 2 × the loudest reference block in the tail
	echoDTHang      = 12    // blocks (60 ms) of hangover after double talk
	echoDTQuiet     = 20    // blocks (100 ms) without double talk before a copy
	echoFloorSpan   = 100   // blocks (0.5 s) per span of the noise floor's minimum statistics
	echoDTMax       = 200   // blocks (1 s) of continuous double talk before adapting slowly
	echoFloorFade   = 0.97  // per block, of the per-bin noise floor while the far end talks
	echoSlow        = 0.1   // step factor in prolonged "double talk" (an echo path change)
	echoSlowEvery   = 4     // ... taken on every fourth block, at four times the factor
	echoConverged   = 10.0  // the detector works once the filter removes 10 dB
	echoMaxGain     = 4.0   // a line returns at most +12 dB at any frequency (boundGain)
	echoBoundRounds = 3     // rounds of bound and constraint of a candidate
	echoNLPRatio    = 0.25  // NLP suppresses when the residual is 6 dB below rx
	echoFarActive   = 20.0  // far end active above ~ −60 dBm0 mean power
	echoNLPNear     = 2.0   // ... and rx is below twice the echo estimate plus noise
	echoNLPHang     = 160   // the NLP stays on 20 ms after its condition ends
	echoSmooth      = 0.016 // one-pole smoothing of the NLP's power estimates (~8 ms)
)

// EchoCanceller removes the echo of the signal sent to a 2-wire line
// (the reference, "tx") from the signal received from it ("rx").
//
// The echo path estimate is an FIR of 128 to 1024 taps (16–128 ms; 512,
// 64 ms, by default) held as a partitioned block frequency-domain adaptive
// filter (the "multidelay" filter, MDF): 40-tap partitions (thirteen for
// 64 ms), 5 ms blocks, 128-point FFTs. Its storage is sized for its tail
// when it is made (NewEchoCancellerTaps); SetTaps to a longer tail than it
// has held allocates. Each frequency
// bin's step is normalised by that bin's reference power over the tail
// (which makes speech converge nearly as fast as white noise), weighted
// per partition in proportion to the partition's share of the estimated
// echo path (IPNLMS-style, α = −0.5: hybrid echo paths are sparse), and
// scaled per bin by 1 − 1.5·σ_noise/σ_error (a non-parametric variable
// step: full speed while the error is mostly echo, slowing down as it
// approaches the near end's noise floor, so the estimate does not chase
// the noise). The time-domain constraint is applied to four partitions per
// block in turn, and to all of them in a copy of the background before it
// may become the foreground: an unconstrained block filter is
// periodically time-varying and could cancel a near-end tone with a
// far-end tone 200 Hz·k away.
//
// The filter runs as a foreground/background pair: the background adapts,
// and its coefficients replace the foreground's, which produce the output,
// only when they cancel better over a block, remove at least 6 dB of rx
// and no double talk was seen for 100 ms, so double talk that the detector
// misses cannot corrupt the output. Double talk is declared when rx
// carries more than 4 times (6 dB) the power of the foreground's echo
// estimate plus the residual noise floor (the minimum over 2 s), once the
// filter removes 10 dB: unlike a
// Geigel detector, which must assume the worst echo return loss (6 dB) and
// so freezes adaptation whenever the echo itself is loud, it uses the
// learnt echo path. It freezes adaptation, with 60 ms hangover; after 1 s
// of continuous detection (more likely an echo path change than speech)
// the background adapts at a tenth of the step (on every fourth block, at
// four tenths: the same speed for a quarter of the work). Whatever the filter has
// learnt, rx louder (by 3 dB) than the loudest reference block the tail
// spans is the near end — a line's echo is a loss — and freezes adaptation
// outright: in a call between two lines, each canceller's reference carries
// what the other let through of its own phone's signal, and a pure tone
// can be "cancelled" by a filter of any gain. The residual floor is not
// tracked in double talk (a steady near-end tone would become the floor),
// and the per-bin noise floor, measured while the far end is silent, fades
// while it talks until the filter first converges (a near-end tone learnt
// as "noise" would otherwise hold the variable step at zero). A
// foreground candidate is also held, at every frequency, to a response of
// at most +12 dB (echoMaxGain): no line returns more, and a filter that
// learnt more has learnt the near end. A block whose
// foreground residual is over 3 dB louder than rx (a filter learnt on a
// tone, arbitrary at other frequencies) passes rx through, so two
// cancelled lines in a call cannot sing. A non-linear processor
// replaces the residual by comfort noise at the measured noise floor while
// the far end talks, rx is explained by the echo estimate (below twice its
// power plus noise), no double talk is detected and the residual is at
// least 6 dB below rx; it lets go at once when near-end speech starts.
//
// While the reference has been digital silence (exact zeros) for longer
// than every partition's window reaches back, the echo estimate is exactly
// zero: the transforms and the filters are skipped and the state stays
// exactly what running them would have left.
//
// It works on 8 kHz samples, any number per call; whole 40-sample blocks
// (the media loop's 10 ms frames hold two) take the fast path, other
// samples are filtered in the time domain with the same coefficients. It
// adds no delay and never allocates once made (the zero value, which also
// works with the non-linear processor on, allocates its storage at its
// first use). It is not safe for concurrent use, and a copy of the value
// shares the original's storage (use it by pointer).
type EchoCanceller struct {
	// Storage sized for the longest tail held so far (alloc).
	wf, wb [][fftBins]complex64 // foreground, background partitions
	wc     [][fftBins]complex64 // the background constrained: a foreground candidate
	wn     []float32            // Σ_k |wb_p(k)|² per partition (proportionate gains)
	xs     [][fftBins]complex64 // reference spectra of the last blocks, newest at xsPos
	xp     [][fftBins]float32   // their powers |X(k)|²
	ring   []float32            // reference history, duplicated ring of len(ring)/2
	wt     []float32            // time-domain copy of the foreground, off the block grid
	capP   int                  // partitions the storage holds
	xsPos  int
	xsLen  int // spectra in use: ecStride·(parts−1)+1
	conPos int // partition constrained next

	nps [fftBins]float32 // error noise floor per bin (far end silent)
	eps [fftBins]float32 // smoothed background error power per bin

	rpos  int
	rlen  int              // reference history in use (len(ring)/2 at most)
	zeros int              // reference samples in a row that were exactly zero (capped)
	d     [ecBlock]float32 // rx of the current block
	fill  int              // samples of the current block so far

	taps   int     // tail length in samples
	parts  int     // partitions in use
	blocks int     // blocks the tail spans
	last   int     // taps of the last partition
	span   int     // reference samples all partitions' windows span
	norm   float32 // Σ_p |X_p(k)|² → tail energy

	wtDirty bool

	tmp   [fftHalf]complex64
	tbuf  [fftN]float32
	spec  [fftBins]complex64
	spec2 [fftBins]complex64 // the background's, in filters
	ef    [ecBlock]float32

	dt      int                   // blocks of double-talk hangover left
	loud    int                   // blocks of hangover left after rx was louder than any echo could be
	sxs     [ecBlocks + 1]float32 // reference power of the blocks the tail spans, newest at sxPos
	sxPos   int
	dtRun   int  // consecutive blocks in double talk
	dtQuiet int  // consecutive blocks without double talk
	conv    bool // the foreground has removed ≥ 10 dB once

	// Residual noise floor for the double-talk detector: the minimum of
	// the per-block residual power over the last 2 s (minimum statistics:
	// speech pauses, even in double talk, reveal it).
	floor  float32
	mins   [4]float32 // minima of the last four 0.5 s spans
	curMin float32
	minN   int

	px, pd, pe float32 // smoothed powers for the NLP: tx, rx, residual
	py         float32 // and the echo estimate
	noise      float32 // residual noise floor estimate (power per sample)
	nlpHang    int
	seed       uint32
	noNLP      bool
	ready      bool

	skipped int  // blocks whose transforms were skipped (silent reference)
	noSkip  bool // never skip them (tests: the skip must change nothing)
}

// NewEchoCanceller returns an echo canceller with the default tail
// (EchoTail) and the non-linear processor on.
func NewEchoCanceller() *EchoCanceller {
	return NewEchoCancellerTaps(EchoTail)
}

// NewEchoCancellerTaps returns an echo canceller with a tail of taps
// samples, clamped to EchoTailMin..EchoTailMax, and the non-linear
// processor on. Its storage is allocated here, sized for that tail: a
// later SetTaps to a longer one allocates, to a shorter one (or back) does
// not.
func NewEchoCancellerTaps(taps int) *EchoCanceller {
	e := &EchoCanceller{}
	e.SetTaps(taps)
	return e
}

// SetTaps sets the tail to taps samples (clamped to EchoTailMin..
// EchoTailMax; 0 means EchoTail) and resets the canceller. It allocates
// only when the tail is longer than any the canceller has held (an
// EchoCanceller made for EchoTailMax never allocates again).
func (e *EchoCanceller) SetTaps(taps int) {
	if taps == 0 {
		taps = EchoTail
	}
	e.taps = min(max(taps, EchoTailMin), EchoTailMax) &^ 3
	e.Reset()
}

// Taps returns the tail length in samples.
func (e *EchoCanceller) Taps() int {
	if e.taps == 0 {
		return EchoTail
	}
	return e.taps
}

// alloc sizes the storage for parts partitions (growing only).
func (e *EchoCanceller) alloc(parts int) {
	if parts <= e.capP {
		return
	}
	nx := ecStride*(parts-1) + 1
	e.wf = make([][fftBins]complex64, parts)
	e.wb = make([][fftBins]complex64, parts)
	e.wc = make([][fftBins]complex64, parts)
	e.wn = make([]float32, parts)
	e.xs = make([][fftBins]complex64, nx)
	e.xp = make([][fftBins]float32, nx)
	// The history holds the tail and every partition's window.
	e.ring = make([]float32, 2*(ecPart*(parts-1)+fftN))
	e.wt = make([]float32, ecPart*parts)
	e.capP = parts
}

// Reset forgets the echo path and all state (keeping the tail and the NLP
// setting).
func (e *EchoCanceller) Reset() {
	nlp, taps := e.noNLP, e.Taps()
	parts := (taps + ecPart - 1) / ecPart
	e.alloc(parts)
	wf, wb, wc, wn, xs, xp, ring, wt, capP := e.wf, e.wb, e.wc, e.wn, e.xs, e.xp, e.ring, e.wt, e.capP
	*e = EchoCanceller{noNLP: nlp, ready: true, seed: 1, noise: 1, dtQuiet: echoDTQuiet}
	clear(wf)
	clear(wb)
	clear(wc)
	clear(wn)
	clear(xs)
	clear(xp)
	clear(ring)
	clear(wt)
	e.wf, e.wb, e.wc, e.wn, e.xs, e.xp, e.ring, e.wt, e.capP = wf, wb, wc, wn, xs, xp, ring, wt, capP
	e.taps = taps
	e.parts = parts
	e.blocks = (taps + ecBlock - 1) / ecBlock
	e.last = taps - (parts-1)*ecPart
	e.xsLen = ecStride*(parts-1) + 1
	e.span = ecPart*(parts-1) + ecWin
	e.rlen = len(ring) / 2
	e.norm = float32(taps) / float32(ecWin*parts)
}

// SetNLP turns the non-linear processor (residual suppression with comfort
// noise) on or off; the linear canceller always runs.
func (e *EchoCanceller) SetNLP(on bool) { e.noNLP = !on }

// DoubleTalk reports whether the double-talk detector currently holds
// adaptation.
func (e *EchoCanceller) DoubleTalk() bool { return e.dt > 0 }

// Suppressing reports whether the non-linear processor replaces the
// residual by comfort noise at the last sample processed.
func (e *EchoCanceller) Suppressing() bool { return !e.noNLP && e.nlpHang > 0 }

// Process cancels echo in rx, in place. tx holds the samples sent to the
// line at the same instants (the reference); rx and tx should have the same
// length, extra samples of the longer one are ignored (rx beyond tx is left
// as is).
func (e *EchoCanceller) Process(rx, tx []int16) { e.process(rx, tx, nil) }

// ProcessLinear is Process that also writes to lin the linear canceller's
// residual, before the non-linear processor: the near end with the echo
// subtracted but nothing suppressed, for a detector that must hear a quiet
// near-end tone under the far end's louder echo (which the non-linear
// processor takes for residual echo). lin gets as many samples as Process
// handles; it must be at least that long.
func (e *EchoCanceller) ProcessLinear(rx, tx, lin []int16) {
	e.process(rx, tx, lin[:min(len(rx), len(tx))])
}

func (e *EchoCanceller) process(rx, tx, lin []int16) {
	if !e.ready {
		e.Reset()
	}
	n := min(len(rx), len(tx))
	rx, tx = rx[:n], tx[:n]
	for len(rx) > 0 {
		if e.fill == 0 && len(rx) >= ecBlock {
			// Fast path: a whole block, filtered in the frequency domain.
			e.pushBlock(tx[:ecBlock])
			for i := range ecBlock {
				e.d[i] = float32(rx[i])
			}
			e.block()
			e.nlp(rx[:ecBlock], tx[:ecBlock], e.d[:], e.ef[:])
			if lin != nil {
				for i := range ecBlock {
					lin[i] = sat32(e.ef[i])
				}
				lin = lin[ecBlock:]
			}
			rx, tx = rx[ecBlock:], tx[ecBlock:]
			continue
		}
		// Slow path: one sample, filtered in the time domain.
		d := float32(rx[0])
		e.pushBlock(tx[:1])
		e.d[e.fill] = d
		e.fill++
		ef := [1]float32{d - e.timeDomain()}
		e.nlp(rx[:1], tx[:1], e.d[e.fill-1:e.fill], ef[:])
		if lin != nil {
			lin[0] = sat32(ef[0])
			lin = lin[1:]
		}
		if e.fill == ecBlock {
			e.block()
			e.fill = 0
		}
		rx, tx = rx[1:], tx[1:]
	}
}

// pushBlock appends reference samples to the history ring (kept twice
// over, so that any window of it is contiguous) and counts the run of
// exact zeros; the ring's position and the count live in registers over
// the block.
func (e *EchoCanceller) pushBlock(tx []int16) {
	rpos, rlen, zeros := e.rpos, e.rlen, e.zeros
	ring := e.ring[:2*rlen]
	for _, v := range tx {
		x := float32(v)
		ring[rpos], ring[rpos+rlen] = x, x
		if rpos++; rpos == rlen {
			rpos = 0
		}
		if x != 0 {
			zeros = 0
		} else if zeros < ecZero {
			zeros++
		}
	}
	e.rpos, e.zeros = rpos, zeros
}

// hist returns the last n reference samples, oldest first.
func (e *EchoCanceller) hist(n int) []float32 {
	return e.ring[e.rpos+e.rlen-n : e.rpos+e.rlen]
}

// timeDomain returns the foreground's echo estimate for the newest sample.
func (e *EchoCanceller) timeDomain() float32 {
	if e.wtDirty {
		for p := range e.parts {
			irfft(&e.tbuf, &e.wf[p], &e.tmp)
			copy(e.wt[p*ecPart:], e.tbuf[:min(ecPart, e.taps-p*ecPart)])
		}
		e.wtDirty = false
	}
	n := e.taps // a multiple of 4 (SetTaps)
	h := e.hist(n)
	w := e.wt[:n]
	var s0, s1, s2, s3 float32
	for i := 0; i < n; i += 4 {
		s0 += w[i] * h[n-1-i]
		s1 += w[i+1] * h[n-2-i]
		s2 += w[i+2] * h[n-3-i]
		s3 += w[i+3] * h[n-4-i]
	}
	return (s0 + s1) + (s2 + s3)
}

// part returns the index in xs of the reference spectrum for partition p:
// the one from ecStride·p blocks ago.
func (e *EchoCanceller) part(p int) int {
	i := e.xsPos + ecStride*p
	if i >= e.xsLen {
		i -= e.xsLen
	}
	return i
}

// filter sets y to the last ecBlock samples of the inverse transform of
// Σ_p w_p·X_p.
func (e *EchoCanceller) filter(w [][fftBins]complex64, y *[ecBlock]float32) {
	acc := &e.spec
	*acc = [fftBins]complex64{}
	for p := range e.parts {
		x := &e.xs[e.part(p)]
		wp := &w[p]
		for k := range fftBins {
			// acc += w·x, written out: Go's complex64 product compiles
			// to slower code (measured: 1.6 against 1.1 µs a filter).
			xr, xi := real(x[k]), imag(x[k])
			f := wp[k]
			acc[k] += complex(real(f)*xr-imag(f)*xi, real(f)*xi+imag(f)*xr)
		}
	}
	irfft(&e.tbuf, acc, &e.tmp)
	copy(y[:], e.tbuf[ecValid:])
}

// filters sets yf and yb to the foreground's and the background's
// outputs: filter for both, in one pass over the reference spectra (each
// bin of X_p read once for both products), partition by partition
// (filterPart: on amd64 two bins at a time in SSE), so that the five
// arrays stream through in order — a call's spectra are out of the cache
// by its next frame, and reading them bin by bin across the partitions
// cost twice as much (docs/PERFORMANCE.md, round 14). Each output is
// filter's bit for bit (TestEchoFiltersTogether).
func (e *EchoCanceller) filters(yf, yb *[ecBlock]float32) {
	accF, accB := &e.spec, &e.spec2
	*accF, *accB = [fftBins]complex64{}, [fftBins]complex64{}
	for p := range e.parts {
		filterPart(accF, accB, &e.xs[e.part(p)], &e.wf[p], &e.wb[p])
	}
	irfft(&e.tbuf, accF, &e.tmp)
	copy(yf[:], e.tbuf[ecValid:])
	irfft(&e.tbuf, accB, &e.tmp)
	copy(yb[:], e.tbuf[ecValid:])
}

// block runs one 5 ms block: the new reference spectrum, both filters'
// outputs, the double-talk and foreground/background decisions, and the
// background's adaptation. It leaves the foreground's residual in e.ef.
func (e *EchoCanceller) block() {
	e.xsPos--
	if e.xsPos < 0 {
		e.xsPos = e.xsLen - 1
	}
	xn, pn := &e.xs[e.xsPos], &e.xp[e.xsPos]
	var yf, eb [ecBlock]float32
	silentRef := e.zeros >= e.span && !e.noSkip
	if silentRef {
		// The reference has been exactly zero over every partition's
		// window: every spectrum in use is zero, and so are both filters'
		// outputs (what the transforms would give, bit for bit).
		*xn, *pn = [fftBins]complex64{}, [fftBins]float32{}
		e.skipped++
	} else {
		// Newest reference spectrum, over the last ecWin samples (zero-padded).
		clear(e.tbuf[:fftN-ecWin])
		copy(e.tbuf[fftN-ecWin:], e.hist(ecWin))
		rfft(xn, &e.tbuf, &e.tmp)
		for k := range fftBins {
			pn[k] = real(xn[k])*real(xn[k]) + imag(xn[k])*imag(xn[k])
		}
		// Both filters' outputs: the foreground's is the echo estimate;
		// the background's, which runs in every block, also where it
		// does not adapt (leaving it out in double talk, its divergence
		// check and error power with it, let the phone-to-phone tones of
		// TestPortToPortCall come back with a 1209 Hz spur 25 dB
		// stronger, which the DTMF detector took for a digit).
		e.filters(&yf, &eb)
	}
	var sd, sf, sy, sx float64
	xb := e.hist(ecBlock)
	for i := range ecBlock {
		d := e.d[i]
		f := d - yf[i]
		e.ef[i] = f
		sd += float64(d) * float64(d)
		sf += float64(f) * float64(f)
		sy += float64(yf[i]) * float64(yf[i])
		sx += float64(xb[i]) * float64(xb[i])
	}
	far := sx > ecBlock*echoFarActive*echoFarActive
	if sf > 2*sd {
		// The foreground adds more than it removes: a filter learnt on a
		// narrow band (a tone) is arbitrary elsewhere, and its "echo
		// estimate" of a new far-end signal can be louder than any echo.
		// Pass rx through for this block: a canceller that never makes a
		// block more than 3 dB louder keeps a call between two lines of
		// 6 dB ERL or more from singing (the loop's gain stays below
		// one). The decisions below still see the foreground's sf.
		copy(e.ef[:], e.d[:])
	}

	// The near end is present when rx is louder than the loudest block of
	// reference the tail spans: a line's echo is a loss (its ERL is 6 dB
	// or more), never a gain, whatever the filter has learnt. This holds
	// before the filter converges and against a far end that carries the
	// near end's own signal — the residual of a phone's tone that the
	// other line's canceller let through in a phone-to-phone call, which a
	// filter can model as "echo" of a tone at any gain and so cancel the
	// phone's own tone (or, both ways at once, make the call sing).
	e.sxPos++
	if e.sxPos > e.blocks {
		e.sxPos = 0
	}
	e.sxs[e.sxPos] = float32(sx)
	var sxMax float32
	for _, v := range e.sxs[:e.blocks+1] {
		sxMax = max(sxMax, v)
	}
	if far && sd > echoLouder*float64(sxMax) {
		e.loud = echoDTHang
	} else if e.loud > 0 {
		e.loud--
	}

	// Double talk: rx well above what the learnt echo path explains.
	if !far || e.dt == 0 {
		// Not in double talk: a near end that talks on (a steady tone)
		// would become the floor, and double talk would no longer be
		// seen after 2 s — the background, slowly adapting through the
		// "echo path change" of prolonged double talk, would then win
		// and cancel the near end.
		e.trackFloor(sf / ecBlock)
	}
	dtNow := e.conv && far && sd > echoDTRatio*(sy+ecBlock*float64(e.floor))
	if dtNow || e.loud > 0 {
		e.dt = echoDTHang
		e.dtRun++
	} else if e.dt > 0 {
		e.dt--
	}
	if e.dt > 0 {
		e.dtQuiet = 0
	} else {
		e.dtQuiet++
		e.dtRun = 0
	}

	// Whether the background adapts in this block: while the far end
	// talks, not while the near end is louder than any echo (no echo path
	// change either), not in the first second of double talk; in
	// prolonged "double talk" (an echo path change, or both ends talking
	// on) slowly, on every echoSlowEvery-th block at echoSlowEvery times
	// the slow step — the same speed for a fraction of the work (a call
	// where both ends send steady tones stays there for its whole length).
	adapts := far && e.loud == 0 &&
		(e.dt == 0 || e.dtRun >= echoDTMax && (e.dtRun-echoDTMax)%echoSlowEvery == 0)
	var sb float64
	for i := range ecBlock {
		b := e.d[i] - eb[i]
		eb[i] = b
		sb += float64(b) * float64(b)
	}

	// Foreground/background decisions.
	restarted := false
	switch {
	case sb < 0.7*sf && sb < 0.25*sd && e.dtQuiet >= echoDTQuiet && e.constrainedBetter(sf, sd):
		copy(e.wf[:e.parts], e.wc[:e.parts]) // the background cancels better: take it, constrained
		e.wtDirty = true
		if sb*echoConverged < sd {
			e.conv = true
		}
	case sb > 4*sd && sf < sb:
		// The background diverged: restart from the foreground, and skip
		// this block's update, whose error is the diverged filter's (it
		// would throw the restarted background further off every block).
		copy(e.wb[:e.parts], e.wf[:e.parts])
		for p := range e.parts {
			e.wn[p] = specEnergy(&e.wb[p])
		}
		restarted = true
	}

	// The background's error spectrum: its noise floor is tracked while the
	// far end is silent, its power always.
	clear(e.tbuf[:ecValid])
	copy(e.tbuf[ecValid:], eb[:])
	E := &e.spec
	rfft(E, &e.tbuf, &e.tmp)
	for k := range fftBins {
		m2 := real(E[k])*real(E[k]) + imag(E[k])*imag(E[k])
		if !far {
			a := float32(0.01) // rise slowly, fall fast
			if m2 < e.nps[k] {
				a = 0.2
			}
			e.nps[k] += a * (m2 - e.nps[k])
		} else if !e.conv {
			// While the far end talks the floor cannot be measured; let
			// it fade (halving in about 0.1 s). A floor learnt from a
			// near-end talker while the far end was silent (a phone's
			// tone) would otherwise stand until the far end falls
			// silent again and hold the variable step near zero in
			// those bins all that time: the echo of the next far-end
			// talk would not be learnt.
			e.nps[k] *= echoFloorFade
		}
		e.eps[k] += 0.3 * (m2 - e.eps[k])
	}

	if !adapts || restarted {
		return
	}
	mu := float32(echoMu)
	if e.dt > 0 {
		mu *= echoSlow * echoSlowEvery
	}
	e.adapt(E, mu)
}

// constrainedBetter reports whether the background, constrained in every
// partition to its taps, cancels better than the foreground (residual
// power sf, rx power sd); when it does, the constrained copy is in e.wc.
// Between constraints the background's partitions hold wrap-around terms
// that make it a periodically time-varying filter (with the 5 ms block's
// period): one that can turn the reference's tone into another 200 Hz·k
// away, and so "cancel" a steady near-end tone (a DTMF digit, a fax tone)
// with a far-end tone before double talk can be detected. Only a linear
// filter may become the foreground. It runs only when the background
// looks better, mostly while converging.
func (e *EchoCanceller) constrainedBetter(sf, sd float64) bool {
	// The background is held to what a line can return (boundGain), so
	// that it does not keep an excess it learnt; its constrained copy
	// too, since the constraint spreads a bounded bin over its neighbours
	// a little: bound and constrain again, a few times at most (rare: a
	// filter that learnt what no line returns).
	if e.boundGain(e.wb) {
		for p := range e.parts {
			e.wn[p] = specEnergy(&e.wb[p])
		}
	}
	copy(e.wc[:e.parts], e.wb[:e.parts])
	for round := 0; ; round++ {
		for p := range e.parts {
			e.constrain(&e.wc[p], p)
		}
		if round == echoBoundRounds || !e.boundGain(e.wc) {
			break
		}
	}
	var y [ecBlock]float32
	e.filter(e.wc, &y)
	var s float64
	for i := range ecBlock {
		b := e.d[i] - y[i]
		s += float64(b) * float64(b)
	}
	return s < 0.7*sf && s < 0.25*sd
}

// boundGain holds filter w to what a line can return: at each of the
// transform's frequencies its whole response Σ_p W_p(k)·e^{−2πi·k·ecPart·p/fftN}
// may not exceed echoMaxGain. A 2-wire line's echo is a loss at every
// frequency, but a filter that adapts while a steady near-end tone goes
// undetected as double talk (the far end's signal nearly empty at that
// frequency: a tone of its own, a gap) learns a huge gain there, and with
// it "cancels" the near end from the faint reference content — the
// phone's own tone and then its key presses, under the junk the gain makes
// of the next far-end burst. Each bin above the bound is scaled down to
// it; boundGain reports whether any was.
func (e *EchoCanceller) boundGain(w [][fftBins]complex64) bool {
	scaled := false
	for k := range fftBins {
		var h complex64
		for p := range e.parts {
			h += w[p][k] * echoPartShift[p][k]
		}
		m2 := real(h)*real(h) + imag(h)*imag(h)
		if m2 <= echoMaxGain*echoMaxGain {
			continue
		}
		g := complex(echoMaxGain/float32(math.Sqrt(float64(m2))), 0)
		for p := range e.parts {
			w[p][k] *= g
		}
		scaled = true
	}
	return scaled
}

// echoPartShift[p][k] is e^{−2πi·k·ecPart·p/fftN}: partition p's delay at
// frequency bin k.
var echoPartShift = func() (t [ecParts][fftBins]complex64) {
	for p := range t {
		for k := range t[p] {
			s, c := math.Sincos(-2 * math.Pi * float64(k*ecPart*p) / fftN)
			t[p][k] = complex(float32(c), float32(s))
		}
	}
	return t
}()

// constrain zeroes the taps of partition w (number p) beyond its length:
// the circular wrap-around of the frequency-domain update.
func (e *EchoCanceller) constrain(w *[fftBins]complex64, p int) {
	irfft(&e.tbuf, w, &e.tmp)
	taps := ecPart
	if p == e.parts-1 {
		taps = e.last
	}
	clear(e.tbuf[taps:])
	rfft(w, &e.tbuf, &e.tmp)
}

// trackFloor updates the residual noise floor with a block's residual
// power per sample.
func (e *EchoCanceller) trackFloor(p float64) {
	v := float32(p)
	if e.minN == 0 || v < e.curMin {
		e.curMin = v
	}
	if e.minN++; e.minN == echoFloorSpan {
		copy(e.mins[1:], e.mins[:len(e.mins)-1])
		e.mins[0], e.minN = e.curMin, 0
	}
	f := e.curMin
	for _, m := range e.mins {
		if m > 0 {
			f = min(f, m)
		}
	}
	e.floor = f
}

// adapt updates the background with the error spectrum E: frequency-domain
// NLMS with per-bin normalisation, per-partition proportionate gains and a
// per-bin variable step, then the time-domain constraint on a few
// partitions.
func (e *EchoCanceller) adapt(E *[fftBins]complex64, mu float32) {
	// Proportionate gains from the partitions' shares of the path energy
	// (kept in wn as the partitions change).
	var gp [ecParts]float32
	var tot float32
	for p := range e.parts {
		tot += e.wn[p]
	}
	for p := range e.parts {
		gp[p] = (1-echoPropAlpha)/2 + (1+echoPropAlpha)*float32(e.parts)*e.wn[p]/(2*tot+1e-6)
	}
	// Per-bin normaliser Σ_p g_p·|X_p(k)|² (the tail's energy in bin k).
	var pow [fftBins]float32
	var pmean float32
	for p := range e.parts {
		xp := &e.xp[e.part(p)]
		addScaled(&pow, xp, gp[p])
	}
	for _, v := range pow {
		pmean += v
	}
	pmean /= fftBins
	delta := echoReg*pmean + echoDelta*float32(ecWin*e.parts)
	for k := range fftBins {
		m := mu
		if e.eps[k] > 0 {
			m *= float32(max(0, 1-echoVSS*math.Sqrt(float64(e.nps[k]/e.eps[k]))))
		}
		s := m / (e.norm * (pow[k] + delta))
		E[k] = complex(real(E[k])*s, imag(E[k])*s)
	}
	for p := range e.parts {
		x := &e.xs[e.part(p)]
		wp := &e.wb[p]
		g := gp[p]
		// w += g·conj(X)·E: bins 0..fftHalf−1 in gradientPairs (two at
		// a time on amd64), the last here.
		gradientPairs(wp, x, E, g)
		xr, xi := g*real(x[fftHalf]), g*imag(x[fftHalf])
		er, ei := real(E[fftHalf]), imag(E[fftHalf])
		wp[fftHalf] += complex(xr*er+xi*ei, xr*ei-xi*er)
		e.wn[p] = specEnergy(wp)
	}
	// Constrain partitions to their taps (no circular wrap-around), a few
	// per block in turn.
	for range echoConstrain {
		p := e.conPos
		if e.conPos++; e.conPos == e.parts {
			e.conPos = 0
		}
		e.constrain(&e.wb[p], p)
		e.wn[p] = specEnergy(&e.wb[p])
	}
}

// nlp runs the non-linear processor over a run of samples: out[i] is
// what goes to the network for reference sample x[i], rx d[i] and the
// linear canceller's residual ef[i]. It tracks the smoothed powers and
// the near end's noise floor, and replaces the residual with comfort
// noise while the far end talks and rx is mostly echo. The state lives in
// locals over the run (through e the compiler would store and reload it
// every sample); the arithmetic and its order are those of a sample at a
// time.
func (e *EchoCanceller) nlp(out, x []int16, d, ef []float32) {
	px, pd, pe, py, noise := e.px, e.pd, e.pe, e.py, e.noise
	hang, seed := e.nlpHang, e.seed
	noNLP, dt, floor := e.noNLP, e.dt, e.floor
	x, d, ef = x[:len(out)], d[:len(out)], ef[:len(out)]
	for i := range out {
		xv, dv, f := float32(x[i]), d[i], ef[i]
		px += echoSmooth * (xv*xv - px)
		pd += echoSmooth * (dv*dv - pd)
		pe += echoSmooth * (f*f - pe)
		y := dv - f // the echo estimate
		py += echoSmooth * (y*y - py)
		if px < echoFarActive*echoFarActive {
			// Far end quiet: the residual is the near end's noise (or
			// speech); track its floor, falling fast and rising slowly.
			if pe < noise {
				noise += 0.05 * (pe - noise)
			} else {
				noise += 0.0005 * (pe - noise)
			}
		}
		if noNLP {
			out[i] = sat32(f)
			continue
		}
		// Engage while the far end talks, rx is mostly echo (no near-end
		// speech: rx below twice the echo estimate plus noise, and no
		// double talk detected) and the residual is 6 dB below rx.
		if dt == 0 && px >= echoFarActive*echoFarActive && pe < echoNLPRatio*pd &&
			pd < echoNLPNear*(py+noise) {
			hang = echoNLPHang
		} else if pe > 2*echoNLPRatio*pd || pd > echoNLPNear*(py+noise) {
			hang = 0 // near-end speech starts: pass it at once
		} else if hang > 0 {
			hang--
		}
		if hang > 0 {
			var cn float32
			cn, seed = comfortNoise(seed, noise, floor)
			out[i] = sat32(cn)
		} else {
			out[i] = sat32(f)
		}
	}
	e.px, e.pd, e.pe, e.py, e.noise = px, pd, pe, py, noise
	e.nlpHang, e.seed = hang, seed
}

// comfortNoise returns a white noise sample at the power of the noise
// floor noise, bounded by the residual's minimum floor when that is known,
// and the generator's next seed.
func comfortNoise(seed uint32, noise, floor float32) (float32, uint32) {
	// Sum of two uniform variables (triangular, variance 1/6 of the range²).
	seed = seed*1664525 + 1013904223
	a := float32(int32(seed)) / 2147483648
	seed = seed*1664525 + 1013904223
	b := float32(int32(seed)) / 2147483648
	// The floor estimate can catch the echo's own tail when the far end
	// stops; the residual's minimum over 2 s bounds it.
	n := noise
	if floor > 0 {
		n = min(n, floor)
	}
	return (a + b) * float32(math.Sqrt(float64(1.5*n))), seed
}
