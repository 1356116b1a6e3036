package dsp

import (
	"math"
	"time"
)

// Tone describes a call-progress tone: up to two summed sine components,
// optionally amplitude-modulated, switched on and off by a repeating cadence.
type Tone struct {
	// Name identifies the tone in logs and the status page ("dial", "busy").
	Name string
	// Freqs are the component frequencies in Hz; 0 means the component is unused.
	Freqs [2]float64
	// Level is the level of each component in dBm0.
	Level float64
	// ModHz, when non-zero, amplitude-modulates the tone at that frequency
	// with 100% depth: the envelope swings between 0 and the component
	// amplitude, so the sum of the carrier (−6 dB) and its two sidebands
	// (−12 dB each) peaks at Level. Japan's ringing tone is 400 Hz modulated
	// at 16 Hz (NTT technical reference "電話サービスのインタフェース";
	// the regulation allows 15–20 Hz and Asterisk uses 15 Hz).
	ModHz float64
	// Cadence alternates on and off durations (on, off, on, off, ...),
	// repeating from the start. Empty means continuous. An odd-length
	// cadence ends with an "on" that runs into the first "on" again.
	Cadence []time.Duration
}

// maxOsc is the number of components a ToneGen can sum.
const maxOsc = 4

// ToneGen renders a Tone (or a set of frequencies) into 8 kHz samples. Its
// zero value is usable and stopped. A ToneGen is not safe for concurrent use.
type ToneGen struct {
	tone    *Tone
	custom  Tone // backing store for PlayFreqs
	cadence []time.Duration
	n       int
	amp     [maxOsc]float64 // peak amplitude per component
	step    [maxOsc]float64 // cycles per sample
	phase   [maxOsc]float64 // cycles, in [0,1)
	modStep float64
	modPh   float64
	seg     int  // index into cadence
	left    int  // samples left in the current cadence segment
	on      bool // current segment is an "on" segment
	general bool // never take renderSteady (tests: it must change nothing)
}

// Play starts t from the beginning of its cadence with all phases at zero;
// nil stops the generator. The generator keeps a reference to t: do not
// modify it while it plays. Play does not allocate.
func (g *ToneGen) Play(t *Tone) {
	if t == nil {
		g.Stop()
		return
	}
	g.reset()
	g.tone = t
	amp := DBm0ToAmplitude(t.Level)
	for _, f := range t.Freqs {
		g.addOsc(f, amp)
	}
	if t.ModHz > 0 && t.ModHz < SampleRate/2 {
		g.modStep = t.ModHz / SampleRate
	}
	g.cadence = t.Cadence
	var total time.Duration
	for _, d := range t.Cadence {
		if d > 0 {
			total += d
		}
	}
	if total == 0 {
		g.cadence = nil
	}
	g.seg = -1
	g.nextSegment()
}

// PlayFreqs plays up to four frequencies continuously, for test equipment.
// Frequencies outside (0, SampleRate/2) and any beyond the fourth are
// ignored. Each of the n used components gets the amplitude
// DBFSToAmplitude(levelDBFS)/n (that is levelDBFS − 20·log10(n) dBFS), so the
// sum never peaks above the requested level. Playing then reports a Tone named
// "freqs" holding the first two frequencies and the per-component level in
// dBm0. freqs is copied; PlayFreqs does not allocate.
func (g *ToneGen) PlayFreqs(freqs []float64, levelDBFS float64) {
	g.reset()
	var used [maxOsc]float64
	n := 0
	for _, f := range freqs {
		if n == maxOsc {
			break
		}
		if f > 0 && f < SampleRate/2 { // also false for NaN
			used[n] = f
			n++
		}
	}
	if n == 0 {
		return
	}
	amp := DBFSToAmplitude(levelDBFS) / float64(n)
	for _, f := range used[:n] {
		g.addOsc(f, amp)
	}
	g.custom = Tone{
		Name:  "freqs",
		Freqs: [2]float64{used[0], used[1]},
		Level: dbfsToDBm0(levelDBFS - 20*math.Log10(float64(n))),
	}
	g.tone = &g.custom
	g.on = true
}

// Stop silences the generator.
func (g *ToneGen) Stop() { g.reset() }

// Playing returns the tone being played, or nil when stopped.
func (g *ToneGen) Playing() *Tone { return g.tone }

func (g *ToneGen) reset() {
	custom := g.custom
	*g = ToneGen{custom: custom}
}

func (g *ToneGen) addOsc(f, amp float64) {
	if !(f > 0 && f < SampleRate/2) || g.n == maxOsc || math.IsNaN(amp) || math.IsInf(amp, 0) {
		return
	}
	g.amp[g.n] = amp
	g.step[g.n] = f / SampleRate
	g.n++
}

