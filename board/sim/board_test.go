package sim

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/drivers/si3215/model"
	"github.com/loopstart/loopstart/dsp"
)

// media plays the media loop's part against a board on a virtual clock.
type media struct {
	t      *testing.T
	b      *Board
	clk    *simpcm.VirtualClock
	tx, rx [][]int16
	seq    uint64
	hook   []bool // last PollHook result per port
	play   [Ports]dsp.ToneGen
	// recorded rx audio per port since the last reset
	heard [Ports][]int16
	// hook transitions seen by PollHook per port: frame numbers of each change
	edges [Ports][]uint64
}

func newMedia(t *testing.T, opts Opts) *media {
	t.Helper()
	clk := &simpcm.VirtualClock{}
	opts.Clock = clk
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		for i, c := range b.chips {
			if v := c.Violations(); len(v) != 0 {
				t.Errorf("chip %d: protocol violations: %q", i, v)
			}
		}
	})
	m := &media{t: t, b: b, clk: clk, hook: make([]bool, Ports)}
	m.tx = make([][]int16, b.Board.Highway.Slots())
	m.rx = make([][]int16, b.Board.Highway.Slots())
	for i := range m.tx {
		m.tx[i] = make([]int16, pcm.FrameSamples)
		m.rx[i] = make([]int16, pcm.FrameSamples)
	}
	for _, p := range b.Ports {
		if p.Fault != nil || p.Kind != board.KindFXS {
			continue
		}
		if err := p.FXS.SetLinefeed(board.FeedForwardActive); err != nil {
			t.Fatalf("port %d: %v", p.N, err)
		}
	}
	return m
}

// tick runs n frames: playout, exchange, hook polling, capture recording.
func (m *media) tick(n int) {
	m.t.Helper()
	for range n {
		for i, p := range m.b.Ports[:Ports] {
			m.play[i].Fill(m.tx[p.Slot])
		}
		seq, late, err := m.b.Board.Highway.Exchange(context.Background(), m.tx, m.rx)
		if err != nil {
			m.t.Fatal(err)
		}
		if late != 0 {
			m.t.Fatalf("virtual clock late %v", late)
		}
		m.seq = seq
		now := time.Duration(seq) * pcm.FrameDuration
		for i, p := range m.b.Ports[:Ports] {
			if p.Kind != board.KindFXS {
				continue
			}
			m.heard[i] = append(m.heard[i], m.rx[p.Slot]...)
			if p.Fault != nil {
				continue
			}
			off, err := p.FXS.PollHook(now)
			if err != nil {
				m.t.Fatalf("port %d: poll hook: %v", p.N, err)
			}
			if off != m.hook[i] {
				m.hook[i] = off
				m.edges[i] = append(m.edges[i], seq)
			}
		}
	}
}

func (m *media) phone(n int) *Phone {
	m.t.Helper()
	p, err := m.b.Phone(n)
	if err != nil {
		m.t.Fatal(err)
	}
	return p
}

func TestBoardShape(t *testing.T) {
	m := newMedia(t, Opts{})
	b := m.b
	if b.Name != "sim" || len(b.Ports) != Ports+1 || b.Board.Highway.Slots() < 4 {
		t.Fatalf("board %q with %d ports and %d slots", b.Name, len(b.Ports), b.Board.Highway.Slots())
	}
	if p := b.Ports[Ports]; p.N != FXOPort || p.Kind != board.KindFXO || p.FXO == nil || p.Fault != nil {
		t.Fatalf("fxo port: %+v", p)
	}
	for i, p := range b.Ports[:Ports] {
		if p.N != i+1 || p.Kind != board.KindFXS || p.Slot != i || p.Fault != nil || p.FXS == nil {
			t.Fatalf("port %d: %+v", i, p)
		}
	}
	if len(b.Phones()) != Ports {
		t.Fatalf("%d phones", len(b.Phones()))
	}
	for _, n := range []int{0, 3, -1} {
		if _, err := b.Phone(n); !errors.Is(err, ErrNoPort) {
			t.Errorf("Phone(%d): %v, want ErrNoPort", n, err)
		}
	}
	if p := m.phone(2); p.Port() != 2 || p.State().Port != 2 {
		t.Fatal("Phone(2) is not port 2's phone")
	}
	if err := b.Ports[0].FXS.SetLinefeed(board.Linefeed(42)); err == nil {
		t.Fatal("unknown linefeed accepted")
	}
}

