package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	fxomodel "github.com/loopstart/loopstart/drivers/si3050/model"
	"github.com/loopstart/loopstart/dsp"
)

// fxoRig runs the sim board's highway and polls the FXO port like the
// media loop would.
type fxoRig struct {
	t      *testing.T
	b      *Board
	fxo    board.FXO
	co     *CentralOffice
	tx, rx [][]int16
	send   dsp.DTMFGen
	heard  []int16
	st     board.FXOStatus
}

func newFXORig(t *testing.T) *fxoRig {
	t.Helper()
	b, err := New(Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		if v := b.DAA().Violations(); len(v) != 0 {
			t.Errorf("DAA protocol violations: %q", v)
		}
	})
	p := b.Ports[FXOPort-1]
	if p.Fault != nil || p.FXO == nil {
		t.Fatalf("fxo port: %+v", p)
	}
	co, err := b.Line(FXOPort)
	if err != nil {
		t.Fatal(err)
	}
	r := &fxoRig{t: t, b: b, fxo: p.FXO, co: co}
	for range b.Highway.Slots() {
		r.tx = append(r.tx, make([]int16, pcm.FrameSamples))
		r.rx = append(r.rx, make([]int16, pcm.FrameSamples))
	}
	return r
}

// run advances n frames and returns the union of the events.
func (r *fxoRig) run(n int) board.FXOEvent {
	r.t.Helper()
	var ev board.FXOEvent
	slot := FXOPort - 1
	for range n {
		r.send.Fill(r.tx[slot])
		seq, _, err := r.b.Highway.Exchange(context.Background(), r.tx, r.rx)
		if err != nil {
			r.t.Fatal(err)
		}
		r.heard = append(r.heard, r.rx[slot]...)
		r.st, err = r.fxo.Poll(time.Duration(seq) * pcm.FrameDuration)
		if err != nil {
			r.t.Fatal(err)
		}
		ev |= r.st.Events
	}
	return ev
}

func (r *fxoRig) pstn(action string, cid *simapi.CallerID) {
	r.t.Helper()
	if err := r.co.PSTN(action, cid); err != nil {
		r.t.Fatal(err)
	}
}

func TestFXORingWithCallerID(t *testing.T) {
	r := newFXORig(t)
	r.run(5)
	if r.st.LineVolts != 48 || !r.st.Battery || r.st.OffHook {
		t.Fatalf("idle line: %+v", r.st)
	}
	r.pstn("ring", &simapi.CallerID{Number: "5551234", Name: "ALICE", Time: "11211330"})
	r.heard = r.heard[:0]
	ev := r.run(650) // first burst, the CID gap, second burst
	if ev&board.FXORingStart == 0 || r.st.Rings != 2 {
		t.Fatalf("ring: events %b, status %+v", ev, r.st)
	}
	if st := r.co.State(); st.Line.State != LineRinging || !st.Ringing || st.CallerID == nil {
		t.Fatalf("line state %+v", st)
	}
	// The caller ID crossed the DAA as audio (on-hook line monitor).
	rx, err := dsp.NewCIDRx(dsp.Bell202)
	if err != nil {
		t.Fatal(err)
	}
	msgs := rx.Process(r.heard, nil)
	if len(msgs) != 1 {
		t.Fatalf("%d caller id messages decoded from the FXO slot", len(msgs))
	}
	cid, err := dsp.ParseCallerID(msgs[0])
	if err != nil || cid.Number != "5551234" || cid.Name != "ALICE" || cid.Time != "11211330" {
		t.Fatalf("caller id %+v %v", cid, err)
	}
	// Answer: the office connects and stops ringing.
	if err := r.fxo.SetHook(true); err != nil {
		t.Fatal(err)
	}
	r.run(40)
	if st := r.co.State(); st.Line.State != LineConnected || st.Hook != "off" || r.st.Ringing || r.st.LoopMA == 0 {
		t.Fatalf("after answer: line %+v, status %+v", st.Line, r.st)
	}
	// Far end hangs up: loop-current break, then battery again.
	r.pstn("hangup", nil)
	if ev := r.run(150); ev&board.FXOBatteryLost == 0 || ev&board.FXOBatteryRestored == 0 {
		t.Fatalf("hangup break not seen: events %b", ev)
	}
	if err := r.fxo.SetHook(false); err != nil {
		t.Fatal(err)
	}
	r.run(5)
	if st := r.co.State(); st.Line.State != LineIdle {
		t.Fatalf("after on hook: %+v", st.Line)
	}
}

