package gateway_test

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
)

// party is a SIP phone outside the gateway: its own UA and RTP stream,
// playing one tone and listening to what comes back. It answers calls
// at once, follows REFERs (unless told to fail them) and restarts its
// stream whenever its call's media changes.
type party struct {
	t      *testing.T
	name   string
	ua     *sip.UA
	stream *media.Stream
	hz     float64
	start  chan sessionOrStop // to the audio goroutine, which owns stream
	stop   chan struct{}
	events chan partyEvent

	// failRefer makes the party refuse to follow a REFER (NOTIFY 503).
	failRefer bool

	mu      sync.Mutex
	call    *sip.Call                    // the last call answered or placed
	playing *sip.Call                    // the call the stream plays
	heard   [25 * pcm.FrameSamples]int16 // the last 500 ms received
	heardAt int
}

type sessionOrStop struct {
	sess media.Session
	stop bool
}

// partyEvent is an event of one of the party's calls.
type partyEvent struct {
	call *sip.Call
	ev   sip.Event
}

func newParty(t *testing.T, name, user string, hz float64) *party {
	t.Helper()
	p := &party{t: t, name: name, hz: hz, start: make(chan sessionOrStop, 8), stop: make(chan struct{}), events: make(chan partyEvent, 64)}
	ua, err := sip.New(sip.Config{Listen: "127.0.0.1:0", UserAgent: "party-" + name, Handler: p,
		Accounts: []sip.Account{{ID: name, User: user}}})
	if err != nil {
		t.Fatal(err)
	}
	// The stream is there before the UA takes calls (Incoming uses it).
	st, err := media.NewStream(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	p.ua, p.stream = ua, st
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ua.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go p.audio()
	t.Cleanup(func() {
		close(p.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ua.Close(ctx)
		st.Close()
	})
	return p
}

func (p *party) local() sip.LocalMedia {
	return sip.LocalMedia{Addr: p.stream.LocalAddr(), Codecs: []string{"pcma", "pcmu"}}
}

// Incoming answers a call at once (sip.Handler).
func (p *party) Incoming(_ *sip.Account, c *sip.Call) {
	if err := c.Answer(p.local()); err != nil {
		p.t.Errorf("%s: answer: %v", p.name, err)
		return
	}
	p.follow(c)
	p.startMedia(c)
}

// dial calls uri and follows the call.
func (p *party) dial(uri string) *sip.Call {
	p.t.Helper()
	c, err := p.ua.Dial(context.Background(), p.name, uri, p.local())
	if err != nil {
		p.t.Fatal(err)
	}
	p.follow(c)
	return c
}

// current returns the party's call, the last one it answered or placed.
func (p *party) current() *sip.Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.call
}

func (p *party) follow(c *sip.Call) {
	p.mu.Lock()
	p.call = c
	p.mu.Unlock()
	go func() {
		for ev := range c.Events() {
			p.t.Logf("%s: %s %v %d %s", p.name, c.ID(), ev.Kind, ev.Code, ev.Reason)
			select {
			case p.events <- partyEvent{c, ev}:
			default:
			}
			switch ev.Kind {
			case sip.EventAnswered, sip.EventMediaChanged:
				if !c.Incoming() || ev.Kind == sip.EventMediaChanged {
					p.startMedia(c)
				}
			case sip.EventReferred:
				p.referred(c)
			case sip.EventEnded, sip.EventFailed:
				if p.current() == c {
					p.start <- sessionOrStop{stop: true}
				}
			}
		}
	}()
}

// referred follows a REFER of c: the new call takes c's place.
func (p *party) referred(c *sip.Call) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if p.failRefer {
		_ = c.NotifyTransfer(ctx, 503, "")
		return
	}
	nc, err := p.ua.DialReferred(ctx, c, p.local())
	if err != nil {
		p.t.Errorf("%s: dial referred: %v", p.name, err)
		_ = c.NotifyTransfer(ctx, 503, "")
		return
	}
	p.follow(nc)
	go func() {
		for {
			select {
			case <-nc.Done():
				_ = c.NotifyTransfer(context.Background(), 487, "")
				return
			case <-time.After(5 * time.Millisecond):
			}
			if nc.Remote().Addr.IsValid() && p.answeredCall(nc) {
				_ = c.NotifyTransfer(context.Background(), 200, "")
				_ = c.Hangup(context.Background())
				return
			}
		}
	}()
}

// answeredCall reports whether the stream plays nc (it answered).
func (p *party) answeredCall(nc *sip.Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.call == nc && p.playing == nc
}

func (p *party) startMedia(c *sip.Call) {
	rm := c.Remote()
	codec, err := media.ParseCodec(rm.Codec)
	if err != nil {
		p.t.Errorf("%s: codec: %v", p.name, err)
		return
	}
	p.mu.Lock()
	p.playing = c
	p.mu.Unlock()
	p.start <- sessionOrStop{sess: media.Session{Remote: rm.Addr, Codec: codec, PT: rm.PT}}
}

// audio plays the party's tone and keeps what it hears, in real time.
func (p *party) audio() {
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	tick := time.NewTicker(pcm.FrameDuration)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case s := <-p.start:
			if s.stop {
				p.stream.Stop()
			} else {
				p.stream.Start(s.sess)
			}
			continue
		case <-tick.C:
		}
		for i := range frame {
			frame[i] = int16(4000 * math.Sin(ph))
			ph += 2 * math.Pi * p.hz / pcm.SampleRate
		}
		p.stream.Send(frame)
		p.stream.Receive(out)
		p.mu.Lock()
		n := copy(p.heard[p.heardAt:], out)
		p.heardAt = (p.heardAt + n) % len(p.heard)
		p.mu.Unlock()
	}
}

// level returns the share of the last 500 ms heard at hz, and the RMS.
func (p *party) level(hz float64) (share, rms float64) {
	p.mu.Lock()
	x := p.heard
	p.mu.Unlock()
	c := 2 * math.Cos(2*math.Pi*hz/pcm.SampleRate)
	var s1, s2, e float64
	for _, v := range x {
		f := float64(v)
		s1, s2 = f+c*s1-s2, s1
		e += f * f
	}
	if e == 0 {
		return 0, 0
	}
	g := s1*s1 + s2*s2 - c*s1*s2
	n := float64(len(x))
	return g / (e * n / 2), math.Sqrt(e / n)
}

// hears reports whether hz is a real part of what the party hears.
func (p *party) hears(hz float64) bool {
	share, rms := p.level(hz)
	return rms > 50 && share > 0.1
}

// waitHears waits until the party hears every tone of want and none of
// not.
func (r *rig) waitPartyHears(p *party, want []float64, not ...float64) {
	r.t.Helper()
	r.eventually(fmt.Sprintf("%s hears %v and not %v", p.name, want, not), func() error {
		for _, hz := range want {
			if !p.hears(hz) {
				s, rms := p.level(hz)
				return fmt.Errorf("no %v Hz (share %.2f, rms %.0f; stream %+v)", hz, s, rms, p.stream.Stats())
			}
		}
		for _, hz := range not {
			if p.hears(hz) {
				return fmt.Errorf("hears %v Hz", hz)
			}
		}
		return nil
	})
}

// waitEvent waits for an event of the party's calls that match says is
// the one.
func (r *rig) waitPartyEvent(p *party, what string, match func(partyEvent) bool) partyEvent {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-p.events:
			if match(e) {
				return e
			}
		case <-deadline:
			r.t.Fatalf("%s: no %s", p.name, what)
		}
	}
}
