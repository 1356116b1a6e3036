package gateway

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/voice/line"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/voice/status"
)

// FXOConfig is the trunk setting of an FXO port (PortConfig.FXO).
type FXOConfig struct {
	// PSTNTo is where PSTN calls go: an extension (another port's), a
	// number or a sip: URI dialed through the port's account, or a hunt
	// list of them separated by commas, tried in order: each for
	// HuntTimeout (the last until the PSTN caller gives up), the next at
	// once when one refuses or fails. Empty means two-stage dialing: the
	// line is answered, the caller hears a second dial tone and keys the
	// number (PortConfig.DigitMap completes it).
	PSTNTo string
	// HuntTimeout is how long each target of a hunt list rings before the
	// next is tried; zero means DefaultHuntTimeout.
	HuntTimeout time.Duration
	// AnswerRings, when above zero, answers the line after that many rings
	// even before the SIP side answers; zero answers when it does.
	AnswerRings int
	// AnswerRule is line.AnswerPolarity (default) or line.AnswerImmediate.
	AnswerRule string
	// SilenceTimeout releases a call after this long of silence from the
	// line; zero never does.
	SilenceTimeout time.Duration
	// BlindDial dials without waiting for dial tone.
	BlindDial bool
	// DialToneWait bounds the wait for dial tone; zero means
	// line.DefaultDialToneWait.
	DialToneWait time.Duration
	// Strip is how many leading digits of a SIP-dialed number are removed
	// before dialing; Prefix is then put in front.
	Strip  int
	Prefix string
}

// DefaultHuntTimeout is how long a target of an FXO port's hunt list rings
// before the next one is tried.
const DefaultHuntTimeout = 20 * time.Second

