package gateway_test

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
)

// farEnd is a SIP caller outside the gateway with its own RTP stream
// playing one tone: the third party of the flash tests.
type farEnd struct {
	ua     *sip.UA
	stream *media.Stream
	call   *sip.Call
	stop   chan struct{}
	events chan sip.Event // the call's events, as they came
}

func newFarEnd(t *testing.T) *farEnd {
	t.Helper()
	ua, err := sip.New(sip.Config{Listen: "127.0.0.1:0", UserAgent: "far-end", Accounts: []sip.Account{{ID: "c", User: "103"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ua.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := media.NewStream(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	f := &farEnd{ua: ua, stream: st, stop: make(chan struct{}), events: make(chan sip.Event, 16)}
	t.Cleanup(func() {
		close(f.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ua.Close(ctx)
		st.Close()
	})
	return f
}

// call dials the gateway's user and, once answered, plays hz.
func (f *farEnd) dial(t *testing.T, gw *sip.UA, user string, hz float64) {
	t.Helper()
	c, err := f.ua.Dial(context.Background(), "c", "sip:"+user+"@"+gw.Addr().String(),
		sip.LocalMedia{Addr: f.stream.LocalAddr(), Codecs: []string{"pcma"}})
	if err != nil {
		t.Fatal(err)
	}
	f.call = c
	go func() {
		for ev := range c.Events() {
			f.events <- ev
			if ev.Kind != sip.EventAnswered {
				continue
			}
			rm := c.Remote()
			codec, _ := media.ParseCodec(rm.Codec)
			f.stream.Start(media.Session{Remote: rm.Addr, Codec: codec, PT: rm.PT})
			go f.play(hz)
		}
	}()
}

// play sends hz in real time until the test ends.
func (f *farEnd) play(hz float64) {
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	tick := time.NewTicker(pcm.FrameDuration)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		for i := range frame {
			frame[i] = int16(4000 * math.Sin(ph))
			ph += 2 * math.Pi * hz / pcm.SampleRate
		}
		f.stream.Send(frame)
		f.stream.Receive(out)
	}
}

func (r *rig) waitHearsOnly(n int, hz, not float64) {
	r.t.Helper()
	r.eventually(fmt.Sprintf("phone %d hears %v Hz and not %v Hz", n, hz, not), func() error {
		if h := r.phone(n).State().Hearing; !hears(h.TonesHz, hz) || hears(h.TonesHz, not) {
			return fmt.Errorf("hearing %v", h.TonesHz)
		}
		return nil
	})
}

// TestCallWaitingSwap: phone 1 talks with phone 2; a third party calls
// port 1; flash answers it with phone 2 held, flash swaps back, and
// hanging up rings phone 1 again for the held party.
func TestCallWaitingSwap(t *testing.T) {
	r := newRig(t)
	p1, p2 := r.phone(1), r.phone(2)
	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("102", "dtmf"))
	r.waitState(2, "ringing")
	must(t, p2.SetHook("off"))
	r.waitState(1, "talking")
	must(t, p2.Say([]float64{700}, -12))
	r.waitHears(1, 700)

	c := newFarEnd(t)
	c.dial(t, r.gw.UA(), "101", 1300)
	r.eventually("the waiting caller hears ringing", func() error {
		select {
		case ev := <-c.events:
			if ev.Kind == sip.EventProgress && ev.Code == 180 {
				return nil
			}
			return fmt.Errorf("event %v", ev.Kind)
		default:
			return fmt.Errorf("no 180 yet")
		}
	})
	// Type II caller ID after the call-waiting tone's first burst.
	r.eventually("phone 1 shows the waiting caller", func() error {
		if id := p1.State().CallerID; id == nil || id.Number != "103" {
			return fmt.Errorf("caller id %+v", id)
		}
		return nil
	})
	must(t, p1.SetHook("flash"))
	r.waitHearsOnly(1, 1300, 700)
	must(t, p1.SetHook("flash"))
	r.waitHearsOnly(1, 700, 1300)
	must(t, p1.SetHook("flash"))
	r.waitHearsOnly(1, 1300, 700)

	// Hang up on the third party: phone 1 rings for phone 2, held.
	must(t, p1.SetHook("on"))
	r.eventually("phone 1 rings back", func() error {
		if !p1.State().Ringing {
			return fmt.Errorf("state %s", r.state(1))
		}
		return nil
	})
	must(t, p1.SetHook("off"))
	r.waitState(1, "talking")
	r.waitHears(1, 700)
	must(t, p1.SetHook("on"))
	r.waitState(1, "idle")
	r.waitState(2, "reorder")
}

// TestCallWaitingOff: with call waiting off a second call gets 486.
func TestCallWaitingOff(t *testing.T) {
	r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}},
		[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(1xx)", NoCallWaiting: true}, {N: 2, Account: "2", DigitMap: "(1xx)"}})
	p1, p2 := r.phone(1), r.phone(2)
	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("102", "dtmf"))
	r.waitState(2, "ringing")
	must(t, p2.SetHook("off"))
	r.waitState(1, "talking")
	c := newFarEnd(t)
	c.dial(t, r.gw.UA(), "101", 1300)
	r.eventually("486", func() error {
		select {
		case ev := <-c.events:
			if ev.Kind == sip.EventFailed && ev.Code == 486 {
				return nil
			}
			return fmt.Errorf("event %v %d", ev.Kind, ev.Code)
		default:
			return fmt.Errorf("no answer yet")
		}
	})
}
