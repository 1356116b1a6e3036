package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
	"github.com/loopstart/loopstart/voice/line"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
)

// Flash call control. A port carries at most two calls, each on its own
// RTP stream (slot 0 and 1). The control goroutine (session) decides:
//
//   - call waiting: a call arriving during a call plays the country's
//     call-waiting tone and type II caller ID; flash answers it and holds
//     the first (re-INVITE sendonly, inactive when the far end holds us),
//     each further flash swaps; hanging up rings the phone for the other;
//   - hold and consultation: flash in a call holds it and gives a second
//     dial tone; the number dialed is the consultation call; flash before
//     it answers drops it and returns to the held call;
//   - three-way: flash once the consultation call answers joins the three
//     (mixed in the loop, media.Conference); flash again drops the third;
//     hanging up the conference transfers one to the other when the port
//     says so, else ends both;
//   - transfer: hanging up during the consultation REFERs the held party
//     to the third (blind while it rings, attended with Replaces once it
//     answered); a transfer that fails rings the phone back with the held
//     party;
//   - far end: re-INVITEs to hold us are answered (music on hold plays
//     through), REFERs followed (EventReferred), INVITEs with Replaces
//     take the replaced call's place.

// leg is one SIP call of the port.
type leg struct {
	call     *sip.Call
	events   <-chan sip.Event
	slot     int         // stream index
	answered bool        // media is up (talking or held)
	held     bool        // we hold it
	caller   line.Caller // incoming: who calls, for caller ID when it rings again
	xfer     bool        // we REFERred it; waiting for the outcome
	referred *leg        // the call a REFER of this leg asked for (we are transferred)
	referrer *leg        // for a call placed on a REFER: the leg that asked
	// replaced is the call an INVITE with Replaces took the place of,
	// hung up once our 200 is ACKed (or the new call is over), so its
	// far end never sees the BYE before the new dialog is confirmed.
	replaced *sip.Call
	// reinvite is closed when the last re-INVITE of the leg is over; the
	// next waits for it, so they reach the far end in order.
	reinvite chan struct{}
	// early: the far end's early media plays to the phone (earlymedia.go).
	early bool
}

// mediaPath is what the loop does with the port's streams in talk state;
// the loop goroutine owns it (changed only through onLoop).
type mediaPath struct {
	talk   int     // slot the phone talks with; -1 none
	conf   bool    // both slots mixed with the phone
	send   [2]bool // send RTP on the slot (the far end takes media)
	cw     bool    // call-waiting tone over the speech
	early  bool    // the talk slot plays early media before the answer (earlymedia.go)
	cwTone dsp.ToneGen
	mix    media.Conference
	buf    [pcm.FrameSamples]int16
}

// tickMedia runs the port's streams for one frame in talk state.
func (p *port) tickMedia(capture, playout []int16) {
	m := &p.path
	if (p.line.State() != line.StateTalking && !m.earlyPlays(p.line.State())) || p.line.SpeechMuted() {
		return
	}
	switch {
	case m.conf:
		m.mix.Tick(capture, playout, p.streams[0], p.streams[1], m.send[0], m.send[1])
	case m.talk >= 0:
		s := p.streams[m.talk]
		if !s.Active() {
			return
		}
		if m.send[m.talk] {
			s.Send(capture)
		}
		s.Receive(playout)
	}
	if m.cw {
		n := min(len(playout), len(m.buf))
		m.cwTone.Fill(m.buf[:n])
		media.MixInto(playout, m.buf[:n])
	}
}

// session is the port's calls, owned by the control goroutine.
type session struct {
	p     *port
	log   *slog.Logger
	slots [2]*leg
	talk  int  // slot the phone is on; -1: none (second dial tone)
	conf  bool // three-way running
	third int  // conference: the slot added last (dropped by flash)
	// consult: the phone put the other slot on hold for a second dial
	// tone or consultation call.
	consult bool
	// cfna fires when the ringing call is to be forwarded for want of an
	// answer, to cfnaTo; nil when no forwarding is due.
	cfna     <-chan time.Time
	cfnaTo   string
	cfnaCall *sip.Call
}

func newSession(p *port, log *slog.Logger) *session {
	return &session{p: p, log: log, talk: -1}
}

// idle reports whether the port has no call.
func (s *session) idle() bool { return s.slots[0] == nil && s.slots[1] == nil }