func TestBoardAudio(t *testing.T) {
	m := newMedia(t, Opts{})
	p1, p2 := m.phone(1), m.phone(2)
	for _, p := range []*Phone{p1, p2} {
		if err := p.SetHook("off"); err != nil {
			t.Fatal(err)
		}
	}
	m.play[0].PlayFreqs([]float64{1000}, -12)
	if err := p2.Say([]float64{440}, -15); err != nil {
		t.Fatal(err)
	}
	m.tick(60)

	st := p1.State()
	if len(st.Hearing.TonesHz) != 1 || math.Abs(st.Hearing.TonesHz[0]-1000) > 2 {
		t.Fatalf("phone 1 hears %v, want [1000]", st.Hearing.TonesHz)
	}
	if math.Abs(st.Hearing.LevelDBFS+12) > 1 {
		t.Fatalf("phone 1 hears %.1f dBFS, want about -12", st.Hearing.LevelDBFS)
	}
	if st := p2.State(); st.Hearing.LevelDBFS > -100 {
		t.Fatalf("phone 2 hears %v at %.1f dBFS: crosstalk", st.Hearing.TonesHz, st.Hearing.LevelDBFS)
	}
	// Phone 2's voice arrives on its slot, and only there.
	last := m.heard[1][len(m.heard[1])-4000:]
	tones := dsp.DominantTones(last, 4)
	if len(tones) != 1 || math.Abs(tones[0]-440) > 2 {
		t.Fatalf("slot 1 carries %v, want [440]", tones)
	}
	if l := dsp.LevelDBFS(last); math.Abs(l+15) > 1 {
		t.Fatalf("slot 1 level %.1f dBFS, want about -15", l)
	}
	// Silent phone 1's slot carries only the line's echo of what it
	// hears, the hybrid's loss below it.
	echo := m.heard[0][len(m.heard[0])-4000:]
	if l := dsp.LevelDBFS(echo); math.Abs(l-(-12-model.DefaultHybridLoss)) > 3 {
		t.Fatalf("slot 0 (silent phone 1) at %.1f dBFS, want the 1000 Hz echo %.0f dB below -12", l, model.DefaultHybridLoss)
	}
	if tones := dsp.DominantTones(echo, 4); len(tones) != 1 || math.Abs(tones[0]-1000) > 2 {
		t.Fatalf("slot 0 carries %v, want the echo of 1000 Hz", tones)
	}
	// Heard returns the earpiece audio itself.
	h := p1.Heard(200 * time.Millisecond)
	if len(h) != 1600 || math.Abs(dsp.LevelDBFS(h)+12) > 1 {
		t.Fatalf("Heard: %d samples at %.1f dBFS", len(h), dsp.LevelDBFS(h))
	}
}

func TestBoardHook(t *testing.T) {
	m := newMedia(t, Opts{})
	m.tick(5)
	if m.hook[0] || m.hook[1] {
		t.Fatal("off hook before anyone lifted a handset")
	}
	if err := m.phone(2).SetHook("off"); err != nil {
		t.Fatal(err)
	}
	start := m.seq
	m.tick(30)
	if m.hook[0] || !m.hook[1] {
		t.Fatalf("hooks %v after phone 2 went off hook", m.hook)
	}
	if len(m.edges[1]) != 1 {
		t.Fatalf("phone 2 hook edges %v", m.edges[1])
	}
	t.Logf("off hook seen after %d frames", m.edges[1][0]-start)
	if err := m.phone(2).SetHook("on"); err != nil {
		t.Fatal(err)
	}
	m.tick(30)
	if m.hook[1] {
		t.Fatal("phone 2 still off hook after hanging up")
	}
}

func TestBoardRinging(t *testing.T) {
	m := newMedia(t, Opts{})
	fxs := m.b.Ports[0].FXS
	p := m.phone(1)
	// US cadence, 2 s on / 4 s off, three bursts.
	for range 3 {
		if err := fxs.SetRinging(true); err != nil {
			t.Fatal(err)
		}
		m.tick(200)
		if !p.State().Ringing {
			t.Fatal("not ringing during a burst")
		}
		if err := fxs.SetRinging(false); err != nil {
			t.Fatal(err)
		}
		m.tick(400)
		if !p.State().Ringing {
			t.Fatal("not ringing during the cadence's pause")
		}
	}
	st := p.State()
	if st.Rings != 3 || st.LastRingMS != 2000 || st.LastPauseMS != 4000 {
		t.Fatalf("rings %d, last ring %d ms, last pause %d ms; want 3, 2000, 4000", st.Rings, st.LastRingMS, st.LastPauseMS)
	}
	if st := m.phone(2).State(); st.Rings != 0 || st.Ringing {
		t.Fatal("phone 2 rang")
	}
	m.tick(100)
	if p.State().Ringing {
		t.Fatal("still ringing 5 s after the last burst")
	}
	// Answering during a burst: ring trip reads as off hook.
	if err := fxs.SetRinging(true); err != nil {
		t.Fatal(err)
	}
	m.tick(50)
	if err := p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	m.tick(30)
	if !m.hook[0] {
		t.Fatal("answer during ringing not seen as off hook")
	}
	if err := fxs.SetLinefeed(board.FeedForwardActive); err != nil {
		t.Fatal(err)
	}
	m.tick(30)
	if st := p.State(); st.Ringing || st.Rings != 1 || st.Hook != "off" {
		t.Fatalf("after answering: %+v", st)
	}
}

