package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// rig is a gateway on the sim board with a gated virtual clock, in direct
// mode: port n answers to 10n, calls go through the gateway's own SIP stack.
type rig struct {
	t      *testing.T
	clock  *simpcm.VirtualClock
	board  *simboard.Board
	gw     *gateway.Gateway
	cancel context.CancelFunc
	pace   chan bool
	done   chan error
	// realtime paces the frame clock at real time, for tests with
	// parties outside the gateway that send and take RTP in real time.
	realtime atomic.Bool
}

func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}},
		[]gateway.PortConfig{{N: 1, Account: "1", DigitMap: "(1xx)"}, {N: 2, Account: "2", DigitMap: "(1xx)"}})
}

// newRigWith is newRig with the given accounts and ports.
func newRigWith(t *testing.T, accounts []sip.Account, ports []gateway.PortConfig) *rig {
	t.Helper()
	return newRigSized(t, board.Sim(), 0, accounts, ports)
}

// newRigSized is newRigWith on the board def with the given loop workers
// (gateway.Config.LoopWorkers).
func newRigSized(t *testing.T, def board.Definition, workers int, accounts []sip.Account, ports []gateway.PortConfig) *rig {
	t.Helper()
	r := &rig{t: t, clock: &simpcm.VirtualClock{}, pace: make(chan bool), done: make(chan error, 1)}
	r.clock.Allow(0)
	b, err := simboard.New(simboard.Opts{Clock: r.clock, Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	r.board = b
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.Default()
	}
	r.gw, err = gateway.New(gateway.Config{
		Board:       &b.Board,
		SIP:         sip.Config{Listen: freeUDP(t), UserAgent: "loopstart-test", Logger: log, Accounts: accounts},
		Ports:       ports,
		Logger:      log,
		LoopWorkers: workers,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.gw.Run(ctx) }()
	// Run starts the SIP UA: tests dial its address.
	for deadline := time.Now().Add(10 * time.Second); !r.gw.UA().Addr().IsValid(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the gateway's SIP UA is not listening after 10 s")
		}
	}
	// The pacer runs the frame clock about 5x faster than real time while
	// it is on; SIP runs in real time alongside.
	go func() {
		on := true
		tick := time.NewTicker(pcm.FrameDuration)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case on = <-r.pace:
			default:
			}
			if !on {
				select {
				case <-ctx.Done():
					return
				case on = <-r.pace:
				}
				continue
			}
			if r.clock.Step(ctx, 1) != nil {
				return
			}
			if r.realtime.Load() {
				<-tick.C
				continue
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		r.clock.Release()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("gateway: %v", err)
			}
		case <-time.After(10 * time.Second):
			_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.Error("gateway did not stop")
		}
		b.Close()
	})
	return r
}

func (r *rig) phone(n int) *simboard.Phone {
	p, err := r.board.Phone(n)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rig) eventually(what string, cond func() error) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *rig) state(n int) string { return r.gw.Status().Ports[n-1].State }