func (s *session) free() int {
	for i, l := range s.slots {
		if l == nil {
			return i
		}
	}
	return -1
}

func other(i int) int { return 1 - i }

// events returns the SIP event channels of both slots (nil for none).
func (s *session) events() (a, b <-chan sip.Event) {
	if s.slots[0] != nil {
		a = s.slots[0].events
	}
	if s.slots[1] != nil {
		b = s.slots[1].events
	}
	return a, b
}

// setPath publishes the loop's media path.
func (s *session) setPath() {
	talk, conf := s.talk, s.conf
	var send [2]bool
	for i, l := range s.slots {
		if l != nil && l.answered && !l.held {
			send[i] = l.call.Remote().ReceivesMedia()
		}
	}
	early := s.earlyOn()
	p := s.p
	p.onLoop(func() {
		p.path.talk, p.path.conf, p.path.send = talk, conf, send
		p.path.early = early
	})
}

// bg runs a SIP operation that waits for the network off the control
// goroutine's select loop; the outcome comes back as the call's events.
func bg(f func(ctx context.Context)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
		defer cancel()
		f(ctx)
	}()
}

// dial places an outgoing call on a free slot for the phone.
func (s *session) dial(ctx context.Context, number string) {
	i := s.free()
	if i < 0 || s.talk >= 0 {
		return
	}
	req := s.p.feature(number)
	if req.number == "" {
		if req.ok {
			s.p.onLoop(s.p.line.Confirm)
		} else {
			s.p.onLoop(s.p.line.Reorder)
		}
		return
	}
	number = req.number
	s.log.Info("dialing", "number", number, "consultation", s.consult, "private", req.private)
	c, err := s.p.dial(ctx, number, i, sip.DialOptions{Private: req.private})
	if err != nil {
		s.log.Warn("call failed", "number", number, "err", err)
		s.p.onLoop(s.p.line.Reorder)
		return
	}
	s.slots[i] = &leg{call: c, events: c.Events(), slot: i}
	s.talk = i
	if !s.consult {
		s.p.setPeer(number, false)
	}
	s.p.onLoop(s.p.line.Calling)
}

// incoming takes a new call: the only one, a waiting one, or the
// replacement of one of ours.
func (s *session) incoming(ctx context.Context, c *sip.Call) {
	p := s.p
	id := c.Caller()
	caller := line.Caller{Number: id.Number, Name: id.Name, Private: id.Private, Unavailable: id.Unavailable}
	s.settle()
	if old := c.Replaces(); old != nil {
		if s.replace(old, c) {
			return
		}
		_ = c.Reject(481, "Call/Transaction Does Not Exist")
		return
	}
	if p.screen(c, !s.idle()) {
		return // forwarded or refused by the port's features
	}
	if s.idle() {
		ok := false
		ring := dsp.DistinctiveRing(sip.RingPattern(c.AlertInfo())) // nil: the country's cadence
		if err := p.g.loop.Call(ctx, func() { _ = p.line.SetNextRingCadence(ring); ok = p.line.RingCaller(caller) }); err != nil || !ok {
			_ = c.Reject(486, "Busy Here")
			return
		}
		s.log.Info("incoming call", "from", c.Peer(), "call", c.ID())
		if err := c.Ringing(); err != nil {
			s.log.Warn("180 ringing", "err", err)
		}
		s.slots[0] = &leg{call: c, events: c.Events(), slot: 0, caller: caller}
		s.talk = 0
		s.cfna, s.cfnaTo = p.noAnswer()
		s.cfnaCall = c
		p.setPeer(c.Peer(), false)
		return
	}
	// Call waiting: one answered call the phone talks with, nothing else.
	i := s.free()
	if p.cfg.NoCallWaiting || i < 0 || s.talk < 0 || s.conf || s.consult || !s.slots[s.talk].answered {
		_ = c.Reject(486, "Busy Here")
		return
	}
	s.log.Info("call waiting", "from", c.Peer(), "call", c.ID())
	if err := c.Ringing(); err != nil {
		s.log.Warn("180 ringing", "err", err)
	}
	s.slots[i] = &leg{call: c, events: c.Events(), slot: i, caller: caller}
	s.callWaitingTone(true)
	// Type II caller ID once the tone's first burst is over.
	burst := 300 * time.Millisecond
	if cad := p.line.Profile().CallWaiting.Cadence; len(cad) > 0 {
		burst = cad[0] + 100*time.Millisecond
	}
	time.AfterFunc(burst, func() {
		p.onLoop(func() {
			if p.path.cw {
				p.path.cw = false
				p.path.cwTone.Stop()
				p.line.CallWaitingID(caller)
			}
		})
	})
}

