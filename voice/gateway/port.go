package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/voice/line"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
	"github.com/loopstart/loopstart/voice/status"
)

// port is one analog port: its line state machine and RTP stream (both owned
// by the loop goroutine) and the control goroutine that owns its SIP call.
type port struct {
	g      *Gateway
	cfg    PortConfig
	kind   board.Kind
	fault  error
	line   *line.FXS
	stream *media.Stream // streams[0]: the first call's, for its statistics
	// streams carry the port's calls, two at most (call waiting, hold,
	// three-way); path says how the loop uses them (flash.go).
	streams [2]*media.Stream
	path    mediaPath
	fxo     *fxoPort // set for an FXO port (fxo.go)

	lineEv   chan line.Event
	incoming chan *sip.Call
	// referFailed reports a REFER the far end refused (flash.go).
	referFailed chan *sip.Call
	// faxSwitches carries the loop's word that a call went to fax/modem
	// pass-through (fax.go).
	faxSwitches chan faxSwitch
	// streamCall is the call each stream last started for (control
	// goroutine only).
	streamCall [2]*sip.Call
	mwi        atomic.Bool // message waiting, as last set (mwi.go)
	relay      relayState  // SIP INFO digits out (relay.go)
	// ctl takes work back to the control goroutine from the goroutines
	// that wait for the network for it (flash.go).
	ctl chan func()

	mu        sync.Mutex
	peer      string
	answered  time.Time
	callCount int
	media     *callMedia        // statistics of the current call's media
	lastCall  *status.CallStats // statistics of the previous call
}

func (g *Gateway) newPort(bp board.Port, pc PortConfig) (*port, error) {
	if err := pc.checkGains(); err != nil {
		return nil, err
	}
	p := &port{
		g: g, cfg: pc, kind: bp.Kind, fault: bp.Fault,
		lineEv:      make(chan line.Event, 32),
		incoming:    make(chan *sip.Call, 4),
		referFailed: make(chan *sip.Call, 2),
		faxSwitches: make(chan faxSwitch, 4),
		ctl:         make(chan func(), 4),
	}
	if p.fault != nil {
		g.log.Error("port out of service", "port", pc.N, "err", p.fault)
		return p, nil
	}
	if bp.Kind == board.KindFXO && bp.FXO != nil {
		return g.newFXOPort(p, bp)
	}
	if bp.Kind != board.KindFXS || bp.FXS == nil {
		return nil, fmt.Errorf("gateway: port %d: only FXS ports carry calls so far", pc.N)
	}
	lc, err := lineConfig(pc)
	if err != nil {
		return nil, err
	}
	p.line, err = line.NewFXS(pc.N, bp.FXS, lc, p.onLineEvent)
	if err != nil {
		return nil, fmt.Errorf("gateway: port %d: %w", pc.N, err)
	}
	addr := g.cfg.RTPAddr
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	for i := range p.streams {
		if p.streams[i], err = media.NewStreamWith(netip.AddrPortFrom(addr, 0), media.StreamOpts{Spare: i > 0, Batch: g.loop.SendBatch()}); err != nil {
			p.closeStreams()
			return nil, fmt.Errorf("gateway: port %d: %w", pc.N, err)
		}
	}
	p.stream = p.streams[0]
	p.path.talk = -1
	if err := g.loop.Add(bp.Slot, p); err != nil {
		p.closeStreams()
		return nil, fmt.Errorf("gateway: port %d: %w", pc.N, err)
	}
	return p, nil
}

// Tick runs the port for one frame on the loop goroutine (media.Channel).
func (p *port) Tick(now time.Duration, capture, playout []int16) {
	if p.fxo != nil {
		p.tickFXO(now, capture, playout)
		return
	}
	p.line.Tick(now, capture, playout)
	// While the line sends type II caller ID the far end is muted both
	// ways; flash.go chooses the streams (one call, or the conference).
	p.tickMedia(capture, playout)
}

// onLineEvent is the line's sink; it runs on the loop goroutine.
func (p *port) onLineEvent(ev line.Event) {
	select {
	case p.lineEv <- ev:
	default:
		// The control goroutine is far behind; dropping beats blocking the loop.
	}
}

