package line

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/dsp"
)

const frame = 10 * time.Millisecond

// portOp is one call a line made on the fake port.
type portOp struct {
	at   time.Duration // frame time of the last PollHook
	ring bool          // SetRinging (else SetLinefeed)
	on   bool
	feed board.Linefeed
}

// fakePort is a board.FXS whose hook the test sets; it records the ring and
// feed calls with the frame time.
type fakePort struct {
	now     time.Duration
	off     bool
	pollErr error
	feedErr error
	ringing bool
	feed    board.Linefeed
	ops     []portOp
}

var _ board.FXS = (*fakePort)(nil)

func (p *fakePort) PollHook(now time.Duration) (bool, error) {
	p.now = now
	if p.pollErr != nil {
		return false, p.pollErr
	}
	return p.off, nil
}

func (p *fakePort) SetLinefeed(f board.Linefeed) error {
	if p.feedErr != nil {
		return p.feedErr
	}
	p.feed = f
	p.ringing = false
	p.ops = append(p.ops, portOp{at: p.now, feed: f})
	return nil
}

func (p *fakePort) SetRinging(on bool) error {
	p.ringing = on
	p.ops = append(p.ops, portOp{at: p.now, ring: true, on: on})
	return nil
}

// ringOps returns the SetRinging calls from index i on.
func (p *fakePort) ringOps(i int) []portOp {
	var out []portOp
	for _, op := range p.ops[i:] {
		if op.ring {
			out = append(out, op)
		}
	}
	return out
}

type timedEvent struct {
	Event
	at time.Duration
}

// rig runs a line on a fake port with a virtual clock and a virtual phone
// keypad whose DTMF goes into capture (with some of the playout leaking back,
// as a hybrid would).
type rig struct {
	t       *testing.T
	port    *fakePort
	line    *FXS
	now     time.Duration
	events  []timedEvent
	capture [80]int16
	playout [80]int16
	heard   []int16 // everything the phone heard
	keys    dsp.DTMFGen
	mark    time.Duration // a time remembered by a step
	lastKey time.Duration // when the line last took a digit
	markOp  int           // len(port.ops) at mark
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	r := &rig{t: t, port: &fakePort{}}
	l, err := NewFXS(1, r.port, cfg, func(e Event) { r.events = append(r.events, timedEvent{e, r.now}) })
	if err != nil {
		t.Fatalf("NewFXS: %v", err)
	}
	r.line = l
	return r
}

// step runs one frame.
func (r *rig) step() {
	echo := r.playout // previous frame's playout, 20 dB down
	r.keys.Fill(r.capture[:])
	for i := range r.capture {
		r.capture[i] += echo[i] / 10
	}
	nd := r.line.nd
	r.line.Tick(r.now, r.capture[:], r.playout[:])
	if r.line.nd > nd {
		r.lastKey = r.now
	}
	r.heard = append(r.heard, r.playout[:]...)
	r.now += frame
}

func (r *rig) run(d time.Duration) {
	for end := r.now + d; r.now < end; {
		r.step()
	}
}

// heardTones analyses the last d of playout.
func (r *rig) heardTones(d time.Duration) []float64 {
	n := int(d / time.Second * 8000)
	if d < time.Second {
		n = int(d.Milliseconds() * 8)
	}
	if n > len(r.heard) {
		n = len(r.heard)
	}
	return dsp.DominantTones(r.heard[len(r.heard)-n:], 4)
}

// step is one action or check of a scenario.
type step struct {
	name string
	do   func(r *rig)
}

func hook(off bool) step {
	return step{fmt.Sprintf("hook off=%v", off), func(r *rig) { r.port.off = off; r.step() }}
}

func wait(d time.Duration) step {
	return step{"wait " + d.String(), func(r *rig) { r.run(d) }}
}

// dtmf keys digits as 80 ms tones with 80 ms pauses, then runs until sent.
func dtmf(digits string) step {
	return step{"dtmf " + digits, func(r *rig) {
		if err := r.keys.Queue(digits, 80*time.Millisecond, 80*time.Millisecond, -8); err != nil {
			r.t.Fatal(err)
		}
		for r.keys.Busy() {
			r.step()
		}
	}}
}

