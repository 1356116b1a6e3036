package media

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// FaxMode says when a call switches to fax and modem pass-through.
type FaxMode uint8

// Fax modes.
const (
	// FaxAuto switches when a fax or modem tone (CNG 1100 Hz, CED/ANS
	// 2100 Hz with or without phase reversals) is heard on either side.
	FaxAuto FaxMode = iota
	// FaxOn passes every call through from its start (a fax line).
	FaxOn
	// FaxOff never switches; the echo canceller's tone disabler still
	// works.
	FaxOff
)

// Echo canceller tails a Session may ask for.
const (
	DefaultEchoTail = 64 * time.Millisecond
	MinEchoTail     = 16 * time.Millisecond
	MaxEchoTail     = 128 * time.Millisecond
)

// EchoOpts configures the line echo canceller and the fax and modem
// pass-through of a call.
type EchoOpts struct {
	// Off leaves the canceller out of the call.
	Off bool
	// Tail is the canceller's tail, MinEchoTail..MaxEchoTail; 0 means
	// DefaultEchoTail.
	Tail time.Duration
	// Fax says when the call switches to pass-through.
	Fax FaxMode
	// OnPassthrough, when set, is called on the loop goroutine when the
	// call switches to pass-through on a fax or modem tone (not for
	// FaxOn, nor for a call started in pass-through); it must not block.
	OnPassthrough func()
	// Passthrough, when set (a Passthrough* reason), starts the call
	// already in pass-through, the tone having come from the line side
	// when PassthroughFromLine is set: for a stream restarted during a
	// call that switched (with G.711 after a re-INVITE).
	Passthrough         string
	PassthroughFromLine bool
}

// Reasons the echo canceller (or its non-linear processor) is disabled,
// as EchoStats.DisabledBy reports them.
const (
	// DisabledByReversals: a 2100 Hz answer tone with phase reversals
	// (V.25, V.8 ANSam) turned the canceller off for the rest of the call
	// (G.165/G.168 tone disabler).
	DisabledByReversals = "reversals"
	// DisabledByPassthrough: the call is in fax/modem pass-through.
	DisabledByPassthrough = "passthrough"
	// DisabledByANS: a 2100 Hz answer tone without reversals holds the
	// non-linear processor off; the linear canceller runs.
	DisabledByANS = "ans"
	// DisabledByConfig: the port's canceller is off.
	DisabledByConfig = "config"
)

// Pass-through reasons, as EchoStats.Passthrough reports them.
const (
	PassthroughFaxLine = "fax-line" // FaxOn: from the start
	PassthroughCNG     = "cng"      // T.30 calling tone, 1100 Hz
	PassthroughANS     = "ans"      // 2100 Hz answer tone (CED, ANS, ANSam)
)

// EchoStats are a call's echo control figures.
type EchoStats struct {
	// Tail is the canceller's tail.
	Tail time.Duration
	// Active reports whether the canceller runs now.
	Active bool
	// ERLE is the echo return loss enhancement in dB: the power removed
	// from what the line returns while the far end talks and the near end
	// does not (smoothed over about a second; the non-linear processor
	// included). 0 until measured.
	ERLE float64
	// DoubleTalk is the share (0..1) of the frames in which the far end
	// talked that the double-talk detector held adaptation.
	DoubleTalk float64
	// Suppressed is the share (0..1) of those frames at whose end the
	// non-linear processor replaced the residual by comfort noise.
	Suppressed float64
	// DisabledBy is empty or one of the DisabledBy* reasons.
	DisabledBy string
	// Passthrough is empty or why the call is in fax/modem pass-through
	// (Passthrough* reasons); PassthroughFromLine says whether the tone
	// came from the phone's side (else from the far end).
	Passthrough         string
	PassthroughFromLine bool
}

// echoFarActive is the reference power per sample above which the far end
// counts as talking for the statistics (about −50 dBm0).
const echoFarActive = 2600.0

