package line

import (
	"context"
	"slices"
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/dsp"
)

// ringLine is a line on port 1 of a simulated board, stepped frame by frame
// on a virtual clock, with the virtual phone on the port.
type ringLine struct {
	t     *testing.T
	b     *simboard.Board
	l     *FXS
	phone *simboard.Phone
	slot  int
	tx    [][]int16
	rx    [][]int16
}

func newRingLine(t *testing.T, cfg Config) *ringLine {
	t.Helper()
	b, err := simboard.New(simboard.Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	port := b.Ports[0]
	l, err := NewFXS(1, port.FXS, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	phone, err := b.Phone(1)
	if err != nil {
		t.Fatal(err)
	}
	s := &ringLine{t: t, b: b, l: l, phone: phone, slot: port.Slot,
		tx: make([][]int16, b.Highway.Slots()), rx: make([][]int16, b.Highway.Slots())}
	for i := range s.tx {
		s.tx[i] = make([]int16, pcm.FrameSamples)
		s.rx[i] = make([]int16, pcm.FrameSamples)
	}
	return s
}

// ringing runs d of frames and returns, at each ring after the first, the
// burst before it and the pause the phone measured.
func (s *ringLine) ringing(d time.Duration) (bursts, pauses []time.Duration) {
	s.t.Helper()
	lastRings := 0
	for range int(d / pcm.FrameDuration) {
		seq, _, err := s.b.Highway.Exchange(context.Background(), s.tx, s.rx)
		if err != nil {
			s.t.Fatal(err)
		}
		s.l.Tick(time.Duration(seq)*pcm.FrameDuration, s.rx[s.slot], s.tx[s.slot])
		st := s.phone.State()
		if st.Rings != lastRings && st.Rings > 1 {
			bursts = append(bursts, time.Duration(st.LastRingMS)*time.Millisecond)
			pauses = append(pauses, time.Duration(st.LastPauseMS)*time.Millisecond)
		}
		lastRings = st.Rings
	}
	return bursts, pauses
}

// TestDistinctiveRingOnPhone: the virtual phone measures the GR-506
// long-long pattern (Bellcore-dr2) when the gateway sets it before Ring,
// and the country's cadence again on the next call.
func TestDistinctiveRingOnPhone(t *testing.T) {
	s := newRingLine(t, Config{Profile: profile(t, "us")})
	if err := s.l.SetNextRingCadence(dsp.DistinctiveRing(2)); err != nil {
		t.Fatal(err)
	}
	if !s.l.Ring("1003", "Ada Lovelace") {
		t.Fatal("Ring refused")
	}
	bursts, pauses := s.ringing(11 * time.Second)
	if want := []time.Duration{800 * ms, 800 * ms, 800 * ms}; !slices.Equal(bursts, want) {
		t.Errorf("distinctive bursts %v, want %v", bursts, want)
	}
	if want := []time.Duration{400 * ms, 4000 * ms, 400 * ms}; !slices.Equal(pauses, want) {
		t.Errorf("distinctive pauses %v, want %v", pauses, want)
	}
	s.l.StopRinging()
	s.ringing(5 * time.Second) // the phone's ring hold runs out

	// The override was for one call: the next one rings the US 2 s / 4 s.
	if !s.l.Ring("1003", "") {
		t.Fatal("second Ring refused")
	}
	bursts, pauses = s.ringing(9 * time.Second)
	if want := []time.Duration{2000 * ms}; !slices.Equal(bursts, want) {
		t.Errorf("country bursts %v, want %v", bursts, want)
	}
	if want := []time.Duration{4000 * ms}; !slices.Equal(pauses, want) {
		t.Errorf("country pauses %v, want %v", pauses, want)
	}
}

func TestSetNextRingCadence(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    []time.Duration
		ok   bool
	}{
		{"nil restores the country's", nil, true},
		{"dr3", dsp.DistinctiveRing(3), true},
		{"odd", []time.Duration{time.Second}, false},
		{"zero step", []time.Duration{time.Second, 0}, false},
		{"negative step", []time.Duration{-time.Second, time.Second}, false},
		{"too long", make([]time.Duration, maxRingSteps+2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewFXS(1, &fakePort{}, Config{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.SetNextRingCadence(tc.c); (err == nil) != tc.ok {
				t.Errorf("SetNextRingCadence(%v) = %v, want ok=%v", tc.c, err, tc.ok)
			}
		})
	}
}

// TestSetNextRingCadenceNoAlloc: the gateway calls it on the media loop.
func TestSetNextRingCadenceNoAlloc(t *testing.T) {
	l, err := NewFXS(1, &fakePort{}, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dsp.DistinctiveRing(4)
	if n := testing.AllocsPerRun(100, func() { _ = l.SetNextRingCadence(c); l.ringCadence() }); n != 0 {
		t.Errorf("allocates %v times", n)
	}
}

// TestFlashWindowFromProfile: without a flash window of its own the line
// takes the country's; the config's own values win.
func TestFlashWindowFromProfile(t *testing.T) {
	for _, tc := range []struct {
		name             string
		cfg              Config
		flashMin, hangup time.Duration
	}{
		{"no profile", Config{}, DefaultFlashMin, DefaultHangupMin},
		{"us", Config{Profile: profile(t, "us")}, 300 * ms, 1100 * ms},
		{"uk timed-break recall", Config{Profile: profile(t, "uk")}, 80 * ms, 130 * ms},
		{"config wins", Config{Profile: profile(t, "uk"), FlashMin: 90 * ms, HangupMin: 900 * ms}, 90 * ms, 900 * ms},
		{"config max only", Config{Profile: profile(t, "us"), HangupMin: 900 * ms}, 300 * ms, 900 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			if err := c.setDefaults(); err != nil {
				t.Fatal(err)
			}
			if c.FlashMin != tc.flashMin || c.HangupMin != tc.hangup {
				t.Errorf("flash %v, hang-up %v; want %v, %v", c.FlashMin, c.HangupMin, tc.flashMin, tc.hangup)
			}
		})
	}
	// Every country's window passes the line's own timing check.
	for _, cc := range dsp.Countries() {
		if err := (Config{Profile: profile(t, cc)}).CheckTiming(); err != nil {
			t.Errorf("%s: %v", cc, err)
		}
	}
}

// A UK line hears a 100 ms timed-break recall as a flash and a 200 ms
// break as a hang-up.
func TestFlashUKRecall(t *testing.T) {
	var evs []EventKind
	l, err := NewFXS(1, &fakePort{}, Config{Profile: profile(t, "uk")}, func(e Event) { evs = append(evs, e.Kind) })
	if err != nil {
		t.Fatal(err)
	}
	port := l.port.(*fakePort)
	var capture, playout [80]int16
	now := time.Duration(0)
	run := func(off bool, d time.Duration) {
		port.off = off
		for range int(d / frame) {
			l.Tick(now, capture[:], playout[:])
			now += frame
		}
	}
	run(false, 100*ms)
	if !l.Ring("1", "") {
		t.Fatal("Ring refused")
	}
	run(false, 100*ms)
	run(true, 200*ms) // answer
	l.Connected("peer")
	run(false, 100*ms) // recall
	run(true, 200*ms)
	run(false, 200*ms) // hang-up
	run(false, 100*ms)
	want := []EventKind{EventAnswer, EventFlash, EventHangup}
	if !slices.Equal(evs, want) {
		t.Errorf("events %v, want %v", evs, want)
	}
}
