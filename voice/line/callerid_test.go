package line

import (
	"context"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/dsp"
)

// cidClock is the gateway clock the caller-ID tests inject.
var cidClock = time.Date(2026, 12, 1, 19, 35, 0, 0, time.UTC)

const cidClockMDMF = "12011935"

// feedOp is one linefeed or ringing change the line made.
type feedOp struct {
	at   time.Duration
	ring bool // SetRinging, else SetLinefeed
	on   bool
	feed board.Linefeed
}

// recPort records a board.FXS's feed and ring calls on the frame clock.
type recPort struct {
	board.FXS
	now time.Duration
	ops []feedOp
}

func (p *recPort) PollHook(now time.Duration) (bool, error) {
	p.now = now
	return p.FXS.PollHook(now)
}

func (p *recPort) SetLinefeed(f board.Linefeed) error {
	p.ops = append(p.ops, feedOp{at: p.now, feed: f})
	return p.FXS.SetLinefeed(f)
}

func (p *recPort) SetRinging(on bool) error {
	p.ops = append(p.ops, feedOp{at: p.now, ring: true, on: on})
	return p.FXS.SetRinging(on)
}

// first returns the first op from index i that matches, and its index.
func (p *recPort) first(i int, match func(feedOp) bool) (feedOp, int, bool) {
	for ; i < len(p.ops); i++ {
		if match(p.ops[i]) {
			return p.ops[i], i, true
		}
	}
	return feedOp{}, -1, false
}

// simLine runs an FXS line on port 1 of the simulated board, its virtual
// phone on the line, on a virtual clock.
type simLine struct {
	t      *testing.T
	b      *sim.Board
	port   *recPort
	phone  *sim.Phone
	line   *FXS
	slot   int
	tx, rx [][]int16
	now    time.Duration
	// sent is the first and last frame the line sent audio in.
	sentFirst, sentLast time.Duration
	events              []Event
}

func newSimLine(t *testing.T, cfg Config) *simLine {
	t.Helper()
	b, err := sim.New(sim.Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	bp := b.Ports[0]
	ph, err := b.Phone(bp.N)
	if err != nil {
		t.Fatal(err)
	}
	r := &simLine{t: t, b: b, port: &recPort{FXS: bp.FXS}, phone: ph, slot: bp.Slot, sentFirst: -1}
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return cidClock }
	}
	r.line, err = NewFXS(bp.N, r.port, cfg, func(e Event) { r.events = append(r.events, e) })
	if err != nil {
		t.Fatal(err)
	}
	r.tx = make([][]int16, b.Highway.Slots())
	r.rx = make([][]int16, b.Highway.Slots())
	r.tx[r.slot] = make([]int16, pcm.FrameSamples)
	r.rx[r.slot] = make([]int16, pcm.FrameSamples)
	return r
}

func (r *simLine) run(d time.Duration) {
	r.t.Helper()
	for end := r.now + d; r.now < end; {
		r.line.Tick(r.now, r.rx[r.slot], r.tx[r.slot])
		for _, v := range r.tx[r.slot] {
			if v != 0 {
				if r.sentFirst < 0 {
					r.sentFirst = r.now
				}
				r.sentLast = r.now
				break
			}
		}
		seq, _, err := r.b.Highway.Exchange(context.Background(), r.tx, r.rx)
		if err != nil {
			r.t.Fatal(err)
		}
		r.now = time.Duration(seq+1) * pcm.FrameDuration
	}
}

func (r *simLine) resetSent() { r.sentFirst, r.sentLast = -1, -1 }

func isRing(on bool) func(feedOp) bool {
	return func(op feedOp) bool { return op.ring && op.on == on }
}

func isFeed(f board.Linefeed) func(feedOp) bool {
	return func(op feedOp) bool { return !op.ring && op.feed == f }
}

func profileCfg(t *testing.T, country string, o CallerIDConfig) Config {
	return Config{Profile: profile(t, country), CallerID: o}
}

