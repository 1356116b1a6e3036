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
	"github.com/loopstart/loopstart/dsp"
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
	stream *media.Stream
	fxo    *fxoPort // set for an FXO port (fxo.go)

	lineEv   chan line.Event
	incoming chan *sip.Call
	mwi      atomic.Bool // message waiting, as last set (mwi.go)

	mu        sync.Mutex
	peer      string
	answered  time.Time
	callCount int
	media     *callMedia        // statistics of the current call's media
	lastCall  *status.CallStats // statistics of the previous call
}

func (g *Gateway) newPort(bp board.Port, pc PortConfig) (*port, error) {
	p := &port{
		g: g, cfg: pc, kind: bp.Kind, fault: bp.Fault,
		lineEv:   make(chan line.Event, 32),
		incoming: make(chan *sip.Call, 4),
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
	p.stream, err = media.NewStream(netip.AddrPortFrom(addr, 0))
	if err != nil {
		return nil, fmt.Errorf("gateway: port %d: %w", pc.N, err)
	}
	if err := g.loop.Add(bp.Slot, p); err != nil {
		p.stream.Close()
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
	// While the line sends type II caller ID the far end is muted both ways.
	if p.stream.Active() && p.line.State() == line.StateTalking && !p.line.SpeechMuted() {
		p.stream.Send(capture)
		p.stream.Receive(playout)
	}
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

func (p *port) localMedia() sip.LocalMedia {
	codecs := p.cfg.Codecs
	if len(codecs) == 0 {
		codecs = []string{"pcmu", "pcma"}
	}
	addr := p.stream.LocalAddr()
	if addr.Addr().IsUnspecified() {
		addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), addr.Port())
	}
	return sip.LocalMedia{Addr: addr, Codecs: codecs, PTime: 20}
}

// control is the port's control goroutine: it owns the current SIP call.
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
	var (
		call     *sip.Call
		callEv   <-chan sip.Event
		answered bool
	)
	endCall := func() {
		p.endCallStats(log)
		call, callEv, answered = nil, nil, false
		p.onLoop(p.stream.Stop)
		p.setPeer("", false)
	}
	hangup := func() {
		if call == nil {
			return
		}
		c := call
		endCall()
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Hangup(hctx); err != nil {
			log.Warn("hangup", "call", c.ID(), "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			hangup()
			return

		case ev := <-p.lineEv:
			switch ev.Kind {
			case line.EventDialed:
				if call != nil {
					continue
				}
				log.Info("dialing", "number", ev.Number)
				c, err := p.dial(ctx, ev.Number)
				if err != nil {
					log.Warn("call failed", "number", ev.Number, "err", err)
					p.onLoop(p.line.Reorder)
					continue
				}
				call, callEv = c, c.Events()
				p.setPeer(ev.Number, false)
				p.onLoop(p.line.Calling)
			case line.EventAnswer:
				if call == nil || !call.Incoming() || answered {
					continue
				}
				if err := call.Answer(p.localMedia()); err != nil {
					log.Warn("answer failed", "call", call.ID(), "err", err)
					_ = call.Reject(488, "Not Acceptable Here")
					endCall()
					p.onLoop(p.line.Reorder)
					continue
				}
				answered = true
				p.startMedia(call)
			case line.EventHangup:
				hangup()
			}

		case c := <-p.incoming:
			if call != nil {
				_ = c.Reject(486, "Busy Here")
				continue
			}
			id := c.Caller()
			caller := line.Caller{Number: id.Number, Name: id.Name, Private: id.Private, Unavailable: id.Unavailable}
			ok := false
			ring := dsp.DistinctiveRing(sip.RingPattern(c.AlertInfo())) // nil: the country's cadence
			if err := p.g.loop.Call(ctx, func() { _ = p.line.SetNextRingCadence(ring); ok = p.line.RingCaller(caller) }); err != nil || !ok {
				_ = c.Reject(486, "Busy Here")
				continue
			}
			log.Info("incoming call", "from", c.Peer(), "call", c.ID())
			if err := c.Ringing(); err != nil {
				log.Warn("180 ringing", "err", err)
			}
			call, callEv, answered = c, c.Events(), false
			p.setPeer(c.Peer(), false)

		case ev, ok := <-callEv:
			if !ok {
				callEv = nil
				continue
			}
			switch ev.Kind {
			case sip.EventProgress:
				if ev.Code == 180 || ev.Code == 183 {
					p.onLoop(p.line.Ringback)
				}
			case sip.EventAnswered:
				answered = true
				p.startMedia(call)
			case sip.EventMediaChanged:
				if answered {
					log.Info("media renegotiated", "call", call.ID(), "srtp", call.Remote().SRTP.Suite)
					p.restartMedia(call)
				}
			case sip.EventFailed:
				log.Info("call failed", "code", ev.Code, "reason", ev.Reason)
				endCall()
				switch ev.Code {
				case 486, 600:
					p.onLoop(p.line.Busy)
				default:
					p.onLoop(p.line.Reorder)
				}
			case sip.EventEnded:
				log.Info("call ended", "reason", ev.Reason)
				wasAnswered := answered
				incoming := call != nil && call.Incoming()
				endCall()
				if incoming && !wasAnswered {
					p.onLoop(p.line.StopRinging)
				} else {
					p.onLoop(p.line.Reorder)
				}
			}
		}
	}
}

// errOwnExtension refuses a call from a port to its own extension.
var errOwnExtension = errors.New("the port's own extension")

// dial calls number: another port's extension directly through the
// gateway's own SIP stack, whatever the port's registrar, and anything else
// through the port's account.
func (p *port) dial(ctx context.Context, number string) (*sip.Call, error) {
	if callee := p.g.byExt[number]; callee != nil {
		if callee == p {
			return nil, errOwnExtension
		}
		p.g.log.Info("calling a local extension", "port", p.cfg.N, "extension", number, "callee_port", callee.cfg.N)
		return p.g.ua.DialAccount(ctx, p.cfg.Account, callee.cfg.Account, p.localMedia())
	}
	return p.g.ua.Dial(ctx, p.cfg.Account, number, p.localMedia())
}

// startMedia starts the RTP stream with the call's negotiated media and
// puts the line in talk state.
func (p *port) startMedia(c *sip.Call) { p.setupMedia(c, false) }

// restartMedia restarts the stream with renegotiated media (new SRTP keys).
func (p *port) restartMedia(c *sip.Call) { p.setupMedia(c, true) }

func (p *port) setupMedia(c *sip.Call, restart bool) {
	rm := c.Remote()
	codec, err := media.ParseCodec(rm.Codec)
	if err != nil {
		p.g.log.Warn("unusable media", "port", p.cfg.N, "err", err)
		codec = media.PCMU
	}
	sess := media.Session{Remote: rm.Addr, Codec: codec, PT: rm.PT, DTMFPT: rm.DTMFPT,
		PTime: time.Duration(rm.PTime) * time.Millisecond}
	crypto, err := sessionCrypto(c)
	if err != nil {
		// Never fall back to clear media: end the call instead.
		p.g.log.Error("srtp setup failed; hanging up", "port", p.cfg.N, "call", c.ID(), "err", err)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.Hangup(ctx)
		}()
		return
	}
	sess.Crypto = crypto
	if restart {
		// A re-INVITE: new address, codec or keys; the line stays in talk.
		p.onLoop(func() { p.stream.Start(sess) })
		return
	}
	p.beginCallStats(rm.Codec, rm.SRTP.Suite, sess.PTime, rm.Addr.String())
	peer := c.Peer()
	p.setPeer(peer, true)
	p.onLoop(func() {
		p.stream.Start(sess)
		p.line.Connected(peer)
	})
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
		return ps
	}
	ps.State = p.line.State().String()
	if p.line.OffHook() {
		ps.Hook = "off"
	}
	p.mu.Lock()
	ps.Peer = p.peer
	if !p.answered.IsZero() {
		ps.CallSeconds = time.Since(p.answered).Seconds()
	}
	p.mu.Unlock()
	ps.Call, ps.LastCall = p.callStats()
	ps.MWI = p.mwi.Load()
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