func TestBoardDTMFDial(t *testing.T) {
	m := newMedia(t, Opts{})
	p := m.phone(1)
	if err := p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	m.tick(10)
	m.heard[0] = m.heard[0][:0]
	if err := p.Dial("1002#", "dtmf"); err != nil {
		t.Fatal(err)
	}
	m.tick(120)
	if got := string(dsp.NewDTMFDetector().Process(m.heard[0], nil)); got != "1002#" {
		t.Fatalf("the host's detector decoded %q from slot 0, want 1002#", got)
	}
	if got := string(dsp.NewDTMFDetector().Process(m.heard[1], nil)); got != "" {
		t.Fatalf("slot 1 carries dtmf %q", got)
	}
	// Back the other way: the host plays DTMF, the phone hears it.
	if err := m.phone(2).SetHook("off"); err != nil {
		t.Fatal(err)
	}
	var keys dsp.DTMFGen
	if err := keys.Queue("*9", 100*time.Millisecond, 100*time.Millisecond, -10); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		// tick plays m.play into tx; this frame is run by hand instead.
		keys.Fill(m.tx[1])
		seq, _, err := m.b.Board.Highway.Exchange(context.Background(), m.tx, m.rx)
		if err != nil {
			t.Fatal(err)
		}
		m.seq = seq
	}
	if st := m.phone(2).State(); st.DTMFHeard != "*9" {
		t.Fatalf("phone 2 heard dtmf %q, want *9", st.DTMFHeard)
	}
}

func TestBoardPulseDial(t *testing.T) {
	m := newMedia(t, Opts{})
	p := m.phone(1)
	if err := p.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	m.tick(30)
	if !m.hook[0] {
		t.Fatal("not off hook")
	}
	m.edges[0] = nil
	if err := p.Dial("30", "pulse"); err != nil {
		t.Fatal(err)
	}
	m.tick(300)
	// Edges alternate on-hook (break) and off-hook (make): 13 pulses.
	e := m.edges[0]
	if len(e) != 26 {
		t.Fatalf("%d hook edges %v, want 26 (13 pulses)", len(e), e)
	}
	var digits []int
	pulses := 0
	for i := 0; i < len(e); i += 2 {
		brk := e[i+1] - e[i]
		if brk < 5 || brk > 7 {
			t.Fatalf("pulse break of %d frames, want about 6", brk)
		}
		pulses++
		if i+2 == len(e) || e[i+2]-e[i+1] > 20 {
			digits = append(digits, pulses)
			pulses = 0
		} else if mk := e[i+2] - e[i+1]; mk < 3 || mk > 5 {
			t.Fatalf("pulse make of %d frames, want about 4", mk)
		}
	}
	if len(digits) != 2 || digits[0] != 3 || digits[1] != 10 {
		t.Fatalf("pulse trains %v, want [3 10]", digits)
	}
	if !m.hook[0] {
		t.Fatal("on hook after pulse dialling")
	}
}

func TestBoardFaultyChip(t *testing.T) {
	var opts Opts
	opts.Chips = map[int]model.Opts{1: {ID: 0x0F}} // revision 15: no chip answers
	m := newMedia(t, opts)
	if m.b.Ports[0].Fault == nil {
		t.Fatal("absent chip: no fault on port 1")
	}
	t.Logf("port 1 fault: %v", m.b.Ports[0].Fault)
	if m.b.Ports[1].Fault != nil || m.b.Ports[1].FXS == nil {
		t.Fatalf("port 2 broken too: %v", m.b.Ports[1].Fault)
	}
	if err := m.phone(2).SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := m.phone(2).Say([]float64{700}, -10); err != nil {
		t.Fatal(err)
	}
	m.tick(60)
	if !m.hook[1] {
		t.Fatal("port 2 does not see off hook")
	}
	if tones := dsp.DominantTones(m.heard[1][len(m.heard[1])-4000:], 4); len(tones) != 1 || math.Abs(tones[0]-700) > 2 {
		t.Fatalf("port 2 carries %v, want [700]", tones)
	}
}

