package model

import "github.com/loopstart/loopstart/drivers/internal/hybridmodel"

// Trans-hybrid echo defaults: a 600 Ω line on a 600 Ω SLIC, a few hundred
// metres of cable and an ordinary phone, whose return loss lies between
// 6 and 15 dB, behind a millisecond of codec filters.
const (
	// DefaultHybridLoss is the trans-hybrid loss in dB when Hybrid.Loss is 0.
	DefaultHybridLoss = hybridmodel.DefaultLoss
	// DefaultHybridDelay is the echo's bulk delay when Hybrid.Delay is 0.
	DefaultHybridDelay = hybridmodel.DefaultDelay
	// MaxHybridDelay bounds Hybrid.Delay.
	MaxHybridDelay = hybridmodel.MaxDelay
)

// Hybrid is the line's echo path: the SLIC's 2-wire/4-wire hybrid never
// matches the line exactly, so part of what the chip sends to the phone
// comes back in what it captures. The echo is the line audio delayed by
// Delay and dispersed over 4 ms (a decaying response tilted towards high
// frequencies, as a line's mismatch is), Loss dB below it for white noise.
type Hybrid = hybridmodel.Options

func sat(v float32) int16 { return hybridmodel.Sat(v) }