// echoState is a stream's line echo control: the canceller, the tone
// detectors of both directions and the pass-through decision. It is owned
// by the loop goroutine; the stats are published through atomics.
type echoState struct {
	ec      *dsp.EchoCanceller
	opts    EchoOpts
	on      bool // the canceller runs on this call
	haveRef bool
	ref     [pcm.FrameSamples]int16 // last frame's playout: the reference
	out     [pcm.FrameSamples]int16 // capture with the echo removed
	lin     [pcm.FrameSamples]int16 // the same before the non-linear processor
	linOK   bool                    // lin holds this frame's linear residual

	lineTones, netTones dsp.AnswerToneDetector

	nlpOff      bool
	reversals   bool
	passthrough string
	fromLine    bool

	pin, pout  float64 // smoothed powers for ERLE
	far, dt    uint64  // far-active frames, of which in double talk
	nlp        uint64  // far-active frames the non-linear processor ended suppressing
	erleQ      atomic.Int64
	farPub     atomic.Uint64
	dtPub      atomic.Uint64
	nlpPub     atomic.Uint64
	statePub   atomic.Uint32 // disabled reason index, active bit, pass-through
	tailPub    atomic.Int64
	fromLinePb atomic.Bool
}

// State bits published in statePub: the DisabledBy index in bits 0-3,
// the pass-through index in bits 4-7, Active in bit 8.
var (
	disabledNames    = [...]string{"", DisabledByReversals, DisabledByPassthrough, DisabledByANS, DisabledByConfig}
	passthroughNames = [...]string{"", PassthroughFaxLine, PassthroughCNG, PassthroughANS}
)

func indexOf(names []string, s string) uint32 {
	for i, n := range names {
		if n == s {
			return uint32(i)
		}
	}
	return 0
}

// init makes the canceller (off the loop: NewStreamWith).
func (e *echoState) init() {
	e.ec = dsp.NewEchoCancellerTaps(dsp.EchoTailMax)
}

// start prepares a call.
func (e *echoState) start(o EchoOpts) {
	e.opts = o
	tail := o.Tail
	if tail == 0 {
		tail = DefaultEchoTail
	}
	tail = min(max(tail, MinEchoTail), MaxEchoTail)
	if e.ec == nil {
		// A spare stream's first call (StreamOpts.Spare): the canceller
		// is made now, once per stream, never per frame.
		e.init()
	}
	e.ec.SetTaps(int(tail / (time.Second / pcm.SampleRate))) // resets: each call starts from nothing
	e.ec.SetNLP(true)
	e.on = !o.Off
	e.haveRef = false
	e.lineTones.Reset()
	e.netTones.Reset()
	e.nlpOff, e.reversals, e.passthrough, e.fromLine = false, false, "", false
	e.pin, e.pout, e.far, e.dt, e.nlp = 0, 0, 0, 0, 0
	e.nlpPub.Store(0)
	e.erleQ.Store(0)
	e.tailPub.Store(int64(tail))
	switch {
	case o.Fax == FaxOn:
		e.passthrough = PassthroughFaxLine
	case o.Passthrough != "":
		e.passthrough, e.fromLine = o.Passthrough, o.PassthroughFromLine
	}
	e.publish()
}

// carryOn keeps what the canceller has learnt for a session that
// continues the call (Session.Continue: the line and its echo path are the
// same), when o leaves the canceller as it was set up; false means it must
// start afresh.
func (e *echoState) carryOn(o EchoOpts) bool {
	p := e.opts
	if e.ec == nil || o.Off != p.Off || o.Tail != p.Tail || o.Fax != p.Fax ||
		o.Passthrough != p.Passthrough || o.PassthroughFromLine != p.PassthroughFromLine {
		return false
	}
	e.opts = o
	return true
}

// cancel returns capture with the line echo removed (capture itself when
// the canceller does not run).
func (e *echoState) cancel(capture []int16) []int16 {
	e.linOK = false
	e.lineTones.Process(capture)
	e.decide(&e.lineTones, true)
	if !e.on || e.passthrough != "" || e.reversals || !e.haveRef || len(capture) > len(e.out) {
		return capture
	}
	out := e.out[:len(capture)]
	copy(out, capture)
	e.ec.ProcessLinear(out, e.ref[:len(capture)], e.lin[:len(capture)])
	e.linOK = true
	var px, pin, pout float64
	for i, v := range capture {
		r, o := float64(e.ref[i]), float64(out[i])
		px += r * r
		pin += float64(v) * float64(v)
		pout += o * o
	}
	n := float64(len(capture))
	if px/n > echoFarActive {
		e.far++
		if e.ec.DoubleTalk() {
			e.dt++
		} else {
			e.pin += 0.05 * (pin/n - e.pin)
			e.pout += 0.05 * (pout/n - e.pout)
			e.erleQ.Store(int64(100 * 10 * math.Log10(max(e.pin, 1)/max(e.pout, 1))))
		}
		if e.ec.Suppressing() {
			e.nlp++
			e.nlpPub.Store(e.nlp)
		}
		e.farPub.Store(e.far)
		e.dtPub.Store(e.dt)
	}
	return out
}

