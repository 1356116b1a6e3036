package line

import (
	"math"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// Call-progress tone detection on an FXO line: each 40 ms block of what the
// line sends is "tone" when the tone's frequencies hold most of its energy
// and it is loud enough; runs of tone and no tone are then matched against
// the tone's cadence. For a cadenced tone (busy, reorder) "its energy" is
// what the block holds above the quietest block of the last two seconds:
// a steady sound under the tone (a far party's continuous tone, an echo
// the canceller left) fills the gaps of the cadence as much as its tone
// periods, so it is taken out before the share is judged, and the busy
// tone is still heard over it. Speech has pauses, which keep that floor
// near zero, so for speech the test is the plain share; the share above
// the floor only adds blocks to those the plain share finds.
const (
	// progressBlock is the analysis block: 40 ms gives 25 Hz bins, enough
	// to tell 440 Hz from 480 Hz.
	progressBlock = 320
	// progressMinPower is the mean power (on the int16 scale) a block needs
	// to hold a tone: about -47 dBFS.
	progressMinPower = 10000
	// progressShare is the share of a block's energy the tone's
	// frequencies must hold.
	progressShare = 0.6
	// progressRuns is how many complete runs (tone, gap, tone) must match
	// the cadence.
	progressRuns = 3
	// floorBlocks is the window of the steady floor: 2 s, longer than
	// any cadence's gap.
	floorBlocks = 50
)

// blockDuration is the length of one analysis block.
const blockDuration = progressBlock * time.Second / 8000

// toneDetector finds one call-progress tone (dial, busy, reorder) in line
// audio. Its zero value detects nothing; set it up with reset. It does not
// allocate.
type toneDetector struct {
	tone   *dsp.Tone
	coef   [2]float64
	n      int
	s1, s2 [2]float64
	energy float64

	on     bool          // the last block held the tone
	run    time.Duration // length of the current run of on (or off) blocks
	onFor  time.Duration // how long the tone has been on continuously
	runs   [progressRuns]time.Duration
	runOn  [progressRuns]bool
	nruns  int
	latch  bool
	blocks int

	// energies holds the last floorBlocks blocks' energies (a ring; next
	// is the slot the next block takes).
	energies [floorBlocks]float64
	next     int
}

// reset starts detecting t afresh; nil detects nothing.
func (d *toneDetector) reset(t *dsp.Tone) {
	*d = toneDetector{tone: t}
	if t == nil {
		return
	}
	for i, f := range t.Freqs {
		if f > 0 {
			d.coef[i] = 2 * math.Cos(2*math.Pi*f/8000)
		}
	}
}

// process feeds samples; it reports whether the tone's cadence has been
// recognised (latched until reset).
func (d *toneDetector) process(x []int16) bool {
	if d.tone == nil {
		return false
	}
	for _, v := range x {
		s := float64(v)
		d.energy += s * s
		for i := range 2 {
			if d.coef[i] == 0 {
				continue
			}
			s0 := s + d.coef[i]*d.s1[i] - d.s2[i]
			d.s2[i], d.s1[i] = d.s1[i], s0
		}
		d.n++
		if d.n == progressBlock {
			d.endBlock()
		}
	}
	return d.latch
}

// endBlock classifies one block and runs the cadence matcher.
func (d *toneDetector) endBlock() {
	var p float64
	for i := range 2 {
		if d.coef[i] != 0 {
			p += d.s1[i]*d.s1[i] + d.s2[i]*d.s2[i] - d.coef[i]*d.s1[i]*d.s2[i]
		}
	}
	// The plain test first; the floor only adds: a louder sound that has
	// just stopped (a conversation before the office's busy tone) leaves
	// the floor high for up to 2 s, and must not hide the tone meanwhile.
	on := toneHolds(p, d.energy) || (len(d.tone.Cadence) > 0 && toneHolds(p, d.energy-d.floor()))
	d.energies[d.next] = d.energy
	d.next = (d.next + 1) % floorBlocks
	d.n, d.s1, d.s2, d.energy = 0, [2]float64{}, [2]float64{}, 0
	d.blocks++
	if on {
		d.onFor += blockDuration
	} else {
		d.onFor = 0
	}
	if d.blocks > 1 && on != d.on {
		d.pushRun(d.on, d.run)
		d.run = 0
	}
	d.on = on
	d.run += blockDuration
	if len(d.tone.Cadence) == 0 && d.onFor >= 2*time.Second {
		d.latch = true // a steady tone (no cadence) held for 2 s
	}
}

// toneHolds reports whether a block whose energy is e (on the int16
// scale) holds the tone whose goertzel power is p: loud enough, and the
// tone's frequencies hold most of it. A sine of amplitude A gives goertzel
// power (A·N/2)² and energy A²·N/2.
func toneHolds(p, e float64) bool {
	return e/progressBlock >= progressMinPower && p >= progressShare*e*progressBlock/2
}

// floor is the energy of the quietest of the last floorBlocks blocks
// (fewer at the start; none: 0).
func (d *toneDetector) floor() float64 {
	n := min(d.blocks, floorBlocks)
	if n == 0 {
		return 0
	}
	m := math.Inf(1)
	for _, e := range d.energies[:n] {
		m = min(m, e)
	}
	return m
}

// pushRun records a finished run and checks the last ones against the
// cadence: tone, gap, tone, each within a quarter (at least 80 ms) of one of
// the cadence's on or off segments.
func (d *toneDetector) pushRun(on bool, dur time.Duration) {
	copy(d.runs[:], d.runs[1:])
	copy(d.runOn[:], d.runOn[1:])
	d.runs[progressRuns-1], d.runOn[progressRuns-1] = dur, on
	d.nruns++
	if d.nruns < progressRuns || !d.runOn[0] || len(d.tone.Cadence) < 2 {
		return
	}
	for i := range progressRuns {
		if !cadenceFits(d.tone.Cadence, d.runOn[i], d.runs[i]) {
			return
		}
	}
	d.latch = true
}

// cadenceFits reports whether a run of length dur fits one of the cadence's
// on (or off) segments.
func cadenceFits(cad []time.Duration, on bool, dur time.Duration) bool {
	for i, seg := range cad {
		if (i%2 == 0) != on {
			continue
		}
		tol := max(seg/4, 80*time.Millisecond)
		if dur >= seg-tol && dur <= seg+tol {
			return true
		}
	}
	return false
}

// present reports whether the tone has been on without a break for at
// least d.
func (d *toneDetector) present(dur time.Duration) bool { return d.tone != nil && d.onFor >= dur }