// pulses dials digits at 10 pps (60 ms break, 40 ms make) with 700 ms
// between digits; it returns with the loop closed after the last pulse.
func pulses(digits string) step {
	return step{"pulse " + digits, func(r *rig) {
		for i, d := range digits {
			if i > 0 {
				r.run(700 * time.Millisecond)
			}
			n := int(d - '0')
			if n == 0 {
				n = 10
			}
			for range n {
				r.port.off = false
				r.run(60 * time.Millisecond)
				r.port.off = true
				r.run(40 * time.Millisecond)
			}
		}
	}}
}

// breakFor puts the phone on hook for d, then off hook again.
func breakFor(d time.Duration) step {
	return step{"break " + d.String(), func(r *rig) {
		r.port.off = false
		r.run(d)
		r.port.off = true
		r.step()
	}}
}

func do(name string, f func(l *FXS)) step {
	return step{name, func(r *rig) { f(r.line) }}
}

// lastKey makes wantEventAt measure from the line's last digit.
func lastKey() step {
	return step{"mark last key", func(r *rig) { r.mark = 0 }}
}

func mark() step {
	return step{"mark", func(r *rig) { r.mark = r.now; r.markOp = len(r.port.ops) }}
}

func wantState(s State) step {
	return step{"want state " + s.String(), func(r *rig) {
		r.t.Helper()
		if got := r.line.State(); got != s {
			r.t.Errorf("at %v: state %v, want %v", r.now, got, s)
		}
	}}
}

// wantEvent pops the next event and checks it. within > 0 also checks that
// it came no later than within after the mark.
func wantEvent(kind EventKind, number string, within time.Duration) step {
	return step{fmt.Sprintf("want event %v %q", kind, number), func(r *rig) {
		r.t.Helper()
		if len(r.events) == 0 {
			r.t.Errorf("at %v: no event, want %v %q", r.now, kind, number)
			return
		}
		e := r.events[0]
		r.events = r.events[1:]
		if e.Kind != kind || e.Number != number || e.Port != 1 {
			r.t.Errorf("event %v %q port %d, want %v %q port 1", e.Kind, e.Number, e.Port, kind, number)
		}
		if within > 0 && (e.at < r.mark || e.at > r.mark+within) {
			r.t.Errorf("event %v at %v, want within %v after %v", e.Kind, e.at, within, r.mark)
		}
	}}
}

// wantEventAt pops the next event and checks it came at mark+after (±1
// frame); a zero mark() means the time the line took its last digit.
func wantEventAt(kind EventKind, number string, after time.Duration) step {
	return step{fmt.Sprintf("want event %v %q at +%v", kind, number, after), func(r *rig) {
		r.t.Helper()
		if len(r.events) == 0 {
			r.t.Errorf("at %v: no event, want %v %q", r.now, kind, number)
			return
		}
		e := r.events[0]
		r.events = r.events[1:]
		if e.Kind != kind || e.Number != number {
			r.t.Errorf("event %v %q, want %v %q", e.Kind, e.Number, kind, number)
		}
		mark := r.mark
		if mark == 0 {
			mark = r.lastKey
		}
		if d := e.at - mark - after; d < -frame || d > frame {
			r.t.Errorf("event %v at mark+%v, want mark+%v", e.Kind, e.at-mark, after)
		}
	}}
}

// wantDigits checks the digits the line has collected so far.
func wantDigits(digits string) step {
	return step{"want digits " + digits, func(r *rig) {
		r.t.Helper()
		if got := r.line.Digits(); got != digits {
			r.t.Errorf("at %v: digits %q, want %q", r.now, got, digits)
		}
	}}
}

func noEvent() step {
	return step{"no event", func(r *rig) {
		r.t.Helper()
		for _, e := range r.events {
			r.t.Errorf("unexpected event %v %q at %v", e.Kind, e.Number, e.at)
		}
		r.events = nil
	}}
}

// hears checks the dominant tones of the last 400 ms of playout (none =
// silence).
func hears(hz ...float64) step {
	return step{fmt.Sprintf("hears %v", hz), func(r *rig) {
		r.t.Helper()
		got := r.heardTones(400 * time.Millisecond)
		if len(got) != len(hz) {
			r.t.Errorf("at %v: heard %v Hz, want %v", r.now, got, hz)
			return
		}
		for i := range hz {
			if math.Abs(got[i]-hz[i]) > 5 {
				r.t.Errorf("at %v: heard %v Hz, want %v", r.now, got, hz)
				return
			}
		}
	}}
}

