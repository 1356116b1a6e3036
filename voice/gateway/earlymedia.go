package gateway

import "github.com/loopstart/loopstart/voice/line"

// Early media: when the far end of the phone's outgoing call answers our
// INVITE's offer in a provisional response (a 183 with SDP: the
// network's ringback, an announcement), its stream starts on that SDP and
// plays to the phone in place of our own ringback tone until the answer,
// which restarts the stream on the final SDP. Nothing is sent before the
// answer.

// earlyMedia starts the early media of leg l, the phone's call, when its
// call has some; it reports whether early media plays (our ringback tone
// is then not wanted).
func (s *session) earlyMedia(l *leg) bool {
	if l.early {
		return true
	}
	if l.answered || !l.call.EarlyMedia() {
		return false
	}
	if !s.p.setupStream(l.call, l.slot) {
		return true // being hung up for want of SRTP
	}
	l.early = true
	s.log.Info("early media", "call", l.call.ID(), "remote", l.call.Remote().Addr.String())
	s.setPath()
	return true
}

// earlyOn reports whether the phone's slot plays early media now.
func (s *session) earlyOn() bool {
	if s.talk < 0 || s.conf {
		return false
	}
	l := s.slots[s.talk]
	return l != nil && l.early && !l.answered
}

// earlyPlays reports whether the talk slot's stream plays to the phone
// in line state st although the call is not answered: early media while
// the line waits for the answer (silent, or our ringback tone, which the
// far end's audio then replaces).
func (m *mediaPath) earlyPlays(st line.State) bool {
	return m.early && (st == line.StateCalling || st == line.StateRingback)
}
