package dsp

import (
	"fmt"
	"math"
	"testing"
)

// twoLines is a call between two analog lines, each with its hybrid's echo
// path and its own canceller, through a G.711 µ-law network leg of a few
// frames each way: the phone-to-phone call of two gateway ports. Each
// line's canceller sees, as its reference, what the other line's canceller
// let through — with pure tones, a residual of a phone's own tone comes
// back to it as "far end".
type twoLines struct {
	h      [2][]float64 // echo paths
	ec     [2]*EchoCanceller
	net    [2][][]int16 // frames in flight from line i to the other
	play   [2][]int16   // what line i plays out this frame (from the other)
	hist   [2][]int16   // playout history, for the echo convolution
	heard  [2][]int16   // everything each phone heard
	phones [2]ToneGen
}

func newTwoLines(p0, p1 echoPath, delayFrames int) *twoLines {
	c := &twoLines{}
	for i, p := range []echoPath{p0, p1} {
		c.h[i] = p.ir()
		c.ec[i] = NewEchoCanceller()
		c.play[i] = make([]int16, 80)
		c.hist[i] = make([]int16, len(c.h[i])+80)
		for range delayFrames {
			c.net[i] = append(c.net[i], make([]int16, 80))
		}
	}
	return c
}

// frame runs 10 ms: each line captures its phone plus the echo of its
// playout, cancels, sends; each line plays what arrives.
func (c *twoLines) frame() {
	var out [2][]int16
	for i := range 2 {
		talk := make([]int16, 80)
		c.phones[i].Fill(talk)
		// Echo of this frame's playout through the hybrid.
		h, hist := c.h[i], c.hist[i]
		copy(hist, hist[80:])
		copy(hist[len(hist)-80:], c.play[i])
		rx := make([]int16, 80)
		base := len(hist) - 80
		for n := range 80 {
			acc := float64(talk[n])
			for k, hk := range h {
				acc += hk * float64(hist[base+n-k])
			}
			rx[n] = sat32(float32(acc))
		}
		c.heard[i] = append(c.heard[i], c.play[i]...)
		c.ec[i].Process(rx, c.play[i])
		out[i] = mulawTrip(rx)
	}
	for i := range 2 {
		q := c.net[i]
		c.play[1-i] = q[0]
		c.net[i] = append(q[1:], out[i])
	}
}

// blockLevels returns the level (dBFS) of hz in each 10 ms block of x.
func blockLevels(x []int16, hz float64) []float64 {
	var l []float64
	for s := 0; s+80 <= len(x); s += 80 {
		a := hannToneAt(x[s:s+80], hz)
		l = append(l, 20*math.Log10(max(a, 1e-3)/32768))
	}
	return l
}

// TestEchoCancellersPhoneToPhoneTones: two lines in a call, each phone
// sending a pure tone — one way, then the other way, then both at once.
// Each phone must hear the other's tone at its level throughout (a
// canceller that takes the far end's residual of its own phone's tone for
// echo cancels its own phone: the listener hears level swings or nothing),
// and neither may hear its own tone come back less than 20 dB down (it
// came back at full level, singing, before the canceller knew that a
// line's echo is never louder than what was sent to it). Both at once
// lasts 20 s: the prolonged "double talk" in which the cancellers adapt
// slowly must not learn either phone's tone away.
func TestEchoCancellersPhoneToPhoneTones(t *testing.T) {
	const level = -20.0
	paths := [][2]echoPath{
		{{bulkMs: 1, dispMs: 4, tauMs: 1, erl: 10, seed: 3}, {bulkMs: 1, dispMs: 4, tauMs: 1, erl: 10, seed: 4}},
		{{bulkMs: 2, dispMs: 6, tauMs: 2, erl: 6, seed: 5}, {bulkMs: 3, dispMs: 8, tauMs: 2, erl: 14, seed: 6}},
	}
	for pi, pp := range paths {
		for _, delay := range []int{3, 8} {
			t.Run(fmt.Sprintf("paths %d, %d ms each way", pi, delay*10), func(t *testing.T) {
				c := newTwoLines(pp[0], pp[1], delay)
				hz := [2]float64{1000, 700}
				type phase struct {
					name   string
					talk   [2]bool
					frames int
				}
				phases := []phase{
					{"phone 0 alone", [2]bool{true, false}, 500},
					{"phone 1 alone", [2]bool{false, true}, 500},
					{"both at once", [2]bool{true, true}, 2000},
				}
				at := 0
				for _, ph := range phases {
					for i := range 2 {
						if ph.talk[i] {
							c.phones[i].PlayFreqs([]float64{hz[i]}, level)
						} else {
							c.phones[i].Stop()
						}
					}
					for range ph.frames {
						c.frame()
					}
					// Judge the phase after its first second.
					from, to := at+100+delay, at+ph.frames
					at += ph.frames
					for i := range 2 {
						if !ph.talk[i] {
							continue
						}
						l := blockLevels(c.heard[1-i][from*80:to*80], hz[i])
						lo, hi := l[0], l[0]
						for _, v := range l {
							lo, hi = min(lo, v), max(hi, v)
						}
						if lo < level-2 || hi > level+2 {
							t.Errorf("%s: phone %d hears phone %d's %.0f Hz at %.1f to %.1f dBFS, want %.0f ± 2",
								ph.name, 1-i, i, hz[i], lo, hi, level)
						}
						own := blockLevels(c.heard[i][from*80:to*80], hz[i])
						t.Logf("%s: phone %d hears its own tone back at %.1f dBFS", ph.name, i, maxOf(own))
						if maxOf(own) > level-20 {
							t.Errorf("%s: phone %d hears its own tone back at %.1f dBFS", ph.name, i, maxOf(own))
						}
						// Nothing new at a DTMF frequency: a canceller whose
						// filter changes from block to block turns a tone
						// into others 200 Hz·k away (1200 Hz beside 1000 Hz
						// and a 697 Hz tone: a DTMF detector hears "1").
						f, sl := loudestSpur(c.heard[1-i][from*80:to*80], hz)
						t.Logf("%s: phone %d's loudest spur: %.0f Hz at %.1f dBFS", ph.name, 1-i, f, sl)
						if sl > level-20 {
							t.Errorf("%s: phone %d hears a %.0f Hz spur at %.1f dBFS", ph.name, 1-i, f, sl)
						}
					}
				}
			})
		}
	}
}

// loudestSpur returns the DTMF frequency (row or column, more than 50 Hz
// from every one of tones) loudest in x in any 100 ms window, and its
// level in dBFS.
func loudestSpur(x []int16, tones [2]float64) (float64, float64) {
	worstF, worst := 0.0, math.Inf(-1)
	for _, f := range []float64{697, 770, 852, 941, 1209, 1336, 1477, 1633} {
		if math.Abs(f-tones[0]) < 50 || math.Abs(f-tones[1]) < 50 {
			continue
		}
		for s := 0; s+800 <= len(x); s += 400 {
			if l := 20 * math.Log10(max(hannToneAt(x[s:s+800], f), 1e-3)/32768); l > worst {
				worstF, worst = f, l
			}
		}
	}
	return worstF, worst
}

func maxOf(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	return m
}