// nextSegment advances to the next cadence segment with a non-zero length.
func (g *ToneGen) nextSegment() {
	if len(g.cadence) == 0 {
		g.on = true
		g.left = 0
		return
	}
	for {
		g.seg++
		if g.seg >= len(g.cadence) {
			g.seg = 0
		}
		d := g.cadence[g.seg]
		if d <= 0 {
			continue
		}
		g.left = durationSamples(d)
		if g.left == 0 {
			g.left = 1
		}
		g.on = g.seg%2 == 0
		return
	}
}

// durationSamples converts d to a whole number of samples (rounded).
func durationSamples(d time.Duration) int {
	return int((int64(d)*SampleRate + int64(time.Second)/2) / int64(time.Second))
}

// Fill overwrites dst with the next len(dst) samples (silence when stopped),
// advancing phase and cadence. It does not allocate.
func (g *ToneGen) Fill(dst []int16) { g.render(dst, false) }

// Add mixes the next len(dst) samples onto dst, saturating at the int16
// limits, advancing phase and cadence. It does not allocate.
func (g *ToneGen) Add(dst []int16) { g.render(dst, true) }

// render produces the next len(dst) samples into dst (added to it with
// add).
func (g *ToneGen) render(dst []int16, add bool) {
	if g.tone == nil {
		if !add {
			clear(dst)
		}
		return
	}
	// Each component's sine comes from a phasor started at its phase and
	// turned by its step every sample: two trigonometric calls per
	// component a call instead of one per sample (what it gives differs
	// from math.Sin by rounding, some 1e-14 of the amplitude over a
	// frame). The phases themselves still advance exactly as before, so
	// the next call starts from them.
	var sn, cs, rs, rc [maxOsc]float64
	for k := range g.n {
		sn[k], cs[k] = math.Sincos(2 * math.Pi * g.phase[k])
		rs[k], rc[k] = math.Sincos(2 * math.Pi * g.step[k])
	}
	if g.cadence == nil && g.modStep == 0 && g.n >= 1 && g.n <= 2 && !g.general {
		g.renderSteady(dst, add, &sn, &cs, &rs, &rc)
		return
	}
	for i := range dst {
		var v float64
		if g.on {
			for k := range g.n {
				v += g.amp[k] * sn[k]
			}
			if g.modStep > 0 {
				v *= 0.5 * (1 + math.Sin(2*math.Pi*g.modPh))
			}
		}
		// Phases run continuously, also through the "off" segments.
		for k := range g.n {
			sn[k], cs[k] = sn[k]*rc[k]+cs[k]*rs[k], cs[k]*rc[k]-sn[k]*rs[k]
			g.phase[k] += g.step[k]
			if g.phase[k] >= 1 {
				g.phase[k]--
			}
		}
		if g.modStep > 0 {
			g.modPh += g.modStep
			if g.modPh >= 1 {
				g.modPh--
			}
		}
		if add {
			v += float64(dst[i])
		}
		dst[i] = saturate(v)
		if g.cadence != nil {
			g.left--
			if g.left <= 0 {
				g.nextSegment()
			}
		}
	}
}

// renderSteady is render for a steady tone of one or two components
// (no cadence, no modulation: a phone's or a line's test tone), its state
// in registers for the call: the same arithmetic, sample by sample, so the
// same samples and phases (TestToneGenSteady).
func (g *ToneGen) renderSteady(dst []int16, add bool, sn, cs, rs, rc *[maxOsc]float64) {
	two, on := g.n == 2, g.on
	s0, c0, s1, c1 := sn[0], cs[0], sn[1], cs[1]
	rs0, rc0, rs1, rc1 := rs[0], rc[0], rs[1], rc[1]
	a0, a1 := g.amp[0], g.amp[1]
	p0, p1, st0, st1 := g.phase[0], g.phase[1], g.step[0], g.step[1]
	for i := range dst {
		var v float64
		if on {
			v += a0 * s0
			if two {
				v += a1 * s1
			}
		}
		s0, c0 = s0*rc0+c0*rs0, c0*rc0-s0*rs0
		if p0 += st0; p0 >= 1 {
			p0--
		}
		if two {
			s1, c1 = s1*rc1+c1*rs1, c1*rc1-s1*rs1
			if p1 += st1; p1 >= 1 {
				p1--
			}
		}
		if add {
			v += float64(dst[i])
		}
		dst[i] = saturate(v)
	}
	g.phase[0] = p0
	if two {
		g.phase[1] = p1
	}
}
