package model

import (
	"time"

	"github.com/loopstart/loopstart/drivers/internal/hybridmodel"
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
	MaxHybridDelay = hybridmodel.MaxDelay
)

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

// init sets up the echo path hy for o.
func (o Hybrid) init(hy *hybridmodel.Path) {
	*hy = hybridmodel.Path{}
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
	hy.Init(loss, min(d, MaxHybridDelay))
}

func sat(v float32) int16 { return hybridmodel.Sat(v) }