func TestFXOOutgoing(t *testing.T) {
	r := newFXORig(t)
	if err := r.fxo.SetHook(true); err != nil {
		t.Fatal(err)
	}
	r.heard = r.heard[:0]
	r.run(60)
	tones := dsp.DominantTones(r.heard[len(r.heard)-4000:], 2)
	if len(tones) != 2 || tones[0] < 340 || tones[1] > 450 {
		t.Fatalf("dial tone not heard: %v", tones)
	}
	if err := r.send.Queue("5551234#", 100*time.Millisecond, 100*time.Millisecond, -10); err != nil {
		t.Fatal(err)
	}
	r.run(200)
	st := r.co.State()
	if st.Line.Digits != "5551234#" || st.Line.State != LineOffHook {
		t.Fatalf("office got %+v", st.Line)
	}
	// The called party answers: polarity reversal.
	r.pstn("answer", nil)
	if ev := r.run(20); ev&board.FXOPolarity == 0 || !r.st.Reversed || r.st.LineVolts >= 0 {
		t.Fatalf("answer supervision: events %b, %+v", ev, r.st)
	}
	// The far party talks; the host hears it.
	if err := r.co.Say([]float64{1000}, -12); err != nil {
		t.Fatal(err)
	}
	r.heard = r.heard[:0]
	r.run(30)
	if tones := dsp.DominantTones(r.heard[800:], 1); len(tones) != 1 || tones[0] < 990 || tones[0] > 1010 {
		t.Fatalf("far party not heard: %v", tones)
	}
	if h := r.co.State().Hearing; h.LevelDBFS > -60 {
		t.Logf("far party hears %v at %.1f dBFS", h.TonesHz, h.LevelDBFS)
	}
	if got := r.co.Heard(time.Second); len(got) != 8000 {
		t.Errorf("heard %d samples", len(got))
	}
}

func TestFXOLineEvents(t *testing.T) {
	r := newFXORig(t)
	r.run(5)
	r.pstn("extension-off", nil)
	if ev := r.run(20); ev&board.FXOInUse == 0 || !r.co.State().Line.Extension {
		t.Fatalf("parallel pick-up: %b", ev)
	}
	if err := r.co.PSTN("ring", nil); err != nil {
		t.Fatal(err) // the office may ring a line whose extension is off hook
	}
	r.pstn("hangup", nil)
	r.pstn("extension-on", nil)
	if ev := r.run(20); ev&board.FXOInUseEnd == 0 {
		t.Fatalf("parallel hang-up: %b", ev)
	}
	r.pstn("reverse", nil)
	if ev := r.run(20); ev&board.FXOPolarity == 0 {
		t.Fatal("reversal not seen")
	}
	r.pstn("disconnect", nil)
	if ev := r.run(20); ev&board.FXOBatteryLost == 0 || r.st.Battery {
		t.Fatal("disconnect not seen")
	}
	if err := r.co.PSTN("ring", nil); !errors.Is(err, ErrLineState) {
		t.Errorf("ring on a dead line: %v", err)
	}
	r.pstn("reconnect", nil)
	if ev := r.run(20); ev&board.FXOBatteryRestored == 0 {
		t.Fatal("reconnect not seen")
	}
	for _, bad := range []string{"answer", "hangup", "explode"} {
		if err := r.co.PSTN(bad, nil); err == nil {
			t.Errorf("%s on an idle line accepted", bad)
		}
	}
	if err := r.co.PSTN("ring", &simapi.CallerID{Number: "1", Time: "bad"}); err == nil || !strings.Contains(err.Error(), "caller id") {
		t.Errorf("bad caller id time: %v", err)
	}
	if err := r.co.Say([]float64{5000}, -10); err == nil {
		t.Error("5 kHz accepted")
	}
	if _, err := r.b.Line(1); !errors.Is(err, ErrNoPort) {
		t.Error("Line(1) is not an FXO port")
	}
}

func TestFXOFaultLeavesFXSWorking(t *testing.T) {
	b, err := New(Opts{Clock: &simpcm.VirtualClock{}, FXO: map[int]fxomodel.Opts{FXOPort: fxoAbsent}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Ports[FXOPort-1].Fault == nil || b.Ports[0].Fault != nil || b.Ports[1].Fault != nil {
		t.Fatalf("faults: %v / %v / %v", b.Ports[0].Fault, b.Ports[1].Fault, b.Ports[2].Fault)
	}
	if !strings.Contains(b.Ports[FXOPort-1].Fault.Error(), "no Si3050 found") {
		t.Error(b.Ports[FXOPort-1].Fault)
	}
}

var fxoAbsent = fxomodel.Opts{Absent: true, AbsentValue: 0xFF}

// TestPowerAlarmLeavesOtherPortsWorking: a power alarm on port 1's SLIC
// makes its hook polls fail with the reason; port 2 and the FXO port go on.
func TestPowerAlarmLeavesOtherPortsWorking(t *testing.T) {
	r := newFXORig(t)
	r.run(3)
	r.b.chips[0].PowerAlarm(2)
	now := 100 * time.Millisecond
	if _, err := r.b.Ports[0].FXS.PollHook(now); err == nil || !strings.Contains(err.Error(), "power alarm on transistor Q2") {
		t.Fatalf("port 1: %v", err)
	}
	if err := r.b.Ports[0].FXS.SetRinging(true); err == nil {
		t.Error("port 1 rings despite the alarm")
	}
	p2, _ := r.b.Phone(2)
	_ = p2.SetHook("off")
	var off bool
	for ms := 110; ms <= 200; ms += 10 {
		var err error
		if off, err = r.b.Ports[1].FXS.PollHook(time.Duration(ms) * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if !off {
		t.Error("port 2 stopped working")
	}
	if ev := r.run(5); r.st.LineVolts != 48 {
		t.Errorf("fxo port after the alarm: %+v %b", r.st, ev)
	}
}
