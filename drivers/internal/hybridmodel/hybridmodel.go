// Package hybridmodel is the trans-hybrid echo path of a 2-wire line, for
// the chip models: a line interface's 2-wire/4-wire hybrid never matches
// the line exactly, so part of what the chip sends to the line comes back
// in what it captures. The echo is the line audio delayed by a bulk delay
// and dispersed over 4 ms (a damped 500 Hz response tilted towards high
// frequencies, as a line's mismatch is), a set loss below it for white
// noise.
package hybridmodel

import (
	"math"
	"time"
)

// MaxDelay bounds the bulk delay.
const MaxDelay = 100 * time.Millisecond

// taps is the dispersive part of the echo path: 4 ms at 8 kHz.
const taps = 32

// ring holds the line audio history (≥ MaxDelay + taps + a frame, in
// samples; a power of two).
const ring = 2048

// Path is one line's echo path: its impulse response and the history of
// line audio. The zero value is off (no echo). It is not safe for
// concurrent use and never allocates.
type Path struct {
	on    bool
	delay int
	hr    [taps]float32 // the impulse response reversed: hr[j] weighs the sample taps−1−j old
	ring  [ring]float32
	pos   int
	quiet int // zero samples pushed in a row, up to ring
}

// Init turns the path on with a trans-hybrid loss of loss dB (for white
// noise) after a bulk delay of delay (capped at MaxDelay), forgetting
// the history.
func (p *Path) Init(loss float64, delay time.Duration) {
	*p = Path{on: true}
	p.delay = int(min(max(delay, 0), MaxDelay) / (time.Second / 8000))
	// A damped 500 Hz oscillation through 1 − 0.6 z⁻¹.
	var raw [taps + 1]float64
	for k := range taps {
		v := math.Exp(-float64(k)/8) * math.Cos(2*math.Pi*500*float64(k)/8000)
		raw[k] += v
		raw[k+1] -= 0.6 * v
	}
	var e float64
	for _, v := range raw[:taps] {
		e += v * v
	}
	g := math.Pow(10, -loss/20) / math.Sqrt(e)
	for k := range taps {
		p.hr[taps-1-k] = float32(raw[k] * g)
	}
}

// On reports whether the path returns an echo.
func (p *Path) On() bool { return p.on }

// Echo pushes one frame of line audio and writes its echo to out (zeros
// when the path is off).
func (p *Path) Echo(out, line []int16) {
	if !p.on {
		clear(out[:len(line)])
		return
	}
	if p.quiet >= p.delay+taps && allZero(line) {
		// Every sample the filter would read is zero: so is the echo.
		// The history still takes the zeros, so that it stays the
		// line's last samples.
		for i := range line {
			p.ring[p.pos] = 0
			p.pos = (p.pos + 1) & (ring - 1)
			out[i] = 0
		}
		p.quiet = min(p.quiet+len(line), ring)
		return
	}
	p.echoFull(out, line)
}

// chunk is the most samples echoFull filters from one window of history.
const chunk = 160

// echoFull is Echo without the shortcut for a silent line.
func (p *Path) echoFull(out, line []int16) {
	for len(line) > 0 {
		n := min(len(line), chunk)
		p.echoChunk(out[:n], line[:n])
		out, line = out[n:], line[n:]
	}
}

// echoChunk pushes up to chunk samples and filters them: the history the
// filter reads is copied out of the ring once (the newest sample the
// echo of sample i reads is i itself, at no bulk delay, so pushing the
// chunk first changes nothing), then each output sample is a 32-tap dot
// product over contiguous memory, summed newest sample first as the
// model always did (the same echo to the bit: the sim board's calls,
// whose cancellers react to every bit of it, stay as they were).
func (p *Path) echoChunk(out, line []int16) {
	n := len(line)
	start := p.pos
	// pos and quiet in registers for the chunk: through p the compiler
	// stores and reloads them every sample.
	pos, quiet := p.pos, p.quiet
	for _, v := range line {
		if v == 0 {
			quiet = min(quiet+1, ring)
		} else {
			quiet = 0
		}
		p.ring[pos] = float32(v)
		pos = (pos + 1) & (ring - 1)
	}
	p.pos, p.quiet = pos, quiet
	// win[j] is the sample taps−1−j before the chunk's first input at
	// the bulk delay; sample i's filter reads win[i : i+taps], newest last.
	var win [chunk + taps - 1]float32
	first := start - p.delay - (taps - 1)
	for j := range n + taps - 1 {
		win[j] = p.ring[(first+j)&(ring-1)]
	}
	var acc [chunk]float32
	dots(acc[:len(out)], win[:len(out)+taps-1], &p.hr)
	for i, v := range acc[:len(out)] {
		out[i] = Sat(v)
	}
}

// Sat rounds v towards zero into the int16 range.
func Sat(v float32) int16 {
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
