package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
)

// Signals handed to the far end instead of acted on here, and back:
//   - a hook flash in a call, with PortConfig.FlashRelay set, goes out
//     as RFC 4733 event 16 on the call's stream (or, when the call
//     negotiated no telephone-event, as SIP INFO Signal=16) or as SIP
//     INFO (application/hook-flash, application/dtmf-relay); the local
//     flash session (call waiting, hold, transfer) never sees it. A
//     port with PBXFeatures and no FlashRelay still handles flash here.
//   - with PortConfig.DTMF "info" the phone's digits go out as SIP INFO
//     (application/dtmf-relay) instead of RFC 4733 events;
//   - a digit that comes in a SIP INFO is played to the phone, whatever
//     the port's DTMF setting.

// Flash relay modes (PortConfig.FlashRelay).
const (
	FlashRelayRFC4733   = "rfc4733"
	FlashRelayHookFlash = "info-hookflash"
	FlashRelayDTMFInfo  = "info-dtmf"
)

// DTMFInfo is the PortConfig.DTMF value that sends digits as SIP INFO.
const DTMFInfo = "info"

// flashEvent is the length of a relayed RFC 4733 flash event.
const flashEvent = 200 * time.Millisecond

// relayState is a port's INFO digit sender: digits go out one INFO at a
// time, in the order the phone keyed them.
type relayState struct {
	once   sync.Once
	digits chan infoDigit
	// dropped is set once digits were dropped for a full queue (logged
	// once).
	dropped atomic.Bool
}

// infoQueue is how many INFO digits may wait to be sent.
const infoQueue = 32

type infoDigit struct {
	call *sip.Call
	key  byte
	d    time.Duration
}

// relayFlash sends a flash to the far end of the phone's call when the
// port relays flashes; it reports whether it took the flash (false: the
// local session handles it). Control goroutine.
func (p *port) relayFlash(s *session) bool {
	mode := p.cfg.FlashRelay
	if mode == "" {
		return false
	}
	log := p.g.log.With("port", p.cfg.N, "relay", mode)
	if s.talk < 0 || s.slots[s.talk] == nil || !s.slots[s.talk].answered {
		log.Info("flash not relayed: no call")
		return true
	}
	l := s.slots[s.talk]
	c := l.call
	if mode == FlashRelayRFC4733 && c.Remote().DTMFPT == 0 {
		log.Info("call has no telephone-event: flash relayed as SIP INFO")
		mode = FlashRelayDTMFInfo
	}
	log.Info("flash relayed", "call", c.ID())
	if mode == FlashRelayRFC4733 {
		st := p.streams[l.slot]
		p.onLoop(func() { st.SendEvent(media.EventFlash, flashEvent) })
		return true
	}
	bg(func(ctx context.Context) {
		if err := c.SendFlash(ctx, mode == FlashRelayHookFlash); err != nil {
			log.Warn("flash relay failed", "call", c.ID(), "err", err)
		}
	})
	return true
}

// infoDTMF wires a call's SIP INFO digits into the media session of its
// stream: received ones play to the phone, and with PortConfig.DTMF
// "info" the phone's go out as INFO. Control goroutine.
func (p *port) infoDTMF(c *sip.Call, slot int, sess *media.Session) {
	st := p.streams[slot]
	c.OnDTMF(func(key byte, d time.Duration) {
		p.onLoop(func() { st.PlayDigit(key, d) })
	})
	if p.cfg.DTMF != DTMFInfo {
		return
	}
	p.relay.once.Do(func() {
		p.relay.digits = make(chan infoDigit, infoQueue)
		go p.sendDigits(p.relay.digits)
	})
	ch := p.relay.digits
	sess.OnDigit = func(key byte, d time.Duration) {
		select {
		case ch <- infoDigit{call: c, key: key, d: d}:
		default: // far behind: drop rather than block the loop
			if p.relay.dropped.CompareAndSwap(false, true) {
				go p.g.log.Warn("dtmf info digits dropped: the far end answers too slowly",
					"port", p.cfg.N, "call", c.ID(), "queue", infoQueue)
			}
		}
	}
}

// sendDigits sends the port's INFO digits in order, for the life of the
// process.
func (p *port) sendDigits(ch <-chan infoDigit) {
	for dg := range ch {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := dg.call.SendDTMF(ctx, dg.key, max(dg.d, 100*time.Millisecond))
		cancel()
		if err != nil {
			p.g.log.Warn("dtmf info failed", "port", p.cfg.N, "call", dg.call.ID(), "err", err)
		}
	}
}
