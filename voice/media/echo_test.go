package media

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// hybridLine is a 2-wire line's echo: what is played comes back 10 dB
// down through a short dispersive response, one frame later.
type hybridLine struct {
	hist [256]float64
	pos  int
}

func (h *hybridLine) echo(capture, played []int16) {
	taps := [...]float64{0, 0.05, 0.25, 0.12, -0.08, -0.05, 0.02, 0.01}
	for i, v := range played {
		h.hist[h.pos&255] = float64(v)
		var acc float64
		for k, c := range taps {
			acc += c * h.hist[(h.pos-k)&255]
		}
		h.pos++
		capture[i] = int16(acc)
	}
}

// TestStreamCancelsLineEcho: the far end sends noise into a silent line
// whose hybrid returns it about 10 dB down; with the canceller the far end
// gets it back ≥ 30 dB down within a second, without it only the hybrid's
// loss. An ANSam tone from the far end then disables the canceller.
func TestStreamCancelsLineEcho(t *testing.T) {
	tests := []struct {
		name     string
		echo     EchoOpts
		far      func(i int) float64
		minLoss  float64
		maxLoss  float64
		disabled string
		pass     string
	}{
		{"canceller on, noise", EchoOpts{}, nil, 30, 200, "", ""},
		{"canceller off, noise", EchoOpts{Off: true}, nil, 5, 15, DisabledByConfig, ""},
		{"fax line", EchoOpts{Fax: FaxOn}, nil, 5, 15, DisabledByPassthrough, PassthroughFaxLine},
		{"ANSam from the far end, fax auto", EchoOpts{}, ansam, -100, 100, DisabledByReversals, PassthroughANS},
		{"ANSam from the far end, fax off", EchoOpts{Fax: FaxOff}, ansam, -100, 100, DisabledByReversals, ""},
		{"restarted in pass-through", EchoOpts{Passthrough: PassthroughCNG}, nil, 5, 15, DisabledByPassthrough, PassthroughCNG},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPairEcho(t, PCMU, tc.echo)
			r := rand.New(rand.NewPCG(3, 4))
			far := tc.far
			if far == nil {
				far = func(int) float64 { return r.NormFloat64() * 3000 }
			}
			var line hybridLine
			capA, outA := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			capB, outB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			var sent, back []int16
			tick := time.NewTicker(pcm.FrameDuration)
			defer tick.Stop()
			n := 0
			for range 250 {
				<-tick.C
				for i := range capB {
					capB[i] = int16(far(n))
					n++
				}
				sent = append(sent, capB...)
				line.echo(capA, outA) // the line returns last frame's playout
				a.Send(capA)
				b.Send(capB)
				a.Receive(outA)
				b.Receive(outB)
				back = append(back, outB...)
			}
			// Echo return: what came back over 1.5-2.5 s vs what was sent.
			loss := dsp.LevelDBFS(sent[12000:20000]) - dsp.LevelDBFS(back[12000:20000])
			st := a.Stats().Echo
			t.Logf("echo returned %.1f dB down; stats %+v", loss, st)
			if loss < tc.minLoss || loss > tc.maxLoss {
				t.Errorf("echo returned %.1f dB below what was sent, want %.0f..%.0f", loss, tc.minLoss, tc.maxLoss)
			}
			if st.DisabledBy != tc.disabled || st.Passthrough != tc.pass {
				t.Errorf("disabled by %q, pass-through %q; want %q, %q", st.DisabledBy, st.Passthrough, tc.disabled, tc.pass)
			}
			if st.Tail != DefaultEchoTail {
				t.Errorf("tail %v, want %v", st.Tail, DefaultEchoTail)
			}
			if tc.disabled == "" && (st.ERLE < 20 || !st.Active) {
				t.Errorf("ERLE %.1f dB, active %v: want ≥ 20 and active", st.ERLE, st.Active)
			}
			// Echo alone: once converged, the non-linear processor takes
			// what is left of it most of the time; it never does when the
			// canceller is off.
			if on := tc.disabled == ""; on && st.Suppressed < 0.5 || !on && tc.disabled != DisabledByReversals && st.Suppressed != 0 {
				t.Errorf("suppressed %.0f %% of the far end's talk (canceller on %v)", 100*st.Suppressed, on)
			}
		})
	}
}

