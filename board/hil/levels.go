package hil

import (
	"math"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// levelFrames is the window the clock's slot levels are taken over: half
// a second.
const levelFrames = 50

// maxSlotDigits is how many of the last DTMF digits each slot keeps.
const maxSlotDigits = 32

// SilentDBFS is the level a slot of digital silence reads in the status
// (JSON has no −∞).
const SilentDBFS = -120

// slotLevels measures, per slot, the RMS level of the words the models
// send the gateway and get from it, over windows of levelFrames frames,
// and the DTMF digits each slot sent carried (a linear slot's: a G.711
// slot's words are codes): when a call's audio or a key press is missing
// at the gateway, the status tells whether the models sent it.
type slotLevels struct {
	frames     int
	dets       []dsp.DTMFDetector // per slot sent to the gateway
	found      []byte
	digits     [][]byte  // the last maxSlotDigits digits each slot carried
	to, from   []float64 // Σ x² in the current window, per slot
	lto, lfrom []float64 // the last window's levels, dBFS
}

// add accounts one frame; at the end of a window it returns the window's
// levels (valid until the next call) and true.
func (l *slotLevels) add(to, from [][]int16) (toDB, fromDB []float64, done bool) {
	if len(l.to) != len(to) || len(l.from) != len(from) {
		l.to, l.lto = make([]float64, len(to)), make([]float64, len(to))
		l.from, l.lfrom = make([]float64, len(from)), make([]float64, len(from))
		l.dets, l.digits = make([]dsp.DTMFDetector, len(to)), make([][]byte, len(to))
		l.frames = 0
	}
	for i, s := range to {
		l.found = l.dets[i].Process(s, l.found[:0])
		for _, d := range l.found {
			if len(l.digits[i]) == maxSlotDigits {
				copy(l.digits[i], l.digits[i][1:])
				l.digits[i] = l.digits[i][:maxSlotDigits-1]
			}
			l.digits[i] = append(l.digits[i], d)
		}
	}
	sumSquares(l.to, to)
	sumSquares(l.from, from)
	if l.frames++; l.frames < levelFrames {
		return nil, nil, false
	}
	n := float64(levelFrames * pcm.FrameSamples)
	for i := range l.to {
		l.lto[i] = dbfs(l.to[i] / n)
	}
	for i := range l.from {
		l.lfrom[i] = dbfs(l.from[i] / n)
	}
	clear(l.to)
	clear(l.from)
	l.frames = 0
	return l.lto, l.lfrom, true
}

// sumSquares adds each slot's Σ x² to acc.
func sumSquares(acc []float64, slots [][]int16) {
	for i, s := range slots {
		for _, v := range s {
			acc[i] += float64(v) * float64(v)
		}
	}
}

// dbfs returns the level of mean square ms relative to a full-scale sine,
// rounded to 0.1 dB, SilentDBFS for silence.
func dbfs(ms float64) float64 {
	if ms <= 0 {
		return SilentDBFS
	}
	db := 10 * math.Log10(ms/(32767.0*32767.0/2))
	return max(SilentDBFS, math.Round(db*10)/10)
}

// sentDigits returns the digits each slot sent to the gateway carried,
// the last maxSlotDigits of them, as strings.
func (l *slotLevels) sentDigits() []string {
	out := make([]string, len(l.digits))
	for i, d := range l.digits {
		out[i] = string(d)
	}
	return out
}