// settle takes in the last events of calls that ended before c arrived
// (a CANCEL just ahead of a new INVITE, as in a blind transfer to this
// port): the select of the control loop does not keep their order.
func (s *session) settle() {
	for i, l := range s.slots {
		if l == nil {
			continue
		}
		select {
		case <-l.call.Done():
		default:
			continue
		}
		for s.slots[i] == l {
			ev, ok := <-l.events
			s.callEvent(i, ev, ok)
		}
	}
}

// callWaitingTone starts or stops the call-waiting tone over the speech.
func (s *session) callWaitingTone(on bool) {
	p := s.p
	p.onLoop(func() {
		p.path.cw = on
		if on {
			p.path.cwTone.Play(&p.line.Profile().CallWaiting)
		} else {
			p.path.cwTone.Stop()
		}
	})
}

// replace puts c in the place of old, one of our calls (INVITE with
// Replaces): c is answered at once on old's stream and old hung up.
func (s *session) replace(old, c *sip.Call) bool {
	for i, l := range s.slots {
		if l == nil || l.call != old {
			continue
		}
		s.log.Info("call replaced", "old", old.ID(), "new", c.ID(), "from", c.Peer())
		s.p.onLoop(s.p.streams[i].Stop)
		if err := c.Answer(s.p.localMedia(i)); err != nil {
			s.log.Warn("answer replacing call", "err", err)
			return false
		}
		nl := &leg{call: c, events: c.Events(), slot: i, answered: true, held: l.held, replaced: old}
		s.slots[i] = nl
		s.p.setupStream(c, i)
		if s.talk == i {
			s.p.setPeer(c.Peer(), true)
			peer := c.Peer()
			s.p.onLoop(func() { s.p.line.Resume(peer) })
		}
		s.setPath()
		return true
	}
	return false
}

// noAnswer forwards the ringing call nobody answered (the port's
// forward-on-no-answer).
func (s *session) noAnswer() {
	s.cfna = nil
	l := s.slots[0]
	if l == nil || l.call != s.cfnaCall || l.answered || !l.call.Incoming() || s.talk != 0 {
		return
	}
	s.log.Info("forwarding on no answer", "to", s.cfnaTo, "call", l.call.ID())
	s.slots[0], s.talk = nil, -1
	s.p.setPeer("", false)
	s.p.onLoop(s.p.line.StopRinging)
	s.p.redirect(l.call, s.cfnaTo)
}

// answerPhone handles the phone answering a ringing line: a new call, a
// waiting call it hung up on, or a held call ringing back.
func (s *session) answerPhone() {
	if s.talk < 0 || s.slots[s.talk] == nil {
		return
	}
	l := s.slots[s.talk]
	if !l.answered {
		if !l.call.Incoming() {
			return
		}
		if err := l.call.Answer(s.p.localMedia(l.slot)); err != nil {
			s.log.Warn("answer failed", "call", l.call.ID(), "err", err)
			_ = l.call.Reject(488, "Not Acceptable Here")
			s.drop(l)
			s.p.onLoop(s.p.line.Reorder)
			return
		}
		l.answered = true
		s.cfna = nil
		s.p.startMedia(l.call, l.slot)
		s.setPath()
		return
	}
	// A held call ringing back.
	s.unhold(l)
	peer := l.call.Peer()
	s.p.setPeer(peer, true)
	s.p.onLoop(func() { s.p.line.Connected(peer) })
	s.setPath()
}

// hold puts l on hold: sendonly, or inactive when the far end holds us.
func (s *session) hold(l *leg) {
	if l == nil || l.held || !l.answered {
		return
	}
	l.held = true
	dir := sip.SendOnly
	if l.call.Remote().Holding() {
		dir = sip.Inactive
	}
	s.reinvite(l, dir)
}

// unhold takes l off hold; its stream restarts with the answer's media.
func (s *session) unhold(l *leg) {
	if l == nil || !l.held {
		return
	}
	l.held = false
	s.reinvite(l, sip.SendRecv)
}

