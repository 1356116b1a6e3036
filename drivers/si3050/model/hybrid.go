package model

import "github.com/loopstart/loopstart/drivers/internal/hybridmodel"

// Trans-hybrid echo defaults: the Si3019's hybrid on an ordinary local
// loop, whose impedance it matches only roughly (about 10 dB of return
// loss), behind a millisecond of codec filters and the isolation link.
const (
	// DefaultHybridLoss is the trans-hybrid loss in dB when Hybrid.Loss is 0.
	DefaultHybridLoss = hybridmodel.DefaultLoss
	// DefaultHybridDelay is the echo's bulk delay when Hybrid.Delay is 0.
	DefaultHybridDelay = hybridmodel.DefaultDelay
	// MaxHybridDelay bounds Hybrid.Delay.
	MaxHybridDelay = hybridmodel.MaxDelay
)

// Hybrid is the line's echo path: the DAA's 2-wire/4-wire hybrid never
// matches the line exactly, so part of what the host sends to the line
// comes back in what the DAA captures while it is off hook. The echo is
// the line audio delayed by Delay and dispersed over 4 ms (a decaying
// response tilted towards high frequencies, as a line's mismatch is), Loss
// dB below it for white noise.
type Hybrid = hybridmodel.Options
