// Package pcm describes the PCM highway that carries voice between the line
// chips (SLIC/DAA) and the host: a TDM bus of timeslots at 8 kHz, moved in
// frames of FrameSamples samples. Backends live in sub-packages: sim (a virtual
// highway for the simulated board) and, later, alsa (ALSA TDM through ioctls).
//
// Every slot carries 16-bit linear samples: the chips are programmed for linear
// PCM and the host does the companding, so any codec can be used on the IP leg.
package pcm

import (
	"context"
	"time"
)

// SampleRate is the sampling rate of every timeslot in Hz.
const SampleRate = 8000

// FrameSamples is the number of samples per slot in one highway frame.
const FrameSamples = 80

// FrameDuration is the time one frame covers.
const FrameDuration = FrameSamples * time.Second / SampleRate

// Highway is a PCM bus seen from the host. It is used by exactly one goroutine,
// the real-time media loop, which calls Exchange once per frame.
type Highway interface {
	// Slots returns the number of timeslots on the bus.
	Slots() int
	// Exchange blocks until the next frame boundary, sends tx[slot] towards the
	// chips (playout) and fills rx[slot] with what the chips captured. tx and rx
	// hold Slots() slices of FrameSamples each; a nil slice skips that slot.
	// It returns the frame's sequence number (frames since start: a jump of more
	// than one means frames were missed) and how late after the frame boundary it
	// returned (always 0 on a virtual clock).
	Exchange(ctx context.Context, tx, rx [][]int16) (seq uint64, late time.Duration, err error)
	// Close stops the bus.
	Close() error
}

// Modelled is implemented by a highway whose chips are behavioural models
// running in the host's own process (the simulated board): ModelCPU is the
// CPU time their work on the highway has taken since it was made, so that
// what the product itself costs can be told from its test equipment's
// share (the gateway's status reports it; the benchmarks subtract it).
type Modelled interface {
	ModelCPU() time.Duration
}

// Format is the sample format a chip puts on its timeslot.
type Format uint8

// Sample formats. The project's highway carries 16-bit words per slot: a
// linear sample, or a companded code in the word's high byte (the first
// eight bit clocks of the slot) with the low byte zero.
const (
	// Linear16 is 16-bit two's complement linear PCM (the default).
	Linear16 Format = iota
	// ULaw is G.711 µ-law, 8 bits.
	ULaw
	// ALaw is G.711 A-law, 8 bits.
	ALaw
)

// String returns "linear16", "ulaw" or "alaw".
func (f Format) String() string {
	switch f {
	case Linear16:
		return "linear16"
	case ULaw:
		return "ulaw"
	case ALaw:
		return "alaw"
	}
	return "format(" + string(rune('0'+f%10)) + ")"
}

// PCMF returns the chips' 2-bit PCM format code (Si3215 register 1 bits 4:3,
// Si3050 register 33 bits 4:3): 0 A-law, 1 µ-law, 3 16-bit linear; ok is
// false for an unknown format.
func (f Format) PCMF() (code byte, ok bool) {
	switch f {
	case Linear16:
		return 3, true
	case ULaw:
		return 1, true
	case ALaw:
		return 0, true
	}
	return 0, false
}