// TestCallerIDOnRing checks each alerting style's order and timing on the
// line and that the virtual phone decodes what was sent.
func TestCallerIDOnRing(t *testing.T) {
	ada := Caller{Number: "1003", Name: "Ada Lovelace"}
	const ms = time.Millisecond
	for _, tc := range []struct {
		name   string
		cfg    Config
		caller Caller
		run    time.Duration
		check  func(t *testing.T, r *simLine)
		want   simapi.CallerID
	}{
		{
			name: "bell202 after the first ring (us)", cfg: Config{}, caller: ada, run: 7 * time.Second,
			check: func(t *testing.T, r *simLine) {
				on, _, _ := r.port.first(0, isRing(true))
				off, i, ok := r.port.first(0, isRing(false))
				if !ok || on.at != 0 || off.at != 2*time.Second {
					t.Fatalf("first ring %v..%v, want 0..2s", on.at, off.at)
				}
				oht, j, ok := r.port.first(i, isFeed(board.FeedForwardOHT))
				if !ok || oht.at != off.at {
					t.Errorf("on-hook transmission at %v, want with the ring's end %v", oht.at, off.at)
				}
				if r.sentFirst < off.at+500*ms {
					t.Errorf("data starts %v after the ring, want >= 500 ms", r.sentFirst-off.at)
				}
				next, _, _ := r.port.first(i, isRing(true))
				if next.at-r.sentLast < 500*ms {
					t.Errorf("data ends %v before the next ring, want >= 500 ms", next.at-r.sentLast)
				}
				act, _, ok := r.port.first(j, isFeed(board.FeedForwardActive))
				if !ok || act.at <= r.sentLast || act.at >= next.at {
					t.Errorf("forward active again at %v, want after the data (%v) and before the ring (%v)", act.at, r.sentLast, next.at)
				}
			},
			want: simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Time: cidClockMDMF, Standard: "bell202"},
		},
		{
			name: "v23 after the first ring (de)", cfg: profileCfg(t, "de", CallerIDConfig{}), caller: ada, run: 5 * time.Second,
			check: func(t *testing.T, r *simLine) {
				off, _, _ := r.port.first(0, isRing(false))
				if off.at != time.Second || r.sentFirst < off.at+500*ms {
					t.Errorf("ring ends %v, data starts %v", off.at, r.sentFirst)
				}
			},
			want: simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Time: cidClockMDMF, Standard: "v23"},
		},
		{
			name: "v23 with line reversal and DT-AS (uk)", cfg: profileCfg(t, "uk", CallerIDConfig{}), caller: ada, run: 3 * time.Second,
			check: func(t *testing.T, r *simLine) {
				rev, i, ok := r.port.first(0, isFeed(board.FeedReverseOHT))
				if !ok || rev.at != 0 {
					t.Fatalf("line reversal at %v (%v), want at 0", rev.at, ok)
				}
				if r.sentFirst < rev.at+100*ms {
					t.Errorf("DT-AS %v after the reversal, want >= 100 ms", r.sentFirst-rev.at)
				}
				ring, _, ok := r.port.first(i, isRing(true))
				if !ok || ring.at-r.sentLast < 200*ms {
					t.Errorf("first ring %v after the data, want >= 200 ms", ring.at-r.sentLast)
				}
				if _, _, ok := r.port.first(0, isRing(true)); ok && ring.at < r.sentLast {
					t.Error("rang before the data")
				}
			},
			want: simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Time: cidClockMDMF, Standard: "v23"},
		},
		{
			name: "v23 with a ring pulse", cfg: profileCfg(t, "de", CallerIDConfig{Alert: dsp.AlertRingPulse}), caller: ada, run: 3 * time.Second,
			check: func(t *testing.T, r *simLine) {
				on, _, _ := r.port.first(0, isRing(true))
				off, i, _ := r.port.first(0, isRing(false))
				if on.at != 0 || off.at-on.at < 200*ms || off.at-on.at > 300*ms {
					t.Errorf("ring pulse %v..%v, want 200-300 ms", on.at, off.at)
				}
				if d := r.sentFirst - off.at; d < 500*ms || d > 2*time.Second {
					t.Errorf("data %v after the pulse, want 500 ms - 2 s", d)
				}
				ring, _, ok := r.port.first(i, isRing(true))
				if !ok || ring.at-r.sentLast < 200*ms {
					t.Errorf("first ring %v after the data (%v)", ring.at-r.sentLast, ok)
				}
			},
			want: simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Time: cidClockMDMF, Standard: "v23"},
		},
		{
			name: "dtmf before the first ring", cfg: profileCfg(t, "de", CallerIDConfig{Standard: dsp.CallerIDDTMF}), caller: ada, run: 3 * time.Second,
			check: func(t *testing.T, r *simLine) {
				rev, i, ok := r.port.first(0, isFeed(board.FeedReverseOHT))
				if !ok || rev.at != 0 {
					t.Fatalf("line reversal at %v (%v), want at 0", rev.at, ok)
				}
				ring, _, ok := r.port.first(i, isRing(true))
				if !ok || ring.at-r.sentLast < 200*ms {
					t.Errorf("first ring %v after the data (%v)", ring.at-r.sentLast, ok)
				}
			},
			want: simapi.CallerID{Number: "1003", Standard: "dtmf"},
		},
		{
			name: "private, bell202", cfg: Config{}, caller: Caller{Private: true}, run: 7 * time.Second,
			want: simapi.CallerID{Time: cidClockMDMF, Standard: "bell202", Private: true},
		},
		{
			name: "unavailable with a name, v23", cfg: profileCfg(t, "fr", CallerIDConfig{}), caller: Caller{Name: "Alice", Unavailable: true}, run: 5 * time.Second,
			want: simapi.CallerID{Name: "Alice", Time: cidClockMDMF, Standard: "v23", Unavailable: true},
		},
		{
			name: "private, dtmf", cfg: Config{CallerID: CallerIDConfig{Standard: dsp.CallerIDDTMF}}, caller: Caller{Private: true}, run: 3 * time.Second,
			want: simapi.CallerID{Standard: "dtmf", Private: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newSimLine(t, tc.cfg)
			r.run(100 * ms)
			r.port.ops = nil
			r.resetSent()
			start := r.now
			if !r.line.RingCaller(tc.caller) {
				t.Fatal("RingCaller refused")
			}
			r.run(tc.run)
			// Times relative to the Ring call.
			for i := range r.port.ops {
				r.port.ops[i].at -= start
			}
			r.sentFirst -= start
			r.sentLast -= start
			if r.sentFirst < 0 {
				t.Fatal("the line sent no caller ID")
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			got := r.phone.State().CallerID
			if got == nil || *got != tc.want {
				t.Errorf("phone shows %+v, want %+v", got, tc.want)
			}
			if r.line.State() != StateRinging {
				t.Errorf("line %v, want ringing", r.line.State())
			}
		})
	}
}

