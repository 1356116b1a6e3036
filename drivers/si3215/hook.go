package si3215

import "time"

// HookEvent is what a change of the debounced hook state means.
type HookEvent uint8

// Hook events.
const (
	// HookNone: nothing to report.
	HookNone HookEvent = iota
	// HookOffHook: the phone went off hook (from on hook).
	HookOffHook
	// HookOnHook: the phone hung up (the loop stayed open longer than a
	// flash).
	HookOnHook
	// HookFlash: a loop break inside the flash window.
	HookFlash
	// HookDigit: a pulse-dialed digit ended (the value is in the digit
	// result, 1-9 and 0 for ten pulses).
	HookDigit
)

// String names the event.
func (e HookEvent) String() string {
	switch e {
	case HookNone:
		return "none"
	case HookOffHook:
		return "off-hook"
	case HookOnHook:
		return "on-hook"
	case HookFlash:
		return "flash"
	case HookDigit:
		return "digit"
	}
	return "hook-event"
}

// HookWindows are the timing windows that tell pulse dialing, hook flash
// and hang-up apart. Zero fields take the DefaultHookWindows values.
type HookWindows struct {
	// PulseBreakMin and PulseBreakMax bound a dial pulse's break (loop
	// open). Shorter breaks are glitches; longer ones up to FlashMin are
	// ignored.
	PulseBreakMin, PulseBreakMax time.Duration
	// InterDigit is how long the loop stays closed after the last pulse
	// before the digit is complete.
	InterDigit time.Duration
	// FlashMin and FlashMax bound a hook flash; a longer break is a hang-up.
	// North America uses about 300-1000 ms, European timed-break recall
	// 70-125 ms (overlapping pulse breaks: set PulseBreakMax below FlashMin).
	FlashMin, FlashMax time.Duration
}

// DefaultHookWindows are North American windows: 10 pps pulses break about
// 60 ms, a flash is 300 ms to 1 s.
var DefaultHookWindows = HookWindows{
	PulseBreakMin: 20 * time.Millisecond,
	PulseBreakMax: 120 * time.Millisecond,
	InterDigit:    300 * time.Millisecond,
	FlashMin:      300 * time.Millisecond,
	FlashMax:      1000 * time.Millisecond,
}

func (w *HookWindows) setDefaults() {
	d := DefaultHookWindows
	for _, p := range []struct{ v, def *time.Duration }{
		{&w.PulseBreakMin, &d.PulseBreakMin}, {&w.PulseBreakMax, &d.PulseBreakMax},
		{&w.InterDigit, &d.InterDigit}, {&w.FlashMin, &d.FlashMin}, {&w.FlashMax, &d.FlashMax},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
}

func (w HookWindows) valid() bool {
	return w.PulseBreakMin > 0 && w.PulseBreakMin < w.PulseBreakMax && w.PulseBreakMax <= w.FlashMax &&
		w.FlashMin < w.FlashMax && w.InterDigit > 0
}

// HookClassifier turns debounced hook states into off-hook, on-hook, flash
// and pulse-digit events. Feed it every poll; it does not allocate. The
// zero value uses DefaultHookWindows and starts on hook.
type HookClassifier struct {
	W HookWindows

	init     bool
	off      bool          // loop closed
	reported bool          // the off-hook state reported to the user
	since    time.Duration // when off last changed
	pulses   int
}

// Step takes the debounced state at now and returns an event; digit is set
// for HookDigit.
func (c *HookClassifier) Step(now time.Duration, offHook bool) (ev HookEvent, digit int) {
	if !c.init {
		c.W.setDefaults()
		c.init = true
		c.since = now
	}
	held := now - c.since
	if offHook == c.off {
		switch {
		case !c.off && c.reported && held >= c.W.FlashMax:
			// The break outlasted a flash: hung up.
			c.reported, c.pulses = false, 0
			return HookOnHook, 0
		case c.off && c.pulses > 0 && held >= c.W.InterDigit:
			d := c.pulses % 10
			c.pulses = 0
			return HookDigit, d
		}
		return HookNone, 0
	}
	c.off, c.since = offHook, now
	if !offHook {
		return HookNone, 0 // a break starts; classified when it ends
	}
	if !c.reported {
		c.reported = true
		return HookOffHook, 0
	}
	// A break ended with the loop closed again.
	switch {
	case held >= c.W.PulseBreakMin && held <= c.W.PulseBreakMax:
		c.pulses++
	case held >= c.W.FlashMin && held < c.W.FlashMax:
		c.pulses = 0
		return HookFlash, 0
	}
	return HookNone, 0
}