// phone1CallsPhone2 has phone 1 dial 102 on its dial tone and phone 2
// answer when it rings: both ports end up talking.
func (r *rig) phone1CallsPhone2() {
	r.t.Helper()
	p1, p2 := r.phone(1), r.phone(2)
	must(r.t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(r.t, p1.Dial("102", "dtmf"))
	r.eventually("phone 2 rings", func() error {
		if !p2.State().Ringing {
			return fmt.Errorf("not ringing; port 1 %s", r.state(1))
		}
		return nil
	})
	must(r.t, p2.SetHook("off"))
	r.waitState(1, "talking")
	r.waitState(2, "talking")
}

func (r *rig) waitState(n int, want string) {
	r.t.Helper()
	r.eventually(fmt.Sprintf("port %d %s", n, want), func() error {
		if s := r.state(n); s != want {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
}

func hears(tones []float64, hz float64) bool {
	for _, f := range tones {
		if f > hz-5 && f < hz+5 {
			return true
		}
	}
	return false
}

func (r *rig) waitHears(n int, hz float64) {
	r.t.Helper()
	r.eventually(fmt.Sprintf("phone %d hears %v Hz", n, hz), func() error {
		if h := r.phone(n).State().Hearing; !hears(h.TonesHz, hz) {
			return fmt.Errorf("hearing %v", h.TonesHz)
		}
		return nil
	})
}

// TestPortToPortCall is contract 7: phone 1 dials 102, phone 2 rings,
// answers, audio flows both ways, and hanging up ends the call on both.
// It then measures a steady call over 5000 frames for allocations.
func TestPortToPortCall(t *testing.T) {
	r := newRig(t)
	p1, p2 := r.phone(1), r.phone(2)
	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	r.waitHears(1, 350)
	must(t, p1.Dial("102", "dtmf"))
	r.eventually("phone 2 rings", func() error {
		if !p2.State().Ringing {
			return fmt.Errorf("not ringing; port 1 %s", r.state(1))
		}
		return nil
	})
	r.waitState(1, "ringback")
	r.waitHears(1, 480)
	must(t, p2.SetHook("off"))
	r.waitState(1, "talking")
	r.waitState(2, "talking")
	must(t, p1.Say([]float64{1000}, -12))
	must(t, p2.Say([]float64{700}, -12))
	r.waitHears(2, 1000)
	r.waitHears(1, 700)

	t.Run("steady call allocates nothing over 5000 frames", func(t *testing.T) {
		r.pace <- false
		ctx := context.Background()
		for range 100 {
			must(t, r.clock.Step(ctx, 2))
			runtime.Gosched()
		}
		before := realtimeAllocs()
		for range 2500 {
			_ = r.clock.Step(ctx, 2)
			runtime.Gosched()
		}
		after := realtimeAllocs()
		for stack, n := range after {
			if d := n - before[stack]; d > 0 {
				t.Errorf("%d allocations in 5000 frames of a steady call at\n%s", d, stack)
			}
		}
		r.pace <- true
	})
	r.waitHears(2, 1000)

	must(t, p1.SetHook("on"))
	r.waitState(1, "idle")
	r.waitState(2, "reorder")
	r.waitHears(2, 620)
	must(t, p2.SetHook("on"))
	r.waitState(2, "idle")
}

// TestBusyPort: calling a port that is off hook gives busy tone.
func TestBusyPort(t *testing.T) {
	r := newRig(t)
	p1, p2 := r.phone(1), r.phone(2)
	must(t, p2.SetHook("off"))
	r.waitState(2, "dialtone")
	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("102", "dtmf"))
	r.waitState(1, "busy")
	r.waitHears(1, 480)
}

// TestCallerGivesUp: the caller hangs up while the callee rings; the
// ringing stops.
func TestCallerGivesUp(t *testing.T) {
	r := newRig(t)
	p1, p2 := r.phone(1), r.phone(2)
	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("102", "dtmf"))
	r.waitState(2, "ringing")
	must(t, p1.SetHook("on"))
	r.waitState(2, "idle")
	r.eventually("phone 2 stops ringing", func() error {
		if p2.State().Ringing {
			return fmt.Errorf("still ringing")
		}
		return nil
	})
	r.waitState(1, "idle")
}

// TestUnknownExtension: dialing an extension nobody has gives reorder.
func TestUnknownExtension(t *testing.T) {
	r := newRig(t)
	p1 := r.phone(1)
	must(t, p1.SetHook("off"))
	r.waitState(1, "dialtone")
	must(t, p1.Dial("109", "dtmf"))
	r.waitState(1, "reorder")
}

// TestMain samples every allocation so realtimeAllocs sees each one.
func TestMain(m *testing.M) {
	runtime.MemProfileRate = 1
	os.Exit(m.Run())
}

// realtimeAllocs returns allocation counts by stack for the stacks that run
// on the real-time path: the media loop goroutine (which reads a call's RTP
// socket itself) and the reader goroutine of a stream that has one.
// Other goroutines (SIP timers, the test itself) may allocate meanwhile.
func realtimeAllocs() map[string]int64 {
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	out := map[string]int64{}
	for _, r := range recs {
		var b strings.Builder
		realtime, equipment := false, false
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			fmt.Fprintf(&b, "\t%s:%d\n", f.Function, f.Line)
			if strings.HasSuffix(f.Function, "media.(*Loop).Run") || strings.HasSuffix(f.Function, "media.(*Stream).read") {
				realtime = true
			}
			// The sim phones' history (test equipment on the loop's
			// thread, not the gateway's path) allocates when it changes
			// form or its queue of non-µ-law blocks grows: at a digit
			// the gateway plays into the call, which can come at any
			// frame (board/sim/recording.go).
			if strings.Contains(f.Function, "board/sim.(*recording)") {
				equipment = true
			}
			if !more {
				break
			}
		}
		if realtime && !equipment {
			out[b.String()] += r.AllocObjects
		}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