// TestCallerIDAnswerDuringData: lifting the handset while the data goes
// out stops it and restores talk battery at once.
func TestCallerIDAnswerDuringData(t *testing.T) {
	r := newSimLine(t, profileCfg(t, "uk", CallerIDConfig{}))
	r.run(100 * time.Millisecond)
	r.line.Ring("1003", "Ada")
	r.run(400 * time.Millisecond)
	if err := r.phone.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	r.port.ops = nil
	r.run(200 * time.Millisecond)
	if _, _, ok := r.port.first(0, isFeed(board.FeedForwardActive)); !ok {
		t.Errorf("feed ops %+v, want forward active", r.port.ops)
	}
	if len(r.events) == 0 || r.events[len(r.events)-1].Kind != EventAnswer {
		t.Errorf("events %v, want answer", r.events)
	}
	r.resetSent()
	r.run(time.Second)
	if r.sentFirst >= 0 {
		t.Errorf("audio sent at %v after the answer", r.sentFirst)
	}
}

// TestMessageWaitingLamp: each change reaches the phone's lamp on hook,
// a change while off hook waits for the hang-up, and the dial tone
// stutters while messages wait.
func TestMessageWaitingLamp(t *testing.T) {
	for _, country := range []string{"us", "uk"} {
		t.Run(country, func(t *testing.T) {
			r := newSimLine(t, profileCfg(t, country, CallerIDConfig{}))
			r.run(100 * time.Millisecond)
			r.line.SetMessageWaiting(true)
			r.run(1500 * time.Millisecond)
			if !r.phone.State().MWI {
				t.Fatal("lamp off after VMWI on")
			}
			if _, _, ok := r.port.first(0, isRing(true)); ok {
				t.Error("VMWI rang the phone")
			}
			_ = r.phone.SetHook("off")
			r.run(200 * time.Millisecond)
			if got := r.line.tone.Playing(); got != &r.line.prof.Stutter {
				t.Errorf("off hook hears %v, want stutter dial tone", got)
			}
			r.line.SetMessageWaiting(false)
			r.run(1500 * time.Millisecond)
			if !r.phone.State().MWI {
				t.Fatal("lamp changed while off hook")
			}
			_ = r.phone.SetHook("on")
			r.run(3 * time.Second)
			if r.phone.State().MWI {
				t.Fatal("lamp still on after VMWI off and hang-up")
			}
			_ = r.phone.SetHook("off")
			r.run(200 * time.Millisecond)
			if got := r.line.tone.Playing(); got != &r.line.prof.Dial {
				t.Errorf("off hook hears %v, want dial tone", got)
			}
		})
	}
}

