package model

import (
	"math"
	"time"
)

// Trans-hybrid echo defaults: a 600 Ω line on a 600 Ω SLIC, a few hundred
// metres of cable and an ordinary phone, whose return loss lies between
// 6 and 15 dB.
const (
	// DefaultHybridLoss is the trans-hybrid loss in dB when Hybrid.Loss is 0.
	DefaultHybridLoss = 10.0
	// DefaultHybridDelay is the echo's bulk delay (codec filters, SLIC)
	// when Hybrid.Delay is 0.
	DefaultHybridDelay = time.Millisecond
	// MaxHybridDelay bounds Hybrid.Delay.
	MaxHybridDelay = 100 * time.Millisecond
)

// hybridTaps is the dispersive part of the echo path: 4 ms at 8 kHz.
const hybridTaps = 32

// hybridRing holds the line audio history (≥ MaxHybridDelay + taps + a
// frame, in samples; a power of two).
const hybridRing = 2048

// Hybrid is the line's echo path: the SLIC's 2-wire/4-wire hybrid never
// matches the line exactly, so part of what the chip sends to the phone
// comes back in what it captures. The echo is the line audio delayed by
// Delay and dispersed over 4 ms (a decaying response tilted towards high
// frequencies, as a line's mismatch is), Loss dB below it for white noise.
type Hybrid struct {
	// Off makes the hybrid ideal: no echo.
	Off bool
	// Loss is the trans-hybrid loss (echo return loss) in dB; 0 selects
	// DefaultHybridLoss.
	Loss float64
	// Delay is the bulk delay before the dispersive response; 0 selects
	// DefaultHybridDelay, and it is capped at MaxHybridDelay.
	Delay time.Duration
}

// hybrid is the echo path's state: the impulse response and the history
// of line audio. It is used by Transfer only.
type hybrid struct {
	on    bool
	delay int
	h     [hybridTaps]float32
	ring  [hybridRing]float32
	pos   int
	quiet int // zero samples pushed in a row, up to hybridRing
}

func (hy *hybrid) init(o Hybrid) {
	*hy = hybrid{on: !o.Off}
	if o.Off {
		return
	}
	loss := o.Loss
	if loss == 0 {
		loss = DefaultHybridLoss
	}
	d := o.Delay
	if d == 0 {
		d = DefaultHybridDelay
	}
	hy.delay = int(min(max(d, 0), MaxHybridDelay) / (time.Second / 8000))
	// A damped 500 Hz oscillation through 1 − 0.6 z⁻¹.
	var raw [hybridTaps + 1]float64
	for k := range hybridTaps {
		v := math.Exp(-float64(k)/8) * math.Cos(2*math.Pi*500*float64(k)/8000)
		raw[k] += v
		raw[k+1] -= 0.6 * v
	}
	var e float64
	for _, v := range raw[:hybridTaps] {
		e += v * v
	}
	g := math.Pow(10, -loss/20) / math.Sqrt(e)
	for k := range hybridTaps {
		hy.h[k] = float32(raw[k] * g)
	}
}

// echo pushes the line audio of one frame and writes its echo to out.
func (hy *hybrid) echo(out, line []int16) {
	if hy.quiet >= hy.delay+hybridTaps && allZero(line) {
		// Every sample the filter would read is zero: so is the echo.
		// The history still takes the zeros, so that it stays the
		// line's last hybridRing samples.
		for i := range line {
			hy.ring[hy.pos] = 0
			hy.pos = (hy.pos + 1) & (hybridRing - 1)
			out[i] = 0
		}
		hy.quiet = min(hy.quiet+len(line), hybridRing)
		return
	}
	for i, v := range line {
		if v == 0 {
			hy.quiet = min(hy.quiet+1, hybridRing)
		} else {
			hy.quiet = 0
		}
		hy.ring[hy.pos] = float32(v)
		var acc float32
		p := hy.pos - hy.delay
		for k := range hybridTaps {
			acc += hy.h[k] * hy.ring[(p-k)&(hybridRing-1)]
		}
		hy.pos = (hy.pos + 1) & (hybridRing - 1)
		out[i] = sat(acc)
	}
}

func sat(v float32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}

func allZero(s []int16) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}