// linear returns the last cancelled frame before the non-linear
// processor, or capture (that frame) when the canceller did not run on it.
func (e *echoState) linear(capture []int16) []int16 {
	if !e.linOK || len(capture) > len(e.lin) {
		return capture
	}
	return e.lin[:len(capture)]
}

// played keeps the frame sent to the line as the next frame's reference
// and listens to it for tones from the far end.
func (e *echoState) played(playout []int16) {
	n := copy(e.ref[:], playout)
	clear(e.ref[n:])
	e.haveRef = true
	e.netTones.Process(playout)
	e.decide(&e.netTones, false)
}

// setRef replaces this frame's reference with what the line really
// played (a conference mix); the far end's tones were already heard in
// played.
func (e *echoState) setRef(playout []int16) {
	n := copy(e.ref[:], playout)
	clear(e.ref[n:])
	e.haveRef = true
}

// decide applies what a direction's detector heard: the tone disabler
// (reversals: canceller off for the call; 2100 Hz: NLP off while it
// holds) and the switch to pass-through.
func (e *echoState) decide(d *dsp.AnswerToneDetector, fromLine bool) {
	changed := false
	if !e.reversals && d.Reversals() > 0 {
		e.reversals, changed = true, true
	}
	nlpOff := e.lineTones.Holding() || e.netTones.Holding()
	if nlpOff != e.nlpOff {
		e.nlpOff, changed = nlpOff, true
		if e.ec != nil { // nil until the stream's first call
			e.ec.SetNLP(!nlpOff)
		}
	}
	if e.passthrough == "" && e.opts.Fax == FaxAuto {
		switch {
		case d.CNG():
			e.passthrough, e.fromLine, changed = PassthroughCNG, fromLine, true
		case d.HeardANS():
			e.passthrough, e.fromLine, changed = PassthroughANS, fromLine, true
		}
		if e.passthrough != "" && e.opts.OnPassthrough != nil {
			e.opts.OnPassthrough()
		}
	}
	if changed {
		e.publish()
	}
}

// passing reports whether the call is in fax/modem pass-through.
func (e *echoState) passing() bool { return e.passthrough != "" }

func (e *echoState) disabledBy() string {
	switch {
	case e.opts.Off:
		return DisabledByConfig
	case e.reversals:
		return DisabledByReversals
	case e.passthrough != "":
		return DisabledByPassthrough
	case e.nlpOff:
		return DisabledByANS
	}
	return ""
}

func (e *echoState) publish() {
	st := indexOf(disabledNames[:], e.disabledBy()) | indexOf(passthroughNames[:], e.passthrough)<<4
	if e.on && !e.reversals && e.passthrough == "" {
		st |= 1 << 8
	}
	e.fromLinePb.Store(e.fromLine)
	e.statePub.Store(st)
}

// stats returns the published figures; safe from any goroutine.
func (e *echoState) stats() EchoStats {
	st := e.statePub.Load()
	s := EchoStats{
		Tail:                time.Duration(e.tailPub.Load()),
		Active:              st&(1<<8) != 0,
		ERLE:                float64(e.erleQ.Load()) / 100,
		DisabledBy:          disabledNames[min(int(st&15), len(disabledNames)-1)],
		Passthrough:         passthroughNames[min(int(st>>4&15), len(passthroughNames)-1)],
		PassthroughFromLine: e.fromLinePb.Load(),
	}
	if far := e.farPub.Load(); far > 0 {
		s.DoubleTalk = float64(e.dtPub.Load()) / float64(far)
		s.Suppressed = float64(e.nlpPub.Load()) / float64(far)
	}
	return s
}
