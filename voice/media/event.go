package media

import (
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// Out-of-band signals the gateway hands to a call's stream: an RFC 4733
// event it sends on its own (a hook flash relayed to the PBX, event 16),
// and a digit that arrived out of band (SIP INFO) played to the phone
// through the same generator as received telephone-events.

// EventFlash is the RFC 4733 event code of a hook flash.
const EventFlash = 16

// minEvent and maxEvent bound the length of a sent event or played digit.
const (
	minEvent = 40 * time.Millisecond
	maxEvent = 2 * time.Second
)

// SendEvent sends RFC 4733 event code for d (40 ms to 2 s) on the call's
// telephone-event payload type, as the phone's digits are sent: first
// packet with the marker bit, an update every 20 ms, the final packet
// three times. It reports false when the call negotiated no
// telephone-event or an event is being sent. Loop goroutine.
func (s *Stream) SendEvent(code uint8, d time.Duration) bool {
	dd := &s.dtmf
	if !s.active || s.sess.DTMFPT == 0 || dd.txOn || dd.txEnds > 0 {
		return false
	}
	d = min(max(d, minEvent), maxEvent)
	dd.txOn, dd.txEvent, dd.txFirst, dd.txSilent = true, code, true, false
	dd.txTS = s.ts + uint32(s.accN)
	dd.txDur, dd.txFrames, dd.quiet = 0, 0, 0
	dd.txFixed = uint32(d * pcm.SampleRate / time.Second)
	return true
}

// fixedEvent advances a SendEvent event by one frame of n samples.
func (s *Stream) fixedEvent(n int) {
	d := &s.dtmf
	d.txDur += uint32(n)
	d.txFrames++
	if d.txDur >= d.txFixed {
		s.sendEvent(true)
		d.txEnds = dtmfEndRepeats - 1
		d.txOn, d.txFixed = false, 0
		return
	}
	if d.txFirst || d.txFrames%dtmfUpdateFrames == 0 {
		s.sendEvent(false)
		d.txFirst = false
	}
}

// PlayDigit plays key (0-9, *, #, A-D) to the phone as its tone pair for
// d (40 ms to 2 s), after any digit still playing: a digit received out
// of band. It reports false for another key or a stream without a call.
// Loop goroutine.
func (s *Stream) PlayDigit(key byte, d time.Duration) bool {
	code := eventCode(key)
	if !s.active || code < 0 {
		return false
	}
	d = min(max(d, minEvent), maxEvent)
	if s.dtmf.gen.Busy() {
		_ = s.dtmf.gen.Pause(dtmfPause)
	}
	if s.dtmf.gen.Queue(dtmfEventKeys[code:code+1], d, 0, -10) != nil {
		return false
	}
	s.dtmf.echoKey = dtmfEventKeys[code]
	s.dtmfRecv.Add(1)
	return true
}