// ansam is V.8 ANSam at −12 dBm0: 2100 Hz, 15 Hz AM, phase reversed every
// 450 ms.
func ansam(i int) float64 {
	ph := 2*math.Pi*2100*float64(i)/pcm.SampleRate + math.Pi*float64(i/3600)
	return dsp.DBm0ToAmplitude(-12) / 1.2 * (1 + 0.2*math.Sin(2*math.Pi*15*float64(i)/pcm.SampleRate)) * math.Sin(ph)
}

// TestEchoPassthroughCallback: a fax calling tone from the line switches
// the call to pass-through once, calling OnPassthrough once; a call
// restarted in pass-through does not call it again.
func TestEchoPassthroughCallback(t *testing.T) {
	cng := make([]int16, pcm.FrameSamples)
	tests := []struct {
		name  string
		opts  EchoOpts
		calls int
	}{
		{"fax auto", EchoOpts{}, 1},
		{"restarted in pass-through", EchoOpts{Passthrough: PassthroughCNG, PassthroughFromLine: true}, 0},
		{"fax off", EchoOpts{Fax: FaxOff}, 0},
		{"fax line", EchoOpts{Fax: FaxOn}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			tc.opts.OnPassthrough = func() { calls++ }
			var e echoState
			e.init()
			e.start(tc.opts)
			n := 0
			for range 150 { // 1.5 s of 1100 Hz from the phone
				for i := range cng {
					cng[i] = int16(8000 * math.Sin(2*math.Pi*1100*float64(n)/pcm.SampleRate))
					n++
				}
				e.played(make([]int16, pcm.FrameSamples))
				e.cancel(cng)
			}
			if calls != tc.calls {
				t.Errorf("OnPassthrough called %d times, want %d", calls, tc.calls)
			}
			st := e.stats()
			if tc.opts.Fax != FaxOff && tc.opts.Fax != FaxOn && (st.Passthrough != PassthroughCNG || !st.PassthroughFromLine) {
				t.Errorf("pass-through %q from line %v, want %q from the line", st.Passthrough, st.PassthroughFromLine, PassthroughCNG)
			}
		})
	}
}

// TestEchoCarriesOnWithTheCall: a stream restarted within its call
// (Session.Continue: early media that became the answer) keeps what its
// canceller learnt of the line, so the far end hears no burst of echo at
// the answer; a restart for a new call, or with the canceller set up
// differently, starts it afresh.
func TestEchoCarriesOnWithTheCall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cont    bool
		tail    time.Duration // of the restart
		carryOn bool
	}{
		{"continued", true, 0, true},
		{"continued, tail changed", true, 128 * time.Millisecond, false},
		{"a new call", false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPairEcho(t, PCMU, EchoOpts{})
			r := rand.New(rand.NewPCG(5, 6))
			var line hybridLine
			capA, outA := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			capB, outB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			var sent, back []int16
			run := func(frames int) {
				tick := time.NewTicker(pcm.FrameDuration)
				defer tick.Stop()
				for range frames {
					<-tick.C
					for i := range capB {
						capB[i] = int16(r.NormFloat64() * 3000)
					}
					sent = append(sent, capB...)
					line.echo(capA, outA)
					a.Send(capA)
					b.Send(capB)
					a.Receive(outA)
					b.Receive(outB)
					back = append(back, outB...)
				}
			}
			run(200) // 2 s: converged
			a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU, Echo: EchoOpts{Tail: tc.tail}, Continue: tc.cont})
			mark := len(sent)
			run(40)
			// What came back 20–80 ms after the restart: a canceller
			// started afresh lets the hybrid's echo through there (about
			// 15 dB down) before it has learnt the line again (measured:
			// about 38 dB down from 80 ms on); one that carried on keeps
			// it out (over 100 dB down).
			from, to := mark+2*pcm.FrameSamples, mark+8*pcm.FrameSamples
			loss := dsp.LevelDBFS(sent[from:to]) - dsp.LevelDBFS(back[from:to])
			t.Logf("echo returned %.1f dB down 20–80 ms after the restart", loss)
			if kept := loss >= 30; kept != tc.carryOn {
				t.Errorf("echo returned %.1f dB down after the restart: carried on %v, want %v", loss, kept, tc.carryOn)
			}
		})
	}
}
