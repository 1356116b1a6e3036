package gateway_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/media"
	"github.com/loopstart/loopstart/voice/sip"
)

// earlyCallee answers every call with a 183 carrying its SDP and plays a
// tone at once (an announcement before the answer); it answers the call
// when answer is closed.
type earlyCallee struct {
	f      *farEnd
	hz     float64
	answer chan struct{}
	calls  chan *sip.Call
}

func (e *earlyCallee) Incoming(_ *sip.Account, c *sip.Call) {
	local := sip.LocalMedia{Addr: e.f.stream.LocalAddr(), Codecs: []string{"pcmu"}}
	if err := c.Progress(local); err != nil {
		_ = c.Reject(500, "")
		return
	}
	rm := c.Remote()
	codec, _ := media.ParseCodec(rm.Codec)
	e.f.stream.Start(media.Session{Remote: rm.Addr, Codec: codec, PT: rm.PT})
	go e.f.play(e.hz)
	e.calls <- c
	select {
	case <-e.answer:
		_ = c.Answer(local)
	case <-c.Done():
	}
}

// TestEarlyMedia: the phone's call gets a 183 with SDP and the far end's
// audio at once; the phone hears that audio, not our ringback tone,
// before the answer, and still after it.
func TestEarlyMedia(t *testing.T) {
	e := &earlyCallee{hz: 1400, answer: make(chan struct{}), calls: make(chan *sip.Call, 1)}
	ua, err := sip.New(sip.Config{Listen: "127.0.0.1:0", UserAgent: "early", Accounts: []sip.Account{{ID: "c", User: "103"}}, Handler: e})
	if err != nil {
		t.Fatal(err)
	}
	st, err := media.NewStream(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	e.f = &farEnd{ua: ua, stream: st, stop: make(chan struct{}), events: make(chan sip.Event, 16)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ua.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(e.f.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ua.Close(ctx)
		st.Close()
	})
	r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}},
		[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(1xx)", Hotline: "sip:103@" + ua.Addr().String()}})
	p1 := r.phone(1)
	must(t, p1.SetHook("off"))
	var c *sip.Call
	select {
	case c = <-e.calls:
	case <-time.After(10 * time.Second):
		t.Fatal("the hot line did not call")
	}
	r.waitHearsOnly(1, 1400, 440)
	if s := r.state(1); s == "talking" {
		t.Errorf("line %s before the answer", s)
	}
	close(e.answer)
	r.waitState(1, "talking")
	r.waitHears(1, 1400)
	must(t, p1.SetHook("on"))
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end")
	}
}
