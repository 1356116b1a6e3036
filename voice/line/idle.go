package line

// Idle reports whether the line needs nothing of the media loop beyond a
// look at its hook now and then: on hook in StateIdle, no ringing, no tone,
// no caller ID or message-waiting signal under way or pending, no timer
// running and no hook break being timed. The loop may then hand it its
// frames in batches (media.Idler); every frame still reaches Tick, in order.
// Loop goroutine only.
func (l *FXS) Idle() bool {
	return l.st == StateIdle && !l.offHook && !l.timerOn && !l.breaking &&
		!l.ringStart && !l.ringing && !l.ringLive &&
		l.cid.job == jobNone && !l.cid.pend && l.tone.Playing() == nil
}

// Idle reports whether the line is on hook and quiet: FXOIdle, no ring
// burst under way and no digits of its own going out. Caller ID sent before
// the first ring is still decoded from every frame when the loop batches
// them (media.Idler). Loop goroutine only.
func (f *FXO) Idle() bool {
	return f.state == FXOIdle && f.ringOnAt < 0 && !f.keypad.Busy()
}
