package hil

import (
	"math"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// levelFrames is the window the clock's slot levels are taken over: half
// a second.
const levelFrames = 50

// SilentDBFS is the level a slot of digital silence reads in the status
// (JSON has no −∞).
const SilentDBFS = -120

// slotLevels measures, per slot, the RMS level of the words the models
// send the gateway and get from it, over windows of levelFrames frames:
// when a call's audio is missing in one direction, the status tells
// whether the models sent it.
type slotLevels struct {
	frames     int
	to, from   []float64 // Σ x² in the current window, per slot
	lto, lfrom []float64 // the last window's levels, dBFS
}

// add accounts one frame; at the end of a window it returns the window's
// levels (valid until the next call) and true.
func (l *slotLevels) add(to, from [][]int16) (toDB, fromDB []float64, done bool) {
	if len(l.to) != len(to) || len(l.from) != len(from) {
		l.to, l.lto = make([]float64, len(to)), make([]float64, len(to))
		l.from, l.lfrom = make([]float64, len(from)), make([]float64, len(from))
		l.frames = 0
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