// onLoop queues f on the loop; it logs when the queue is full.
func (p *port) onLoop(f func()) {
	if err := p.g.loop.Do(f); err != nil {
		p.g.log.Error("loop command dropped", "port", p.cfg.N, "err", err)
	}
}

// localMedia is our media for a call on stream slot.
func (p *port) localMedia(slot int) sip.LocalMedia {
	codecs := p.cfg.Codecs
	if len(codecs) == 0 {
		codecs = []string{"pcmu", "pcma"}
	}
	addr := p.streams[slot].LocalAddr()
	if addr.Addr().IsUnspecified() {
		addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), addr.Port())
	}
	addr = p.publicMedia(addr) // nat.go: the STUN address, if any
	return sip.LocalMedia{Addr: addr, Codecs: codecs, PTime: 20, Flash: p.cfg.FlashRelay == "rfc4733"}
}

// control is the port's control goroutine: it owns the port's SIP calls
// (flash.go's session).
func (p *port) control(ctx context.Context) {
	if p.fxo != nil && p.cfg.Account != "" {
		p.controlFXO(ctx)
		return
	}
	if p.line == nil {
		<-ctx.Done()
		return
	}
	log := p.g.log.With("port", p.cfg.N)
	s := newSession(p, log)
	for {
		ev0, ev1 := s.events()
		select {
		case <-ctx.Done():
			s.endAll()
			return

		case ev := <-p.lineEv:
			switch ev.Kind {
			case line.EventDialed:
				s.dial(ctx, ev.Number)
			case line.EventAnswer:
				s.answerPhone()
			case line.EventFlash:
				if !p.relayFlash(s) { // relay.go
					s.flash()
				}
			case line.EventHangup:
				s.hangup()
			}

		case c := <-p.incoming:
			s.incoming(ctx, c)

		case <-s.cfna:
			s.noAnswer()

		case c := <-p.referFailed:
			for _, l := range s.slots {
				if l != nil && l.call == c {
					s.transferFailed(l)
				}
			}

		case f := <-p.faxSwitches:
			s.faxReinvite(ctx, f)
		case f := <-p.ctl:
			f()

		case ev, ok := <-ev0:
			s.callEvent(0, ev, ok)
		case ev, ok := <-ev1:
			s.callEvent(1, ev, ok)
		}
	}
}

// errOwnExtension refuses a call from a port to its own extension.
var errOwnExtension = errors.New("the port's own extension")

// dial calls number: another port's extension directly through the
// gateway's own SIP stack, whatever the port's registrar, and anything else
// through the port's account.
func (p *port) dial(ctx context.Context, number string, slot int, o sip.DialOptions) (*sip.Call, error) {
	if callee := p.g.byExt[number]; callee != nil {
		if callee == p {
			return nil, errOwnExtension
		}
		p.g.log.Info("calling a local extension", "port", p.cfg.N, "extension", number, "callee_port", callee.cfg.N)
		return p.g.ua.DialAccount(ctx, p.cfg.Account, callee.cfg.Account, p.localMedia(slot))
	}
	return p.g.ua.DialWith(ctx, p.cfg.Account, number, p.localMedia(slot), o)
}

// startMedia starts the RTP stream of slot with the call's negotiated
// media and puts the line in talk state.
func (p *port) startMedia(c *sip.Call, slot int) {
	if !p.setupStream(c, slot) {
		return
	}
	rm := c.Remote()
	if slot == 0 {
		p.beginCallStats(rm.Codec, rm.SRTP.Suite, time.Duration(rm.PTime)*time.Millisecond, rm.Addr.String())
	}
	peer := c.Peer()
	p.setPeer(peer, true)
	p.onLoop(func() { p.line.Connected(peer) })
}