// reinvite sends l's re-INVITE with direction dir off the control
// goroutine (a silent far end keeps it 32 s), after the leg's previous
// one. Once answered, a leg still on the port and not held again gets
// its stream restarted with the answer's media (address, codec, keys).
func (s *session) reinvite(l *leg, dir sip.Direction) {
	p, c := s.p, l.call
	local := p.localMedia(l.slot)
	prev, done := l.reinvite, make(chan struct{})
	l.reinvite = done
	bg(func(ctx context.Context) {
		defer close(done)
		if prev != nil {
			select {
			case <-prev:
			case <-ctx.Done():
				return
			}
		}
		err := c.Reinvite(ctx, local, dir)
		if err != nil {
			s.log.Warn("re-invite", "call", c.ID(), "direction", dir, "err", err)
		}
		if dir != sip.SendRecv {
			return
		}
		s.control(c, func() {
			if s.slots[l.slot] == l && !l.held && l.reinvite == done {
				p.setupStream(c, l.slot)
				s.setPath()
			}
		})
	})
}

// control runs f on the port's control goroutine; it gives up when c
// ends first (the port is stopping).
func (s *session) control(c *sip.Call, f func()) {
	select {
	case s.p.ctl <- f:
	case <-c.Done():
	}
}

// flash is the one place a hook flash is acted on.
func (s *session) flash() {
	talking := s.talk >= 0 && s.slots[s.talk] != nil
	var cur *leg
	if talking {
		cur = s.slots[s.talk]
	}
	switch {
	case s.conf:
		// Drop the third party; back to two.
		third := s.slots[s.third]
		s.conf, s.consult = false, false
		s.talk = other(s.third)
		s.endLeg(third)
		s.setPath()
	case talking && cur.answered && s.slots[other(s.talk)] != nil && !s.slots[other(s.talk)].answered:
		// Call waiting: answer the waiting call, hold the current one.
		w := s.slots[other(s.talk)]
		s.callWaitingTone(false)
		s.hold(cur)
		if err := w.call.Answer(s.p.localMedia(w.slot)); err != nil {
			s.log.Warn("answer waiting call", "err", err)
			s.drop(w)
			s.unhold(cur)
			s.setPath()
			return
		}
		w.answered = true
		s.talk = w.slot
		s.p.setupStream(w.call, w.slot)
		s.p.setPeer(w.call.Peer(), true)
		s.setPath()
	case talking && cur.answered && s.slots[other(s.talk)] != nil:
		o := s.slots[other(s.talk)]
		if s.consult && !s.p.cfg.NoThreeWay {
			// Three-way: join the held party.
			s.unhold(o)
			s.conf, s.third = true, s.talk
			s.setPath()
			return
		}
		// Swap.
		s.hold(cur)
		s.unhold(o)
		s.talk = o.slot
		s.consult = false
		peer := o.call.Peer()
		s.p.setPeer(peer, true)
		s.p.onLoop(func() { s.p.line.Resume(peer) })
		s.setPath()
	case talking && cur.answered:
		// Hold and second dial tone.
		s.hold(cur)
		s.consult = true
		s.talk = -1
		s.setPath()
		s.p.onLoop(func() { s.p.line.Recall() })
	case s.consult:
		// Back to the held call: drop the consultation attempt, if any.
		if talking {
			s.endLeg(cur)
		}
		for _, l := range s.slots {
			if l != nil && l.held {
				s.resume(l)
				return
			}
		}
	}
}

// resume makes l the phone's call again.
func (s *session) resume(l *leg) {
	s.unhold(l)
	s.talk = l.slot
	s.consult = false
	peer := l.call.Peer()
	s.p.setPeer(peer, true)
	s.p.onLoop(func() { s.p.line.Resume(peer) })
	s.setPath()
}

// hangup handles the phone going on hook.
func (s *session) hangup() {
	s.callWaitingTone(false)
	var cur, o *leg
	if s.talk >= 0 {
		cur = s.slots[s.talk]
		o = s.slots[other(s.talk)]
	} else {
		o = s.heldLeg()
	}
	switch {
	case s.conf && s.p.cfg.ConferenceTransfer:
		held := s.slots[other(s.third)]
		s.conf = false
		s.transfer(held, s.slots[s.third])
	case s.consult && cur != nil && o != nil:
		s.transfer(o, cur)
	case o != nil && (cur == nil || cur.answered):
		// Ring the phone for the other call: a waiting or held one.
		if cur != nil {
			s.endLeg(cur)
		}
		s.ringBack(o)
	default:
		s.endAll()
	}
	s.setPath()
}

