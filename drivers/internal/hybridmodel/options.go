package hybridmodel

import "time"

// Defaults of Options: an ordinary phone or local loop on a 600 Ω line
// interface, whose return loss lies between 6 and 15 dB, behind about a
// millisecond of codec filters.
const (
	// DefaultLoss is the trans-hybrid loss in dB when Options.Loss is 0.
	DefaultLoss = 10.0
	// DefaultDelay is the bulk delay when Options.Delay is 0.
	DefaultDelay = time.Millisecond
)

// Options describe a line's echo path as a chip model's options set it.
type Options struct {
	// Off makes the hybrid ideal: no echo.
	Off bool
	// Loss is the trans-hybrid loss (echo return loss) in dB; 0 selects
	// DefaultLoss.
	Loss float64
	// Delay is the bulk delay before the dispersive response; 0 selects
	// DefaultDelay, and it is capped at MaxDelay.
	Delay time.Duration
}

// Apply sets p up as o describes (off when o.Off), forgetting its history.
func (o Options) Apply(p *Path) {
	*p = Path{}
	if o.Off {
		return
	}
	loss := o.Loss
	if loss == 0 {
		loss = DefaultLoss
	}
	d := o.Delay
	if d == 0 {
		d = DefaultDelay
	}
	p.Init(loss, min(d, MaxDelay))
}