// TestCallWaitingID: type II caller ID to a phone in a call: CAS, the
// phone's D, then FSK with the far end muted; no FSK without the ACK.
func TestCallWaitingID(t *testing.T) {
	r := newSimLine(t, Config{})
	r.run(100 * time.Millisecond)
	r.line.Ring("1001", "Bob")
	r.run(500 * time.Millisecond)
	_ = r.phone.SetHook("off")
	r.run(200 * time.Millisecond)
	r.line.Connected("sip:1001@pbx")
	r.run(7 * time.Second) // past the old caller ID's keep time
	if r.line.State() != StateTalking {
		t.Fatalf("line %v, want talking", r.line.State())
	}
	if !r.line.CallWaitingID(Caller{Number: "1003", Name: "Ada Lovelace"}) {
		t.Fatal("CallWaitingID refused")
	}
	if !r.line.SpeechMuted() {
		t.Error("far end not muted")
	}
	r.run(1500 * time.Millisecond)
	if r.line.SpeechMuted() {
		t.Error("far end still muted")
	}
	got := r.phone.State().CallerID
	want := simapi.CallerID{Number: "1003", Name: "Ada Lovelace", Time: cidClockMDMF, Standard: "bell202"}
	if got == nil || *got != want {
		t.Errorf("phone shows %+v, want %+v", got, want)
	}
	if !r.line.cid.acked {
		t.Error("no ACK seen")
	}

	// A phone that does not acknowledge (the fake port's silence) gets CAS only.
	fr := newRig(t, Config{})
	fr.port.off = true
	fr.run(100 * time.Millisecond)
	fr.line.hookA.Store(true)
	fr.line.setState(StateTalking)
	if !fr.line.CallWaitingID(Caller{Number: "1003"}) {
		t.Fatal("CallWaitingID refused")
	}
	fr.heard = fr.heard[:0]
	fr.run(time.Second)
	last := -1
	for i, v := range fr.heard {
		if v != 0 {
			last = i
		}
	}
	if d := time.Duration(last+1) * time.Second / 8000; d > 100*time.Millisecond {
		t.Errorf("sent %v of audio without an ACK, want the 80 ms CAS only", d)
	}
	if fr.line.SpeechMuted() {
		t.Error("far end still muted")
	}
}

// TestCallerIDNoAllocs: the frames of a caller-ID job allocate nothing.
func TestCallerIDNoAllocs(t *testing.T) {
	for _, country := range []string{"us", "uk"} {
		r := newRig(t, Config{Profile: profile(t, country), Clock: func() time.Time { return cidClock }})
		r.run(50 * time.Millisecond)
		r.line.Ring("1003", "Ada Lovelace")
		allocs := testing.AllocsPerRun(500, r.step)
		if allocs != 0 {
			t.Errorf("%s: Tick allocates %v times per frame during caller ID", country, allocs)
		}
	}
}

func TestCallerIDConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		o  CallerIDConfig
		ok bool
	}{
		{CallerIDConfig{}, true},
		{CallerIDConfig{Off: true}, true},
		{CallerIDConfig{Standard: dsp.CallerIDDTMF}, true},
		{CallerIDConfig{Standard: "fsk"}, false},
		{CallerIDConfig{Alert: "loud"}, false},
	} {
		if err := tc.o.Check(nil); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.o, err)
		}
	}
}
