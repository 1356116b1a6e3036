package gateway

import (
	"context"
	"slices"
	"time"

	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
)

// faxFarDelay is how long a port waits before re-INVITEing to G.711 for a
// fax or modem tone that came from the far end: the far end, whose line
// the tone came from, usually re-INVITEs first, and two re-INVITEs at once
// would both be refused (491).
const faxFarDelay = 1500 * time.Millisecond

// faxSwitch asks the control goroutine to bring a call that switched to
// fax/modem pass-through to G.711.
type faxSwitch struct {
	slot    int
	delayed bool // sent again after faxFarDelay
}

// onPassthrough is a stream's media.EchoOpts.OnPassthrough for slot: it
// runs on the loop goroutine and never blocks.
func (p *port) onPassthrough(slot int) func() {
	return func() {
		select {
		case p.faxSwitches <- faxSwitch{slot: slot}:
		default:
		}
	}
}

// isG711 reports whether the codec is clear G.711, what a fax or modem
// call needs.
func isG711(c media.Codec) bool { return c == media.PCMU || c == media.PCMA }

// g711Only keeps the G.711 codecs of codecs, in their order; both when
// none is there.
func g711Only(codecs []string) []string {
	out := slices.DeleteFunc(slices.Clone(codecs), func(c string) bool {
		c2, err := media.ParseCodec(c)
		return err != nil || !isG711(c2)
	})
	if len(out) == 0 {
		out = []string{"pcmu", "pcma"}
	}
	return out
}

// faxReinvite re-INVITEs the call of slot to G.711 after its stream
// switched to pass-through on a codec that is not, and restarts the stream
// with the new codec (still in pass-through). It runs on the control
// goroutine; a tone from the far end is acted on only after faxFarDelay.
func (s *session) faxReinvite(ctx context.Context, f faxSwitch) {
	l := s.slots[f.slot]
	if l == nil || !l.answered || l.held {
		return
	}
	e := s.p.streams[f.slot].Stats().Echo
	codec, err := media.ParseCodec(l.call.Remote().Codec)
	if e.Passthrough == "" || (err == nil && isG711(codec)) {
		return
	}
	if !e.PassthroughFromLine && !f.delayed {
		ch := s.p.faxSwitches
		time.AfterFunc(faxFarDelay, func() {
			select {
			case ch <- faxSwitch{slot: f.slot, delayed: true}:
			default:
			}
		})
		return
	}
	lm := s.p.localMedia(f.slot)
	lm.Codecs = g711Only(lm.Codecs)
	s.log.Info("fax or modem tone: re-inviting to G.711", "call", l.call.ID(), "codec", l.call.Remote().Codec, "tone", e.Passthrough)
	if err := l.call.Reinvite(ctx, lm, sip.SendRecv); err != nil {
		s.log.Warn("fax re-invite", "call", l.call.ID(), "err", err)
		return
	}
	s.p.setupStream(l.call, f.slot)
	s.setPath()
}