// huntList splits a PSTNTo setting into its targets.
func huntList(to string) []string {
	var out []string
	for t := range strings.SplitSeq(to, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// fxoPort is an FXO port: the line state machine on the DAA and its events
// for the control goroutine. The line's echo is cancelled by the port's
// media stream, as on an FXS port.
type fxoPort struct {
	dev     board.FXO
	line    *line.FXO
	scratch []int16
	ev      chan line.FXOEvent
	dm      *line.DigitMap
	cfg     FXOConfig
	// chipGains: the port's gains are in the DAA's gain stages, not in
	// the media path.
	chipGains bool
}

// newFXOPort finishes p as an FXO port, run by the media loop on its slot.
func (g *Gateway) newFXOPort(p *port, bp board.Port) (*port, error) {
	prof, err := profileFor(p.cfg.Country)
	if err != nil {
		return nil, fmt.Errorf("gateway: port %d: %w", p.cfg.N, err)
	}
	fc := p.cfg.FXO
	f := &fxoPort{dev: bp.FXO, ev: make(chan line.FXOEvent, 32), cfg: fc}
	lc := line.FXOConfig{Profile: prof, CallerIDOff: p.cfg.CallerID == "off", AnswerRule: fc.AnswerRule,
		SilenceTimeout: fc.SilenceTimeout, BlindDial: fc.BlindDial, DialToneWait: fc.DialToneWait}
	f.line, err = line.NewFXO(p.cfg.N, bp.FXO, lc, func(ev line.FXOEvent) {
		select {
		case f.ev <- ev:
		default:
		}
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if p.cfg.DigitMap != "" {
		if f.dm, err = line.ParseDigitMap(p.cfg.DigitMap); err != nil {
			return nil, fmt.Errorf("gateway: port %d dial plan: %w", p.cfg.N, err)
		}
	}
	if f.chipGains, err = p.cfg.setChipGains(bp.FXO); err != nil {
		return nil, err
	}
	p.fxo = f
	if p.cfg.Account != "" {
		addr := g.cfg.RTPAddr
		if !addr.IsValid() {
			addr = netip.IPv4Unspecified()
		}
		if p.stream, err = media.NewStreamWith(netip.AddrPortFrom(addr, 0), media.StreamOpts{Batch: g.loop.SendBatch()}); err != nil {
			return nil, fmt.Errorf("gateway: port %d: %w", p.cfg.N, err)
		}
		p.streams[0] = p.stream // the trunk carries one call
	}
	if err := g.loop.Add(bp.Slot, p); err != nil {
		if p.stream != nil {
			p.stream.Close()
		}
		return nil, err
	}
	return p, nil
}

// addFXOPorts adds every FXO port of the board the config does not list,
// so that its line shows in the status.
func (g *Gateway) addFXOPorts() error {
	listed := map[int]bool{}
	for _, p := range g.ports {
		listed[p.cfg.N] = true
	}
	for _, bp := range g.cfg.Board.Ports {
		if bp.Kind != board.KindFXO || listed[bp.N] {
			continue
		}
		p, err := g.newPort(bp, PortConfig{N: bp.N})
		if err != nil {
			return err
		}
		g.ports = append(g.ports, p)
	}
	return nil
}

// tickFXO runs the FXO port for one frame on the loop goroutine: the media
// stream's echo canceller takes the line's echo of the SIP side out of the
// capture, the line state machine supervises the linear canceller's output
// (the far end's echo must neither pass for the office's tones nor hide
// them, and the non-linear processor would suppress a busy tone quieter
// than the echo), then the stream sends the fully processed frame and
// fills the playout while the line is cut through. Before the stream runs
// there is nothing to cancel: the line hears the raw capture. It does not
// allocate.
func (p *port) tickFXO(now time.Duration, capture, playout []int16) {
	f := p.fxo
	if len(f.scratch) != len(playout) {
		f.scratch = make([]int16, len(playout))
	}
	clear(playout)
	heard, sent := capture, capture
	through := p.stream != nil && p.stream.Active() && f.line.CutThrough()
	if through {
		sent, heard = p.stream.CancelEchoLinear(capture)
	}
	f.line.Tick(now, heard, playout)
	if !through || !p.stream.Active() {
		return
	}
	if !f.line.CutThrough() {
		// The line hung up this frame: nothing more goes either way.
		return
	}
	p.stream.SendCancelled(sent)
	if f.line.Dialing() {
		// Keep the jitter buffer moving while the line plays its own
		// digits, whose echo the canceller must learn instead.
		p.stream.Receive(f.scratch)
		p.stream.SetEchoReference(playout)
		return
	}
	p.stream.Receive(playout)
}

// fill describes the line in ps.
func (f *fxoPort) fill(ps *status.PortStatus) {
	s := f.line.Status()
	st := s.Line
	ls := &status.LineStatus{Volts: st.LineVolts, LoopMA: st.LoopMA, Polarity: "normal",
		Battery: st.Battery, InUse: st.InUse, Rings: st.Rings, Call: s.State.String(), Disconnect: s.LastDisconnect}
	if s.Caller != nil {
		ls.CallerNumber, ls.CallerName = s.Caller.Number, s.Caller.Name
	}
	ls.Dialed = s.Dialed
	if st.Reversed {
		ls.Polarity = "reversed"
	}
	if s.Err != nil {
		ls.Error = s.Err.Error()
	}
	ps.Line = ls
	switch {
	case !s.Polled:
		ps.State = "idle"
	case st.OffHook:
		ps.State, ps.Hook = "offhook", "off"
		if s.State == line.FXOTalking {
			ps.State = "talking"
		}
	case s.State == line.FXORinging || st.Ringing:
		ps.State = "ringing"
	case !st.Battery:
		ps.State = "disconnected"
	default:
		ps.State = "idle"
	}
}

// fxoNumber applies the port's strip and prefix to a number dialed from SIP.
func (f *fxoPort) fxoNumber(n string) string {
	if n == "" {
		return ""
	}
	if f.cfg.Strip > 0 {
		n = n[min(f.cfg.Strip, len(n)):]
	}
	return f.cfg.Prefix + n
}

// dialable keeps the DTMF digits of n.
func dialable(n string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '0' && r <= '9') || r == '*' || r == '#' || (r >= 'A' && r <= 'D') {
			return r
		}
		return -1
	}, n)
}

// fxoCall is the state of the FXO port's current call.
type fxoCall struct {
	call     *sip.Call
	events   <-chan sip.Event
	incoming bool // a SIP call to the PSTN (the call is incoming on SIP)
	answered bool // the SIP side is answered
	media    bool // the stream runs
	lineUp   bool // the line is answered (PSTN → SIP)
	refused  bool // this ringing episode's SIP call failed: do not retry
}

// controlFXO is the control goroutine of an FXO port with an account.
func (p *port) controlFXO(ctx context.Context) {
	log := p.g.log.With("port", p.cfg.N, "kind", "fxo")
	f := p.fxo
	var cur fxoCall
	var collectCaller *line.Caller // caller ID of a two-stage call
	// The hunt list of the PSTN call ringing now: the targets, the next
	// one's index, the caller, and the running target's timer.
	var hunt []string
	var huntNext int
	var huntCaller *line.Caller
	var huntTimer *time.Timer
	var huntC <-chan time.Time
	stopHunt := func() {
		if huntTimer != nil {
			huntTimer.Stop()
		}
		hunt, huntNext, huntCaller, huntTimer, huntC = nil, 0, nil, nil, nil
	}
	huntTimeout := f.cfg.HuntTimeout
	if huntTimeout <= 0 {
		huntTimeout = DefaultHuntTimeout
	}
	release := func() { p.onLoop(f.line.Release) }
	endCall := func() {
		if cur.media {
			p.endCallStats(log)
			p.onLoop(p.stream.Stop)
		}
		p.setPeer("", false)
		cur = fxoCall{refused: cur.refused}
	}
	hangup := func(code int, reason string) {
		c := cur.call
		if c == nil {
			return
		}
		answered, incoming := cur.answered, cur.incoming
		endCall()
		if incoming && !answered {
			_ = c.Reject(code, reason)
			return
		}
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Hangup(hctx); err != nil {
			log.Warn("hangup", "call", c.ID(), "err", err)
		}
	}
	startMedia := func() {
		c := cur.call
		rm := c.Remote()
		codec, err := media.ParseCodec(rm.Codec)
		if err != nil {
			codec = media.PCMU
		}
		sess := media.Session{Remote: rm.Addr, Codec: codec, PT: rm.PT, DTMFPT: rm.DTMFPT,
			PTime: time.Duration(rm.PTime) * time.Millisecond, Echo: p.cfg.echoOpts()}
		sess.Echo.Off = false // the line's hybrid echo is always cancelled on a trunk
		if !f.chipGains {
			p.cfg.setGains(&sess)
		}
		crypto, err := sessionCrypto(c)
		if err != nil {
			log.Error("srtp setup failed; hanging up", "call", c.ID(), "err", err)
			hangup(488, "Not Acceptable Here")
			release()
			return
		}
		sess.Crypto = crypto
		sess.Continue = cur.media // early media become the answer, a re-INVITE: one RTP source
		if !cur.media {
			p.beginCallStats(rm.Codec, rm.SRTP.Suite, sess.PTime, rm.Addr.String())
		}
		cur.media = true
		p.infoDTMF(c, 0, &sess) // relay.go: INFO digits to the line, and from it with DTMF "info"
		p.onLoop(func() { p.stream.Start(sess) })
	}
	dialSIP := func(target string, caller *line.Caller) {
		party := sip.CallingParty{}
		if caller != nil {
			party = sip.CallingParty{Number: caller.Number, Name: caller.Name}
		}
		var c *sip.Call
		var err error
		if callee := p.g.byExt[target]; callee != nil && callee != p {
			c, err = p.g.ua.DialAccountAs(ctx, p.cfg.Account, callee.cfg.Account, p.localMedia(0), party)
		} else {
			c, err = p.g.ua.DialAs(ctx, p.cfg.Account, target, p.localMedia(0), party)
		}
		if err != nil {
			log.Warn("pstn call to sip failed", "to", target, "err", err)
			return
		}
		cur.call, cur.events = c, c.Events()
		p.setPeer(target, false)
		log.Info("pstn call", "to", target, "caller", party.Number, "name", party.Name, "call", c.ID())
	}
	// dialHunt calls the hunt list's next target that takes the call,
	// timing it unless it is the last; it reports false when none is left.
	dialHunt := func() bool {
		if huntTimer != nil {
			huntTimer.Stop()
			huntTimer, huntC = nil, nil
		}
		for huntNext < len(hunt) {
			target := hunt[huntNext]
			huntNext++
			dialSIP(target, huntCaller)
			if cur.call == nil {
				continue
			}
			if huntNext < len(hunt) {
				huntTimer = time.NewTimer(huntTimeout)
				huntC = huntTimer.C
			}
			return true
		}
		cur.refused = true
		return false
	}
	for {
		select {
		case <-ctx.Done():
			stopHunt()
			hangup(480, "Temporarily Unavailable")
			release()
			return

		case ev := <-f.ev:
			log.Debug("fxo line event", "event", ev.Kind.String(), "reason", ev.Reason, "rings", ev.Rings)
			switch ev.Kind {
			case line.EventFXOIncoming:
				if cur.call != nil {
					continue
				}
				cur.refused = false
				if f.cfg.PSTNTo == "" {
					log.Info("pstn call: two-stage dialing", "caller", callerNumber(ev.Caller))
					collectCaller = ev.Caller
					p.onLoop(func() { f.line.AnswerCollect(f.dm) })
					continue
				}
				stopHunt()
				hunt, huntCaller = huntList(f.cfg.PSTNTo), ev.Caller
				dialHunt()
				if f.cfg.AnswerRings > 0 && ev.Rings >= f.cfg.AnswerRings {
					cur.lineUp = true
					p.onLoop(func() { f.line.Answer() })
				}
			case line.EventFXORing:
				if cur.call != nil && !cur.lineUp && f.cfg.AnswerRings > 0 && ev.Rings >= f.cfg.AnswerRings {
					cur.lineUp = true
					p.onLoop(func() { f.line.Answer() })
				}
			case line.EventFXOCollected:
				caller := collectCaller
				collectCaller = nil
				if ev.Number == "" {
					log.Info("two-stage dialing: no number")
					release()
					continue
				}
				cur.lineUp = true
				dialSIP(ev.Number, caller)
				if cur.call == nil {
					cur.refused = true
					release()
				}
			case line.EventFXORingEnd:
				log.Info("pstn caller gave up")
				stopHunt()
				hangup(487, "Request Terminated")
			case line.EventFXODialed:
				if cur.call == nil {
					continue
				}
				if cur.call.Dialed() == "" || f.fxoNumber(dialable(cur.call.Dialed())) == "" {
					// Two-stage: answer at once so the caller can key the number.
					if err := cur.call.Answer(p.localMedia(0)); err != nil {
						hangup(488, "Not Acceptable Here")
						release()
						continue
					}
					cur.answered = true
					p.setPeer(cur.call.Peer(), true)
				} else if err := cur.call.Progress(p.localMedia(0)); err != nil {
					log.Warn("183 early media", "err", err)
					continue
				}
				startMedia()
			case line.EventFXOAnswered:
				if cur.call == nil || cur.answered {
					continue
				}
				if err := cur.call.Answer(p.localMedia(0)); err != nil {
					log.Warn("answer", "err", err)
					hangup(488, "Not Acceptable Here")
					release()
					continue
				}
				cur.answered = true
				p.setPeer(cur.call.Peer(), true)
				startMedia()
			case line.EventFXODisconnect, line.EventFXOFailed:
				log.Info("pstn line ended the call", "reason", ev.Reason)
				stopHunt()
				code, reason := 480, "Temporarily Unavailable"
				switch ev.Reason {
				case line.ReasonBusy:
					code, reason = 486, "Busy Here"
				case line.ReasonNoTone, line.ReasonReorder:
					code, reason = 503, "Service Unavailable"
				}
				hangup(code, reason)
			case line.EventFXOInUse:
				log.Info("parallel phone", "off_hook", ev.InUse)
			}

		case c := <-p.incoming:
			if cur.call != nil {
				_ = c.Reject(486, "Busy Here")
				continue
			}
			number := f.fxoNumber(dialable(c.Dialed()))
			ok := false
			if err := p.g.loop.Call(ctx, func() { ok = f.line.Seize(number) }); err != nil || !ok {
				_ = c.Reject(486, "Busy Here")
				continue
			}
			log.Info("sip call to pstn", "from", c.Peer(), "number", number, "call", c.ID())
			cur = fxoCall{call: c, events: c.Events(), incoming: true}
			p.setPeer(number, false)
			if err := c.Ringing(); err != nil {
				log.Warn("180 ringing", "err", err)
			}

		case <-huntC:
			huntTimer, huntC = nil, nil
			if cur.call == nil || cur.answered || cur.incoming {
				continue
			}
			log.Info("hunt: no answer, next target", "to", cur.call.Peer(), "after", huntTimeout)
			c, lineUp := cur.call, cur.lineUp
			endCall()
			cur.lineUp = lineUp
			// Cancelled in the background: a target that never sent a
			// provisional answer holds the CANCEL until it times out.
			go func() {
				hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := c.Hangup(hctx); err != nil {
					log.Debug("hunt: cancel", "call", c.ID(), "err", err)
				}
			}()
			if !dialHunt() && lineUp {
				release()
			}

		case ev, ok := <-cur.events:
			if !ok {
				cur.events = nil
				continue
			}
			switch ev.Kind {
			case sip.EventAnswered:
				if cur.incoming {
					continue // the ACK of our 200
				}
				cur.answered = true
				stopHunt()
				p.setPeer(cur.call.Peer(), true)
				if !cur.lineUp {
					cur.lineUp = true
					p.onLoop(func() { f.line.Answer() })
				}
				startMedia()
			case sip.EventMediaChanged:
				if cur.media {
					startMedia()
				}
			case sip.EventFailed:
				log.Info("pstn call to sip failed", "code", ev.Code, "reason", ev.Reason)
				lineUp := cur.lineUp
				endCall()
				if huntNext < len(hunt) {
					cur.lineUp = lineUp
					if dialHunt() {
						continue
					}
				}
				stopHunt()
				cur.refused = true
				if lineUp {
					release()
				}
			case sip.EventEnded:
				log.Info("call ended", "reason", ev.Reason)
				stopHunt()
				endCall()
				release()
			}
		}
	}
}

func callerNumber(c *line.Caller) string {
	if c == nil {
		return ""
	}
	return c.Number
}