// ringEdges checks the SetRinging calls since the mark: on/off at the
// given offsets from the mark.
func ringEdges(edges ...any) step {
	return step{fmt.Sprintf("ring edges %v", edges), func(r *rig) {
		r.t.Helper()
		ops := r.port.ringOps(r.markOp)
		var got []string
		for _, op := range ops {
			got = append(got, fmt.Sprintf("%v@%v", op.on, op.at-r.mark))
		}
		var want []string
		for i := 0; i+1 < len(edges); i += 2 {
			want = append(want, fmt.Sprintf("%v@%v", edges[i], edges[i+1]))
		}
		if !slices.Equal(got, want) {
			r.t.Errorf("ring edges\n got %v\nwant %v", got, want)
		}
	}}
}

func wantRinging(on bool) step {
	return step{fmt.Sprintf("ringing=%v", on), func(r *rig) {
		r.t.Helper()
		if r.port.ringing != on {
			r.t.Errorf("at %v: port ringing %v, want %v", r.now, r.port.ringing, on)
		}
	}}
}

func profile(t *testing.T, country string) *dsp.Profile {
	t.Helper()
	p, err := dsp.LookupProfile(country)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustMap(t *testing.T, s string) *DigitMap {
	t.Helper()
	m, err := ParseDigitMap(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	ms  = time.Millisecond
	sec = time.Second
)

func TestFXSScenarios(t *testing.T) {
	// offHook brings a line to dial tone and checks it.
	offHook := []step{hook(true), wantEvent(EventOffHook, "", 0), wantState(StateDialTone)}
	// call dials 1002 and gets to talking.
	call := append(slices.Clone(offHook),
		dtmf("1002#"), wantEvent(EventDialed, "1002", 0), do("calling", (*FXS).Calling),
		do("connected", func(l *FXS) { l.Connected("sip:1002@pbx") }), wantState(StateTalking))
	// incoming rings the idle line and answers it.
	incoming := []step{
		do("ring", func(l *FXS) {
			if !l.Ring("1001", "Alice") {
				t.Error("Ring refused on an idle line")
			}
		}),
		wait(500 * ms), hook(true), wantEvent(EventAnswer, "", 0), wantRinging(false),
		do("connected", func(l *FXS) { l.Connected("sip:1001@pbx") }), wantState(StateTalking),
	}
	with := func(base []step, more ...step) []step { return append(slices.Clone(base), more...) }

	tests := []struct {
		name  string
		cfg   func(t *testing.T) Config
		steps []step
	}{
		{"dial tone us", nil, with(offHook, wait(500*ms), hears(350, 440), wantState(StateDialTone), noEvent())},
		{"dial tone de", func(t *testing.T) Config { return Config{Profile: profile(t, "de")} },
			with(offHook, wait(500*ms), hears(425))},
		{"dtmf then timeout", nil, with(offHook, wait(300*ms),
			dtmf("1"), wantState(StateDialing), wait(400*ms), hears(), // first key stops dial tone
			dtmf("002"), lastKey(), wait(3700*ms), noEvent(), wantState(StateDialing),
			wait(400*ms), wantEventAt(EventDialed, "1002", 4*sec), wantState(StateCalling), hears())},
		{"hash ends dialing", nil, with(offHook,
			dtmf("55"), mark(), dtmf("#"), wantEvent(EventDialed, "55", 250*ms), wantState(StateCalling))},
		{"hash alone reorders", nil, with(offHook, dtmf("#"), wantState(StateReorder), noEvent())},
		{"digit map complete", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(10[0-9]|9xx)")} },
			with(offHook, dtmf("10"), mark(), dtmf("2"), wantEvent(EventDialed, "102", 250*ms), wantState(StateCalling),
				dtmf("5"), wait(5*sec), noEvent(), wantState(StateCalling))},
		{"digit map keeps hash", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(*xx#|1xxx)")} },
			with(offHook, dtmf("*72"), wait(2*sec), noEvent(), dtmf("#"), wantEvent(EventDialed, "*72#", 0))},
		{"digit map hash as dial key", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(*xx#|1xxx)")} },
			with(offHook, dtmf("10#"), wantEvent(EventDialed, "10", 0))},
		{"digit map ambiguous short timer", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(0|00)")} },
			with(offHook, dtmf("0"), lastKey(), wait(2500*ms), wantEventAt(EventDialed, "0", 2*sec))},
		{"digit map partial long timer", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(1xxx|0)")} },
			with(offHook, dtmf("12"), lastKey(), wait(4500*ms), wantEventAt(EventDialed, "12", 4*sec))},
		{"digit map no match reorders", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "1xx")} },
			with(offHook, dtmf("5"), wantState(StateReorder), wait(500*ms), hears(480, 620), noEvent())},
		{"plan substitutes", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(<9:>1xxx|<8:1650>xxx)")} },
			with(offHook, dtmf("91234"), wantEvent(EventDialed, "1234", 0))},
		{"plan bars", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(1900xxx!|1xxxxxx)")} },
			with(offHook, dtmf("1900555"), wantState(StateReorder), noEvent())},
		{"plan S0 dials now", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(1xxxS0|1xxxxx)")} },
			with(offHook, dtmf("1234"), wantEvent(EventDialed, "1234", 0))},
		{"plan long timer", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "L:1,(1xxx)")} },
			with(offHook, dtmf("12"), lastKey(), wait(1500*ms), wantEventAt(EventDialed, "12", 1*sec))},
		{"plan second dial tone", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(9,1xx)")} },
			with(offHook, dtmf("9"), wait(300*ms), hears(350, 440), dtmf("1"), wait(300*ms), hears(), dtmf("23"),
				wantEvent(EventDialed, "9123", 0))},
		{"hot line", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "( S0 <:12125551234> )")} },
			[]step{hook(true), wantEvent(EventOffHook, "", 0), wantEvent(EventDialed, "12125551234", 100*ms), wantState(StateCalling)}},
		{"warm line", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "( P2 <:1000> | xxxx )")} },
			with(offHook, mark(), wait(2100*ms), wantEventAt(EventDialed, "1000", 2*sec))},
		{"warm line key first", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "( P2 <:1000> | xxxx )")} },
			with(offHook, dtmf("1"), wait(2100*ms), noEvent(), dtmf("234"), wantEvent(EventDialed, "1234", 0))},
		{"grandstream plan", func(t *testing.T) Config {
			return Config{DigitMap: mustMap(t, "{<=1617>[2-9]xxxxxx|1[2-9]xx[2-9]xxxxxx}")}
		},
			with(offHook, dtmf("5551234"), wantEvent(EventDialed, "16175551234", 0))},
		{"confirm then dial tone", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(*xx)")} },
			with(offHook, dtmf("*78"), wantEvent(EventDialed, "*78", 0), do("confirm", (*FXS).Confirm),
				wantState(StateConfirm), wait(1600*ms), wantState(StateDialTone), wait(200*ms), hears(350, 440))},
		{"custom timers", func(t *testing.T) Config { return Config{InterDigitLong: 1500 * ms} },
			with(offHook, dtmf("7"), lastKey(), wait(2*sec), wantEventAt(EventDialed, "7", 1500*ms))},
		{"too many digits", nil, with(offHook, dtmf("123456789012345678901234567890123"), wantState(StateReorder), noEvent())},
		{"pulse 1 0", nil, with(offHook, wait(500*ms), pulses("10"), wantState(StateDialing), lastKey(),
			wait(4500*ms), wantEventAt(EventDialed, "10", 4*sec), noEvent())},
		{"pulse with digit map", func(t *testing.T) Config { return Config{DigitMap: mustMap(t, "(1[0-2])")} },
			with(offHook, pulses("12"), wait(400*ms), wantEvent(EventDialed, "12", 0))},
		{"pulse and dtmf mixed", nil, with(offHook, pulses("3"), wait(500*ms), dtmf("4#"), wantEvent(EventDialed, "34", 0))},
		{"dial tone timeout", nil, with(offHook, mark(), wait(15900*ms), wantState(StateDialTone), hears(350, 440),
			wait(600*ms), wantState(StateReorder), hears(480, 620), noEvent(),
			wait(30*sec), wantState(StateDisconnected), hears(),
			hook(false), mark(), wait(1300*ms), wantEventAt(EventHangup, "", 1250*ms), wantState(StateIdle),
			hook(true), wantEvent(EventOffHook, "", 0), wantState(StateDialTone))},
		{"flash while dialing is not a pulse", nil, with(offHook, dtmf("5"), breakFor(400*ms),
			wantEvent(EventFlash, "", 0), wantState(StateDialing))},
		{"glitch ignored", nil, with(offHook, breakFor(10*ms), wantState(StateDialTone), noEvent())},
		// Hook timing: the sequences the driver-level classifier
		// (si3215.HookClassifier, now gone) was tested with (10 pps
		// pulses: 60 ms break, 40 ms make).
		{"hook off", nil, with(offHook, wait(100*ms), noEvent())},
		{"hook pulse digit 3", nil, with(offHook, wait(200*ms), pulses("3"), wait(400*ms),
			wantDigits("3"), wantState(StateDialing), noEvent())},
		{"hook pulse digit 0", nil, with(offHook, wait(200*ms), pulses("0"), wait(400*ms),
			wantDigits("0"), wantState(StateDialing), noEvent())},
		{"hook flash at dial tone", nil, with(offHook, wait(200*ms), breakFor(500*ms), wantEvent(EventFlash, "", 0),
			wait(200*ms), noEvent())},
		{"hook hang-up", nil, with(offHook, wait(200*ms), mark(), hook(false), wait(1500*ms),
			wantEventAt(EventHangup, "", 1250*ms), wantState(StateIdle), noEvent())},
		{"hook break between pulse and flash ignored", func(t *testing.T) Config { return Config{FlashMin: 300 * ms} },
			with(offHook, wait(200*ms), breakFor(200*ms), wait(500*ms), wantState(StateDialTone), wantDigits(""), noEvent())},
		{"hook timed-break recall", func(t *testing.T) Config {
			// Europe: a recall (flash) is a 70-130 ms break, just above
			// a dial pulse's.
			return Config{PulseBreakMax: 65 * ms, FlashMin: 70 * ms, HangupMin: 130 * ms}
		}, with(offHook, wait(200*ms), breakFor(100*ms), wantEvent(EventFlash, "", 0), wait(300*ms),
			mark(), hook(false), wait(200*ms), wantEventAt(EventHangup, "", 130*ms), wantState(StateIdle), noEvent())},
		{"hook pulses then hang-up", func(t *testing.T) Config { return Config{HangupMin: sec} },
			with(offHook, wait(300*ms), pulses("2"), wait(500*ms), wantDigits("2"),
				mark(), hook(false), wait(1200*ms), wantEventAt(EventHangup, "", sec), wantState(StateIdle), noEvent())},
		{"ring cadence us", nil, []step{mark(),
			do("ring", func(l *FXS) {
				if !l.Ring("1001", "Alice") {
					t.Error("Ring refused")
				}
			}),
			wantState(StateRinging), wait(12*sec + 5*ms),
			ringEdges(true, 0*ms, false, 2*sec, true, 6*sec, false, 8*sec, true, 12*sec),
			hears(), noEvent()}},
		{"ring cadence uk", func(t *testing.T) Config {
			return Config{Profile: profile(t, "uk"), CallerID: CallerIDConfig{Off: true}}
		}, []step{mark(),
			do("ring", func(l *FXS) { l.Ring("", "") }), wait(3005 * ms),
			ringEdges(true, 0*ms, false, 400*ms, true, 600*ms, false, 1000*ms, true, 3000*ms)}},
		{"answer", nil, []step{
			do("ring", func(l *FXS) { l.Ring("1001", "Alice") }), wait(time.Second), mark(),
			hook(true), wantRinging(false), ringEdges(false, 0*ms), wantEvent(EventAnswer, "", 0),
			wantState(StateRinging), wait(3 * sec), ringEdges(false, 0*ms), wantState(StateRinging),
			do("caller id", func(l *FXS) {
				if n, name := l.CallerID(); n != "1001" || name != "Alice" {
					t.Errorf("caller id %q %q", n, name)
				}
			}),
			do("connected", func(l *FXS) { l.Connected("sip:1001@pbx") }), wantState(StateTalking),
			noEvent()}},
		{"answer in ring pause", nil, []step{
			do("ring", func(l *FXS) { l.Ring("1001", "") }), wait(3 * time.Second), mark(),
			hook(true), ringEdges(), wantEvent(EventAnswer, "", 0), wait(5 * sec), ringEdges()}},
		{"hangup while answered", nil, with(incoming[:5],
			mark(), hook(false), wait(1300*ms), wantEventAt(EventHangup, "", 1250*ms), wantState(StateIdle))},
		{"flash then hangup", nil, with(call,
			breakFor(500*ms), wantEvent(EventFlash, "", 0), wantState(StateTalking),
			breakFor(1200*ms), wantEvent(EventFlash, "", 0), wantState(StateTalking),
			breakFor(50*ms), noEvent(), // below FlashMin
			mark(), hook(false), wait(2*sec), wantEventAt(EventHangup, "", 1250*ms), wantState(StateIdle), noEvent())},
		{"flash window config", func(t *testing.T) Config { return Config{HangupMin: 800 * ms} }, with(call,
			breakFor(700*ms), wantEvent(EventFlash, "", 0), mark(), hook(false), wait(900*ms),
			wantEventAt(EventHangup, "", 800*ms))},
		{"stop ringing", nil, []step{
			do("ring", func(l *FXS) { l.Ring("1001", "") }), wait(500 * ms), mark(),
			// Commands act at once, between frames: the fake stamps them
			// with the last poll's time, one frame before the mark.
			do("stop", (*FXS).StopRinging), ringEdges(false, -frame), wantRinging(false), wantState(StateIdle),
			wait(8 * sec), ringEdges(false, -frame), noEvent(),
			do("ring again", func(l *FXS) {
				if !l.Ring("1003", "") {
					t.Error("Ring refused after StopRinging")
				}
			}), wait(20 * ms), wantRinging(true)}},
		{"stop ringing after answer", nil, with(incoming[:5], do("stop", (*FXS).StopRinging),
			wantState(StateReorder), wait(500*ms), hears(480, 620))},
		{"ring refused unless idle", nil, with(offHook, do("ring", func(l *FXS) {
			if l.Ring("1001", "") {
				t.Error("Ring accepted off hook")
			}
		}), wantState(StateDialTone), wantRinging(false))},
		{"outgoing ringback busy", nil, with(offHook, dtmf("2000#"), wantEvent(EventDialed, "2000", 0),
			do("calling", (*FXS).Calling), wait(500*ms), hears(),
			do("ringback", (*FXS).Ringback), wantState(StateRingback), wait(1500*ms), hears(440, 480),
			do("busy", (*FXS).Busy), wantState(StateBusy), wait(400*ms), hears(480, 620),
			wait(29*sec), wantState(StateBusy), wait(700*ms), wantState(StateDisconnected), hears(),
			mark(), hook(false), wait(1300*ms), wantEventAt(EventHangup, "", 1250*ms), wantState(StateIdle))},
		{"far end hangs up", nil, with(call, do("reorder", (*FXS).Reorder), wantState(StateReorder),
			wait(400*ms), hears(480, 620), wait(30*sec), wantState(StateDisconnected), hears(), noEvent())},
		{"busy tone uk", func(t *testing.T) Config { return Config{Profile: profile(t, "uk")} },
			with(offHook, dtmf("1#"), wantEvent(EventDialed, "1", 0), do("busy", (*FXS).Busy), wait(400*ms), hears(400))},
		{"commands ignored when idle", nil, []step{
			do("busy", (*FXS).Busy), do("reorder", (*FXS).Reorder), do("ringback", (*FXS).Ringback),
			do("connected", func(l *FXS) { l.Connected("x") }), do("calling", (*FXS).Calling),
			do("stop ringing", (*FXS).StopRinging), wait(100 * ms), wantState(StateIdle), noEvent()}},
		{"hangup during dial tone", nil, with(offHook, mark(), hook(false), wait(1200*ms), wantState(StateDialTone),
			wait(100*ms), wantEventAt(EventHangup, "", 1250*ms), wantState(StateIdle), wait(400*ms), hears())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg Config
			if tt.cfg != nil {
				cfg = tt.cfg(t)
			}
			r := newRig(t, cfg)
			r.run(100 * ms)
			for i, s := range tt.steps {
				s.do(r)
				if t.Failed() {
					t.Fatalf("failed at step %d (%s)", i, s.name)
				}
			}
		})
	}
}