// setupStream (re)starts the stream of slot with the call's negotiated
// media (new address, codec or keys); false when the call is being hung
// up for want of SRTP.
func (p *port) setupStream(c *sip.Call, slot int) bool {
	rm := c.Remote()
	codec, err := media.ParseCodec(rm.Codec)
	if err != nil {
		p.g.log.Warn("unusable media", "port", p.cfg.N, "err", err)
		codec = media.PCMU
	}
	echo := p.cfg.echoOpts()
	st := p.streams[slot]
	same := p.streamCall[slot] == c
	if same {
		// The same call renegotiated: a call in fax/modem pass-through
		// stays in it.
		if e := st.Stats().Echo; e.Passthrough != "" && e.Passthrough != media.PassthroughFaxLine {
			echo.Passthrough, echo.PassthroughFromLine = e.Passthrough, e.PassthroughFromLine
		}
	}
	p.streamCall[slot] = c
	if !isG711(codec) {
		echo.OnPassthrough = p.onPassthrough(slot)
	}
	sess := media.Session{Remote: rm.Addr, Codec: codec, PT: rm.PT, DTMFPT: rm.DTMFPT,
		PTime: time.Duration(rm.PTime) * time.Millisecond, Echo: echo}
	p.cfg.setGains(&sess)
	crypto, err := sessionCrypto(c)
	if err != nil {
		// Never fall back to clear media: end the call instead.
		p.g.log.Error("srtp setup failed; hanging up", "port", p.cfg.N, "call", c.ID(), "err", err)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.Hangup(ctx)
		}()
		return false
	}
	sess.Crypto = crypto
	sess.Continue = same // the same call renegotiated or answered: one RTP source
	if slot == 0 {
		p.mu.Lock()
		if p.media != nil {
			// Renegotiated. A new record, never a write to the old
			// one: the status reads it after letting go of p.mu.
			m := *p.media
			m.codec = rm.Codec
			p.media = &m
		}
		p.mu.Unlock()
	}
	p.infoDTMF(c, slot, &sess) // relay.go
	p.onLoop(func() { st.Start(sess) })
	return true
}

func (p *port) setPeer(peer string, answered bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peer = peer
	if answered {
		p.answered = time.Now()
		p.callCount++
	} else {
		p.answered = time.Time{}
	}
}

func (p *port) status() status.PortStatus {
	ps := status.PortStatus{Port: p.cfg.N, Kind: string(p.kind), Account: p.cfg.Account, Hook: "on", State: "idle"}
	if p.fault != nil {
		ps.State, ps.Fault = "fault", p.fault.Error()
		return ps
	}
	if p.fxo != nil {
		p.fxo.fill(&ps)
	} else {
		ps.State = p.line.State().String()
		if p.line.OffHook() {
			ps.Hook = "off"
		}
	}
	p.mu.Lock()
	ps.Peer = p.peer
	if !p.answered.IsZero() {
		ps.CallSeconds = time.Since(p.answered).Seconds()
	}
	p.mu.Unlock()
	ps.Call, ps.LastCall = p.callStats()
	if p.fxo != nil {
		return ps
	}
	ps.MWI = p.mwi.Load()
	if f, ok := p.g.Features(p.cfg.N); ok {
		ps.Features = &f
	}
	return ps
}

// sessionCrypto builds the SRTP state of a call's negotiated keys; nil for
// clear RTP. A mandatory account without keys is an error (the SIP layer
// refuses such calls; this is the last line of defence).
func sessionCrypto(c *sip.Call) (*media.Crypto, error) {
	keys := c.Remote().SRTP
	if !keys.Enabled() {
		if a := c.Account(); a != nil && a.SRTP == sip.SRTPMandatory {
			return nil, errors.New("srtp is mandatory and the call has no keys")
		}
		return nil, nil
	}
	kl, sl, ok := sip.SuiteKeyLen(keys.Suite)
	if !ok {
		return nil, fmt.Errorf("srtp suite %q not supported", keys.Suite)
	}
	return media.NewCrypto(keys.Suite, keys.Local[:kl+sl], keys.Remote[:kl+sl])
}

// closeStreams closes the port's RTP streams.
func (p *port) closeStreams() {
	for _, s := range p.streams {
		if s != nil {
			s.Close()
		}
	}
}