func TestBoardFrameNoAllocs(t *testing.T) {
	m := newMedia(t, Opts{})
	p1, p2 := m.phone(1), m.phone(2)
	if err := p1.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := p1.Say([]float64{1000}, -20); err != nil {
		t.Fatal(err)
	}
	if err := p2.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := p2.Dial("123", "dtmf"); err != nil {
		t.Fatal(err)
	}
	m.play[0].PlayFreqs([]float64{350, 440}, -15)
	m.tick(10)
	ctx := context.Background()
	hw := m.b.Board.Highway
	allocs := testing.AllocsPerRun(200, func() {
		for i, p := range m.b.Ports[:Ports] {
			m.play[i].Fill(m.tx[p.Slot])
		}
		seq, _, err := hw.Exchange(ctx, m.tx, m.rx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.b.Ports {
			now := time.Duration(seq) * pcm.FrameDuration
			if p.FXO != nil {
				if _, err := p.FXO.Poll(now); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if _, err := p.FXS.PollHook(now); err != nil {
				t.Fatal(err)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("a board frame allocates %v times", allocs)
	}
}

func TestBoardConcurrentControl(t *testing.T) {
	m := newMedia(t, Opts{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	hw := m.b.Board.Highway
	ports := m.b.Ports
	go func() {
		for {
			seq, _, err := hw.Exchange(ctx, m.tx, m.rx)
			if err != nil {
				done <- err
				return
			}
			for _, p := range ports {
				if p.FXS == nil { // the FXO port
					continue
				}
				if _, err := p.FXS.PollHook(time.Duration(seq) * pcm.FrameDuration); err != nil {
					done <- err
					return
				}
			}
			if seq%100 == 50 {
				if err := ports[0].FXS.SetRinging(seq%200 == 50); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	p := m.phone(2)
	for i := range 50 {
		_ = p.SetHook("off")
		_ = p.Dial("12", "dtmf")
		_ = p.Dial("1", "pulse")
		_ = p.Say([]float64{float64(300 + i)}, -20)
		_ = p.SetHook("flash")
		_ = p.State()
		_ = m.phone(1).State()
		_ = p.Heard(time.Second)
		_ = p.SetHook("on")
	}
	if err := m.b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, simpcm.ErrClosed) {
		t.Fatalf("loop ended with %v", err)
	}
}

func TestBoardRealClock(t *testing.T) {
	b, err := New(Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	hw := b.Board.Highway
	start := time.Now()
	var last uint64
	for i := range 5 {
		seq, _, err := hw.Exchange(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && seq <= last {
			t.Fatalf("seq %d after %d", seq, last)
		}
		last = seq
	}
	if el := time.Since(start); el < time.Duration(last)*pcm.FrameDuration {
		t.Fatalf("reached frame %d after only %v", last, el)
	}
}

// TestBoardHistory: the phones and lines of a board beyond
// HistoryShareFrom ports share HistoryShared of recorded audio, at least
// HistoryMin each; smaller boards keep HistoryDuration per port.
func TestBoardHistory(t *testing.T) {
	for _, c := range []struct {
		fxs, fxo int
		want     time.Duration
	}{
		{2, 1, HistoryDuration},
		{8, 0, HistoryDuration},
		{9, 0, 26 * time.Second},
		{16, 0, 15 * time.Second},
		{24, 8, HistoryMin},
	} {
		if got := HistoryFor(c.fxs + c.fxo); got != c.want {
			t.Errorf("HistoryFor(%d) = %v, want %v", c.fxs+c.fxo, got, c.want)
		}
		def, err := board.SimSize(c.fxs, c.fxo)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(Opts{Definition: def})
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.Phone(1)
		if err != nil {
			t.Fatal(err)
		}
		ear, mout := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
		for i := range ear {
			ear[i] = int16(i + 1) // not silence: the phone records it
		}
		for seq := range uint64(HistoryDuration/pcm.FrameDuration) + 10 {
			p.Audio(seq+1, ear, mout)
		}
		if got, want := len(p.Heard(time.Hour)), int(c.want/time.Second)*pcm.SampleRate; got != want {
			t.Errorf("%d+%d ports: phone 1 gives %d samples, want %d (%v)", c.fxs, c.fxo, got, want, c.want)
		}
		if c.fxo > 0 {
			co, err := b.Line(c.fxs + 1)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := co.rec.size, int(c.want/time.Second)*pcm.SampleRate; got != want {
				t.Errorf("%d+%d ports: line keeps %d samples, want %d (%v)", c.fxs, c.fxo, got, want, c.want)
			}
		}
	}
}