func TestFXSTalkingLeavesPlayout(t *testing.T) {
	r := newRig(t, Config{})
	for _, s := range []step{hook(true), dtmf("1#"), do("connected", func(l *FXS) { l.Calling(); l.Connected("p") })} {
		s.do(r)
	}
	if r.line.State() != StateTalking {
		t.Fatalf("state %v", r.line.State())
	}
	for i := range r.playout {
		r.playout[i] = 1234
	}
	r.line.Tick(r.now, r.capture[:], r.playout[:])
	for i, v := range r.playout {
		if v != 1234 {
			t.Fatalf("playout[%d] = %d in talking, want untouched", i, v)
		}
	}
	if r.line.Peer() != "p" {
		t.Errorf("peer %q", r.line.Peer())
	}
}

func TestFXSFault(t *testing.T) {
	r := newRig(t, Config{})
	hook(true).do(r)
	r.events = nil
	r.port.pollErr = errors.New("spi: timeout")
	r.step()
	r.step()
	if s := r.line.State(); s != StateDialTone {
		t.Errorf("state %v after 2 poll errors, want dialtone (transient errors tolerated)", s)
	}
	r.step()
	if s := r.line.State(); s != StateFault {
		t.Errorf("state %v after 3 poll errors, want fault", s)
	}
	if len(r.events) != 1 || r.events[0].Kind != EventHangup {
		t.Errorf("events %v, want one hangup", r.events)
	}
	r.run(time.Second)
	if got := r.heardTones(400 * ms); got != nil {
		t.Errorf("fault plays %v", got)
	}
	if r.line.Snapshot().Errors < 3 || r.line.LastError() == nil {
		t.Errorf("errors not counted: %+v, %v", r.line.Snapshot(), r.line.LastError())
	}
	// The phone is still off hook when the port comes back: silence, no call.
	r.port.pollErr = nil
	r.events = nil
	r.step()
	if s := r.line.State(); s != StateDisconnected {
		t.Errorf("state %v after recovery off hook, want disconnected", s)
	}
	r.port.off = false
	r.run(1500 * ms)
	if s := r.line.State(); s != StateIdle {
		t.Errorf("state %v after hanging up, want idle", s)
	}
	if len(r.events) != 1 || r.events[0].Kind != EventHangup {
		t.Errorf("events %v, want one hangup", r.events)
	}
}