// heldLeg returns the held call, if any.
func (s *session) heldLeg() *leg {
	for _, l := range s.slots {
		if l != nil && l.held {
			return l
		}
	}
	return nil
}

// transfer REFERs held to target: attended (Replaces) once target
// answered, blind while it rings (then the attempt is cancelled).
func (s *session) transfer(held, target *leg) {
	if held == nil || target == nil || !held.answered {
		s.endAll()
		return
	}
	attended := target.answered
	referTo := target.call.TransferTarget(attended)
	s.log.Info("transfer", "call", held.call.ID(), "to", referTo, "attended", attended)
	held.xfer = true
	s.talk, s.consult, s.conf = -1, false, false
	var cancel *sip.Call
	if !attended {
		// Cancelled before the REFER goes out: the transfer target
		// stops ringing for us before the held party's call reaches it.
		s.drop(target)
		cancel = target.call
	} else {
		// The far end of target is told to replace this dialog; we keep it
		// until it does (its BYE) and hear nobody meanwhile.
		target.xfer = true
		s.p.onLoop(s.p.streams[target.slot].Stop)
	}
	c := held.call
	bg(func(ctx context.Context) {
		if cancel != nil {
			// A far end slow to end the attempt holds the REFER back
			// a few seconds at most.
			cctx, stop := context.WithTimeout(ctx, 4*time.Second)
			if err := cancel.Hangup(cctx); err != nil {
				s.log.Warn("hangup", "call", cancel.ID(), "err", err)
			}
			stop()
		}
		if err := c.Refer(ctx, referTo); err != nil {
			s.p.referFailed <- c
		}
	})
}

// transferFailed rings the phone back with the party it could not transfer.
func (s *session) transferFailed(l *leg) {
	if l == nil || !l.xfer {
		return
	}
	s.log.Info("transfer failed; ringing back", "call", l.call.ID())
	l.xfer = false
	for _, o := range s.slots {
		if o != nil && o != l && o.xfer {
			s.endLeg(o)
		}
	}
	s.ringBack(l)
}

// ringBack rings the phone for l (held, or waiting unanswered).
func (s *session) ringBack(l *leg) {
	p := s.p
	s.talk = l.slot
	s.consult, s.conf = false, false
	caller := l.caller
	if caller.Number == "" && caller.Name == "" {
		caller = line.Caller{Name: l.call.Peer(), Unavailable: true}
	}
	p.onLoop(func() { p.line.RingCaller(caller) })
	p.setPeer(l.call.Peer(), false)
}

// endLeg hangs up l and forgets it.
func (s *session) endLeg(l *leg) {
	if l == nil {
		return
	}
	s.drop(l)
	c := l.call
	bg(func(ctx context.Context) {
		if err := c.Hangup(ctx); err != nil {
			s.log.Warn("hangup", "call", c.ID(), "err", err)
		}
	})
}

// endReplaced hangs up the call l took the place of, if not done yet.
func (s *session) endReplaced(l *leg) {
	old := l.replaced
	if old == nil {
		return
	}
	l.replaced = nil
	bg(func(ctx context.Context) {
		if err := old.Hangup(ctx); err != nil {
			s.log.Warn("hangup replaced call", "call", old.ID(), "err", err)
		}
	})
}

// drop forgets l and stops its stream.
func (s *session) drop(l *leg) {
	s.endReplaced(l)
	if s.slots[l.slot] != l {
		return
	}
	s.slots[l.slot] = nil
	if l.slot == 0 {
		s.p.endCallStats(s.log)
	}
	s.p.onLoop(s.p.streams[l.slot].Stop)
	if s.talk == l.slot {
		s.talk = -1
	}
	if s.idle() {
		s.talk, s.conf, s.consult = -1, false, false
		s.p.setPeer("", false)
	}
}

func (s *session) endAll() {
	for _, l := range s.slots {
		if l != nil && !l.xfer {
			s.endLeg(l)
		}
	}
}

