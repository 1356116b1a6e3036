package dsp

import (
	"math"
	"time"
)

// CAS (CPE alerting signal, Telcordia GR-30/SR-TSV-002476, "type II" caller
// ID on call waiting) and DT-AS (dual-tone alerting signal, ETSI EN 300
// 659-1 and BT SIN 227) are the same pair: 2130 Hz + 2750 Hz. CAS lasts
// 80 ms (75–85), DT-AS 80–100 ms (ETSI, tolerance ±0.5 % frequency).

// CAS frequencies in Hz.
const (
	CASLowHz  = 2130
	CASHighHz = 2750
)

// CASTone returns the alerting signal as a one-shot Tone of duration d at
// level dBm0 per frequency (the cadence is on d, then off for an hour, so
// a ToneGen plays it once).
func CASTone(d time.Duration, level float64) Tone {
	return Tone{Name: "cas", Freqs: [2]float64{CASLowHz, CASHighHz}, Level: level,
		Cadence: []time.Duration{d, time.Hour}}
}

// EncodeCAS returns d of the alerting signal at level dBm0 per frequency.
func EncodeCAS(d time.Duration, level float64) []int16 {
	t := CASTone(d, level)
	var g ToneGen
	g.Play(&t)
	out := make([]int16, durationSamples(d))
	g.Fill(out)
	return out
}

// CAS detector parameters.
const (
	casBlock   = 80  // 10 ms Goertzel blocks
	casMinDBm0 = -40 // weakest tone accepted (GR-30 asks for −32)
	casTwistDB = 8   // the tones may differ by this much (6 dB + margin)
	casPurity  = 0.6 // share of the block's power the pair must carry
	casConfirm = 4   // blocks: a 50 ms signal always covers four
	casRelease = 3   // blocks without the pair end a detection
)

// CASDetector reports CAS / DT-AS bursts. Each 10 ms block is tested with
// Goertzel filters at 2130 and 2750 Hz: both tones above −40 dBm0, within
// 8 dB of each other (6 dB required, plus margin for the
// estimate) and together at least 60 % of the block's power.
// Four consecutive blocks (any signal of 50 ms or more; none of 30 ms or
// less) make a detection, reported once. Create one with NewCASDetector;
// it does not allocate.
type CASDetector struct {
	c1, c2 float64
	s1, s2 [2]float64
	energy float64
	n      int
	run    int
	miss   int
	held   bool
	minPow float64
	twist  float64
}

// NewCASDetector returns a detector for 8 kHz linear samples.
func NewCASDetector() *CASDetector {
	a := DBm0ToAmplitude(casMinDBm0)
	return &CASDetector{
		c1:     2 * math.Cos(2*math.Pi*CASLowHz/SampleRate),
		c2:     2 * math.Cos(2*math.Pi*CASHighHz/SampleRate),
		minPow: a * a / 2,
		twist:  math.Pow(10, casTwistDB/10.0),
	}
}

// Reset forgets all state.
func (d *CASDetector) Reset() { *d = *NewCASDetector() }

// Process consumes samples and returns how many new alerting signals
// completed their confirmation within them.
func (d *CASDetector) Process(samples []int16) int {
	found := 0
	// The filters' state in registers, stored for block and at the end
	// (the same arithmetic as on the fields: the same bits).
	c1, c2 := d.c1, d.c2
	energy, a1, a2, b1, b2 := d.energy, d.s1[0], d.s2[0], d.s1[1], d.s2[1]
	for _, s := range samples {
		x := float64(s)
		energy += x * x
		a1, a2 = x+c1*a1-a2, a1
		b1, b2 = x+c2*b1-b2, b1
		d.n++
		if d.n < casBlock {
			continue
		}
		d.energy, d.s1, d.s2 = energy, [2]float64{a1, b1}, [2]float64{a2, b2}
		energy, a1, a2, b1, b2 = 0, 0, 0, 0, 0
		if d.block() {
			d.run++
			d.miss = 0
			if d.run >= casConfirm && !d.held {
				d.held = true
				found++
			}
		} else {
			d.run = 0
			d.miss++
			if d.miss >= casRelease {
				d.held = false
			}
		}
		d.n = 0
	}
	d.energy, d.s1, d.s2 = energy, [2]float64{a1, b1}, [2]float64{a2, b2}
	return found
}

func (d *CASDetector) block() bool {
	const scale = 2.0 / (casBlock * casBlock)
	p1 := (d.s1[0]*d.s1[0] + d.s2[0]*d.s2[0] - d.c1*d.s1[0]*d.s2[0]) * scale
	p2 := (d.s1[1]*d.s1[1] + d.s2[1]*d.s2[1] - d.c2*d.s1[1]*d.s2[1]) * scale
	if p1 < d.minPow || p2 < d.minPow || p1 > p2*d.twist || p2 > p1*d.twist {
		return false
	}
	return p1+p2 >= casPurity*d.energy/casBlock
}