func TestFXSFaultAtStart(t *testing.T) {
	p := &fakePort{feedErr: errors.New("chip not answering")}
	l, err := NewFXS(2, p, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.State() != StateFault {
		t.Fatalf("state %v, want fault", l.State())
	}
	var play [80]int16
	l.Tick(0, nil, play[:])
	if l.State() != StateFault {
		t.Fatalf("state %v while the feed fails, want fault", l.State())
	}
	p.feedErr = nil
	l.Tick(frame, nil, play[:])
	if l.State() != StateIdle || p.feed != board.FeedForwardActive {
		t.Fatalf("state %v feed %v after recovery, want idle, forward-active", l.State(), p.feed)
	}
}

func TestNewFXSConfig(t *testing.T) {
	odd := &dsp.Profile{Country: "xx", RingCadence: []time.Duration{time.Second}}
	zero := &dsp.Profile{Country: "xx", RingCadence: []time.Duration{time.Second, 0}}
	tests := []struct {
		name string
		port board.FXS
		cfg  Config
		ok   bool
	}{
		{"defaults", &fakePort{}, Config{}, true},
		{"no port", nil, Config{}, false},
		{"negative", &fakePort{}, Config{InterDigitLong: -1}, false},
		{"flash above hangup", &fakePort{}, Config{FlashMin: 2 * sec, HangupMin: sec}, false},
		{"pulse above hangup", &fakePort{}, Config{PulseBreakMax: 2 * sec}, false},
		{"flash min above default hangup", &fakePort{}, Config{FlashMin: 2 * sec}, false},
		{"odd cadence", &fakePort{}, Config{Profile: odd}, false},
		{"zero cadence step", &fakePort{}, Config{Profile: zero}, false},
		{"no cadence", &fakePort{}, Config{Profile: &dsp.Profile{Country: "xx"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewFXS(1, tt.port, tt.cfg, nil)
			if (err == nil) != tt.ok {
				t.Fatalf("NewFXS: %v, want ok=%v", err, tt.ok)
			}
			if err == nil && (l.State() != StateIdle || l.Port() != 1) {
				t.Errorf("new line state %v port %d", l.State(), l.Port())
			}
		})
	}
}

func TestConfigCheckTiming(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{}, true},
		{"us flash window", Config{FlashMin: 300 * ms, HangupMin: sec}, true},
		{"timed-break recall", Config{PulseBreakMax: 65 * ms, FlashMin: 70 * ms, HangupMin: 130 * ms}, true},
		{"negative", Config{FlashMin: -1}, false},
		{"flash above hangup", Config{FlashMin: 2 * sec, HangupMin: sec}, false},
		{"flash min above default hangup", Config{FlashMin: 2 * sec}, false},
		{"hangup below default pulse break", Config{HangupMin: 100 * ms, FlashMin: 50 * ms}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.CheckTiming(); (err == nil) != tt.ok {
				t.Errorf("CheckTiming: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestFXSSnapshot(t *testing.T) {
	r := newRig(t, Config{})
	r.run(50 * ms)
	hook(true).do(r)
	s := r.line.Snapshot()
	if s.State != StateDialTone || !s.OffHook || s.Transitions != 1 || s.ChangedAt != 50*ms || s.Port != 1 {
		t.Errorf("snapshot %+v", s)
	}
	if got := r.line.Digits(); got != "" {
		t.Errorf("digits %q", got)
	}
	dtmf("12").do(r)
	if got := r.line.Digits(); got != "12" {
		t.Errorf("digits %q, want 12", got)
	}
}

func TestStateStrings(t *testing.T) {
	want := []string{"idle", "dialtone", "dialing", "calling", "ringback", "talking", "ringing", "busy", "reorder", "disconnected", "fault"}
	for i, w := range want {
		if got := State(i).String(); got != w {
			t.Errorf("State(%d) = %q, want %q", i, got, w)
		}
	}
	if got := State(99).String(); got != "state(99)" {
		t.Errorf("State(99) = %q", got)
	}
	for k, w := range map[EventKind]string{EventOffHook: "offhook", EventDialed: "dialed", EventAnswer: "answer", EventHangup: "hangup", EventFlash: "flash", 0: "event(0)"} {
		if got := k.String(); got != w {
			t.Errorf("EventKind(%d) = %q, want %q", int(k), got, w)
		}
	}
}

// TestFXSTickNoAlloc runs thousands of frames in each steady state and
// checks Tick allocates nothing.
func TestFXSTickNoAlloc(t *testing.T) {
	port := &fakePort{ops: make([]portOp, 0, 4096)}
	events := 0
	l, err := NewFXS(1, port, Config{Profile: profile(t, "uk"), DigitMap: mustMap(t, "(1xxxxxxx|0)")}, func(Event) { events++ })
	if err != nil {
		t.Fatal(err)
	}
	var capture, playout [80]int16
	var keys dsp.DTMFGen
	now := time.Duration(0)
	tick := func() {
		keys.Fill(capture[:])
		l.Tick(now, capture[:], playout[:])
		now += frame
	}
	measure := func(name string, want State, frames int, setup func()) {
		t.Helper()
		setup()
		tick()
		if got := l.State(); got != want {
			t.Fatalf("%s: state %v, want %v", name, got, want)
		}
		allocs := testing.AllocsPerRun(frames, tick)
		if allocs != 0 {
			t.Errorf("%s: Tick allocates %v times per frame", name, allocs)
		}
		if got := l.State(); got != want {
			t.Errorf("%s: state %v after the run, want %v", name, got, want)
		}
	}
	measure("idle", StateIdle, 2000, func() {})
	measure("dial tone", StateDialTone, 1000, func() { port.off = true })
	measure("dialing dtmf", StateDialing, 200, func() {
		if err := keys.Queue("1234567", 60*ms, 60*ms, -8); err != nil {
			t.Fatal(err)
		}
		for range 8 {
			tick()
		}
	})
	measure("reorder", StateReorder, 2000, func() {
		for range 300 { // finish the digits; the map then wants an 8th digit
			tick()
		}
		l.Reorder()
	})
	measure("disconnected", StateDisconnected, 2000, func() {
		for l.State() == StateReorder {
			tick()
		}
	})
	measure("idle again", StateIdle, 1000, func() {
		port.off = false
		for range 200 {
			tick()
		}
	})
	measure("ringing", StateRinging, 3000, func() { l.Ring("1001", "Alice") })
	measure("answered", StateRinging, 500, func() { port.off = true })
	measure("talking", StateTalking, 3000, func() { l.Connected("peer") })
	measure("flash in talking", StateTalking, 500, func() {
		port.off = false
		for range 10 { // a UK timed-break recall, 100 ms
			tick()
		}
		port.off = true
	})
	if events == 0 {
		t.Error("no events: the run did not go through the states")
	}
}

func BenchmarkFXSTickIdle(b *testing.B) {
	l, err := NewFXS(1, &fakePort{}, Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var capture, playout [80]int16
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Tick(time.Duration(i)*frame, capture[:], playout[:])
	}
}

func BenchmarkFXSTickDialTone(b *testing.B) {
	p := &fakePort{off: true}
	l, err := NewFXS(1, p, Config{DialToneTimeout: 1000 * time.Hour}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var capture, playout [80]int16
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Tick(time.Duration(i)*frame, capture[:], playout[:])
	}
}