// callEvent handles one SIP event of the call in slot i.
func (s *session) callEvent(i int, ev sip.Event, ok bool) {
	l := s.slots[i]
	if l == nil {
		return
	}
	if !ok {
		s.drop(l)
		return
	}
	p := s.p
	phone := s.talk == i
	switch ev.Kind {
	case sip.EventProgress:
		if phone && (ev.Code == 180 || ev.Code == 183) && !s.earlyMedia(l) {
			p.onLoop(p.line.Ringback)
		}
		if l.referrer != nil && ev.Code == 180 {
			r := l.referrer.call
			bg(func(ctx context.Context) { _ = r.NotifyTransfer(ctx, 180, "") })
		}
	case sip.EventAnswered:
		if l.answered {
			s.endReplaced(l) // incoming: the ACK of our 200
			return
		}
		l.answered = true
		if l.referrer != nil {
			s.referAnswered(l)
			return
		}
		if phone {
			p.startMedia(l.call, i)
		}
		s.setPath()
	case sip.EventMediaChanged:
		if l.answered && !l.held {
			s.log.Info("media renegotiated", "call", l.call.ID(), "far_hold", l.call.Remote().Holding())
			p.setupStream(l.call, i)
			s.setPath()
		}
	case sip.EventTransfer:
		switch {
		case ev.Code >= 200 && ev.Code < 300:
			s.log.Info("transfer done", "call", l.call.ID())
			l.xfer = false
			s.endLeg(l)
			// The replaced consultation call, should its far end not
			// hang it up itself.
			for _, o := range s.slots {
				if o != nil && o.xfer {
					s.endLeg(o)
				}
			}
		case ev.Code >= 300 || ev.Code == 0:
			s.transferFailed(l)
		}
	case sip.EventReferred:
		s.followRefer(l)
	case sip.EventFailed:
		s.log.Info("call failed", "code", ev.Code, "reason", ev.Reason)
		s.drop(l)
		if l.referrer != nil {
			r := l.referrer.call
			code := ev.Code
			if code < 300 {
				code = 503
			}
			bg(func(ctx context.Context) { _ = r.NotifyTransfer(ctx, code, "") })
			return
		}
		if phone {
			switch ev.Code {
			case 486, 600:
				p.onLoop(p.line.Busy)
			default:
				p.onLoop(p.line.Reorder)
			}
		}
	case sip.EventEnded:
		s.log.Info("call ended", "call", l.call.ID(), "reason", ev.Reason)
		wasAnswered := l.answered
		s.drop(l)
		switch {
		case l.xfer:
			// A transferred party or its replaced consultation call left.
		case !wasAnswered && !phone:
			s.callWaitingTone(false) // the waiting caller gave up
		case !wasAnswered && l.call.Incoming():
			p.onLoop(p.line.StopRinging)
		case phone && s.conf:
			s.conf = false
			s.talk = other(i)
			s.setPath()
		case phone:
			p.onLoop(p.line.Reorder)
		}
	}
}

// followRefer places the call a REFER of l asks for on the other slot;
// when it answers it takes l's place.
func (s *session) followRefer(l *leg) {
	i := s.free()
	if i < 0 {
		r := l.call
		bg(func(ctx context.Context) { _ = r.NotifyTransfer(ctx, 503, "") })
		return
	}
	target, by := l.call.ReferTo()
	s.log.Info("following refer", "call", l.call.ID(), "to", target, "referred_by", by)
	c, err := s.p.g.ua.DialReferred(context.Background(), l.call, s.p.localMedia(i))
	if err != nil {
		s.log.Warn("refer dial failed", "err", err)
		r := l.call
		bg(func(ctx context.Context) { _ = r.NotifyTransfer(ctx, 503, "") })
		return
	}
	nl := &leg{call: c, events: c.Events(), slot: i, referrer: l}
	l.referred = nl
	s.slots[i] = nl
}

// referAnswered switches the phone to the call placed on a REFER.
func (s *session) referAnswered(l *leg) {
	r := l.referrer
	l.referrer = nil
	rc := r.call
	wasTalk := s.talk == r.slot
	r.xfer = true // its BYE is expected; do not ring or tone
	if s.slots[r.slot] == r {
		s.drop(r)
	}
	// The NOTIFY before the BYE: a transferor that sees the dialog end
	// first takes the transfer for failed.
	bg(func(ctx context.Context) {
		_ = rc.NotifyTransfer(ctx, 200, "")
		if err := rc.Hangup(ctx); err != nil {
			s.log.Warn("hangup", "call", rc.ID(), "err", err)
		}
	})
	if wasTalk || s.talk < 0 {
		s.talk = l.slot
		s.p.startMedia(l.call, l.slot)
	}
	s.setPath()
}
