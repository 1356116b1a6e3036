package line

import (
	"fmt"
	"sync"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/dsp"
)

// FXO defaults for zero FXOConfig fields.
const (
	// DefaultDialToneWait is how long a seized line waits for dial tone.
	DefaultDialToneWait = 5 * time.Second
	// DefaultBlindDialDelay is how long a blind-dialing line waits after
	// seizing before it dials.
	DefaultBlindDialDelay = 2 * time.Second
	// DefaultCallerIDWait is how long after the first ring the line waits
	// for caller ID before it reports the call without one.
	DefaultCallerIDWait = 4500 * time.Millisecond
	// DialToneMin is how long dial tone must be heard before dialing.
	DialToneMin = 300 * time.Millisecond
	// FXODigitOn and FXODigitOff time the DTMF digits an FXO line dials.
	FXODigitOn  = 100 * time.Millisecond
	FXODigitOff = 100 * time.Millisecond
	// FXODigitLevel is the level of the DTMF an FXO line dials, per tone.
	FXODigitLevel = -8.0
	// fxoSilencePower is the mean power (int16 scale) under which a frame
	// counts as silence: about -48 dBFS, above the echo the canceller may
	// leave for seconds after double talk (some -53 dBFS on a 10 dB
	// hybrid), well under speech and under the office's tones.
	fxoSilencePower = 8500
	// fxoMinRing is the shortest ring burst that counts as a ring: ring
	// pulses (RP-AS alerting) and tinkles are shorter.
	fxoMinRing = 200 * time.Millisecond
	// fxoRingJoin is the longest pause of a cadence that joins two ring
	// segments into one burst: the DAA's ring time-out bridges it (a UK
	// double ring reads as one burst).
	fxoRingJoin = 600 * time.Millisecond
	// fxoRingSlack is what a burst may measure beyond its cadence's: the
	// DAA reports a ring's end its ring time-out after the last cycle.
	fxoRingSlack = 400 * time.Millisecond
	// fxoReleaseGuard is how long a released line ignores the line's signals
	// (the office restoring polarity and battery after our on hook).
	fxoReleaseGuard = 500 * time.Millisecond
)

// Answer supervision rules (FXOConfig.AnswerRule).
const (
	// AnswerPolarity: the far end answered when the office reverses the
	// line's polarity.
	AnswerPolarity = "polarity"
	// AnswerImmediate: the call counts as answered as soon as dialing ends
	// (lines without answer supervision).
	AnswerImmediate = "immediate"
)

// FXOConfig sets up an FXO line (a port hanging on a PSTN line). Zero
// durations take the defaults above.
type FXOConfig struct {
	// Profile gives the country's tones, ring cadence and caller ID; nil
	// means "us".
	Profile *dsp.Profile
	// CallerIDOff turns caller ID capture off.
	CallerIDOff bool
	// CallerIDWait: after the first ring the line waits this long for
	// caller ID (or the second ring) before reporting the call.
	CallerIDWait time.Duration
	// BlindDial dials without waiting for dial tone, BlindDialDelay after
	// seizing.
	BlindDial      bool
	BlindDialDelay time.Duration
	// DialToneWait: without dial tone this long after seizing, the call
	// fails (EventFXOFailed, "no dial tone").
	DialToneWait time.Duration
	// AnswerRule is AnswerPolarity (the default) or AnswerImmediate.
	AnswerRule string
	// SilenceTimeout, when above zero, releases a call after the line has
	// been silent that long.
	SilenceTimeout time.Duration
	// NoToneDisconnect turns off release on the office's busy or reorder
	// tone.
	NoToneDisconnect bool
}

func (c *FXOConfig) setDefaults() error {
	if c.Profile == nil {
		p, err := dsp.LookupProfile("us")
		if err != nil {
			return err
		}
		c.Profile = p
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"caller id wait", &c.CallerIDWait, DefaultCallerIDWait},
		{"blind dial delay", &c.BlindDialDelay, DefaultBlindDialDelay},
		{"dial tone wait", &c.DialToneWait, DefaultDialToneWait},
		{"silence timeout", &c.SilenceTimeout, 0},
	} {
		if *f.v < 0 {
			return fmt.Errorf("%s %v is negative", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	switch c.AnswerRule {
	case "":
		c.AnswerRule = AnswerPolarity
	case AnswerPolarity, AnswerImmediate:
	default:
		return fmt.Errorf("answer rule %q: want %s or %s", c.AnswerRule, AnswerPolarity, AnswerImmediate)
	}
	return nil
}

// CheckFXOConfig reports whether c is usable, as NewFXO would find it.
func CheckFXOConfig(c FXOConfig) error { return c.setDefaults() }

// FXOEventKind says what happened on an FXO line.
type FXOEventKind int

// FXO line events, reported to the FXOSink.
const (
	// EventFXOIncoming: the line rings with a validated cadence; Caller
	// holds the caller ID captured before or between the rings (nil if
	// none came).
	EventFXOIncoming FXOEventKind = iota + 1
	// EventFXORing: another ring burst of the incoming call; Rings counts
	// them.
	EventFXORing
	// EventFXORingEnd: the line stopped ringing before it was answered
	// (the caller gave up).
	EventFXORingEnd
	// EventFXODialed: the number has been dialed (or, without one, the
	// line is seized and its dial tone cut through).
	EventFXODialed
	// EventFXOAnswered: answer supervision (or the answer rule) says the
	// far end answered.
	EventFXOAnswered
	// EventFXODisconnect: the far end hung up (Reason says how) or the
	// line failed; the line is back on hook.
	EventFXODisconnect
	// EventFXOFailed: seizing or dialing failed (Reason); the line is back
	// on hook.
	EventFXOFailed
	// EventFXOInUse: a parallel phone went off (InUse) or on hook.
	EventFXOInUse
	// EventFXOCollected: two-stage dialing ended; Number holds the digits
	// the PSTN caller keyed after the second dial tone (empty when none
	// came in time). The line is talking (cut through).
	EventFXOCollected
)

// String names the event kind.
func (k FXOEventKind) String() string {
	switch k {
	case EventFXOIncoming:
		return "incoming"
	case EventFXORing:
		return "ring"
	case EventFXORingEnd:
		return "ring-end"
	case EventFXODialed:
		return "dialed"
	case EventFXOAnswered:
		return "answered"
	case EventFXODisconnect:
		return "disconnect"
	case EventFXOFailed:
		return "failed"
	case EventFXOInUse:
		return "in-use"
	case EventFXOCollected:
		return "collected"
	}
	return fmt.Sprintf("fxo-event(%d)", int(k))
}

// Disconnect reasons (FXOEvent.Reason).
const (
	ReasonBattery  = "loop current lost"
	ReasonPolarity = "polarity reversal"
	ReasonBusy     = "busy tone"
	ReasonReorder  = "reorder tone"
	ReasonSilence  = "silence"
	ReasonFault    = "line fault"
	ReasonNoTone   = "no dial tone"
)

// FXOEvent is an FXO line event.
type FXOEvent struct {
	// Port is the line's port number.
	Port int
	// Kind is what happened.
	Kind FXOEventKind
	// Caller is the caller ID, for EventFXOIncoming.
	Caller *Caller
	// Rings counts the ring bursts so far, for EventFXOIncoming and
	// EventFXORing.
	Rings int
	// Reason says why, for EventFXODisconnect and EventFXOFailed.
	Reason string
	// InUse is the parallel phone's state, for EventFXOInUse.
	InUse bool
	// Number is the number collected, for EventFXOCollected.
	Number string
}

// FXOSink receives FXO line events, on the media loop goroutine; it must
// return at once.
type FXOSink func(FXOEvent)

// FXOState is the call state of an FXO line.
type FXOState int32

// FXO line states.
const (
	// FXOIdle: on hook, quiet.
	FXOIdle FXOState = iota
	// FXORinging: the office rings the line (an incoming call).
	FXORinging
	// FXOSeized: off hook, waiting for dial tone (or the blind-dial delay).
	FXOSeized
	// FXODialing: off hook, sending DTMF.
	FXODialing
	// FXOProgress: dialed, waiting for the far end to answer; the line's
	// progress tones are cut through.
	FXOProgress
	// FXOTalking: connected.
	FXOTalking
	// FXOCollecting: an incoming call answered for two-stage dialing: the
	// line gives the caller a second dial tone and collects DTMF.
	FXOCollecting
)

// String names the state.
func (s FXOState) String() string {
	switch s {
	case FXOIdle:
		return "idle"
	case FXORinging:
		return "ringing"
	case FXOSeized:
		return "seized"
	case FXODialing:
		return "dialing"
	case FXOProgress:
		return "progress"
	case FXOTalking:
		return "talking"
	case FXOCollecting:
		return "collecting"
	}
	return fmt.Sprintf("fxo-state(%d)", int(s))
}

// FXOStatus is a snapshot of an FXO line for the status page.
type FXOStatus struct {
	// State is the call state.
	State FXOState
	// Line is the DAA's last reading.
	Line board.FXOStatus
	// Err is the last poll error, nil when the poll worked.
	Err error
	// Polled is false until the line has been read once.
	Polled bool
	// Caller is the caller ID of the current (or last) incoming call.
	Caller *Caller
	// Dialed is the number of the current outgoing call.
	Dialed string
	// LastDisconnect is the reason the last call ended.
	LastDisconnect string
}

// FXO is the state machine of an office port: it validates ringing and
// captures caller ID, seizes the line, waits for dial tone and dials, and
// watches the line for answer and disconnect supervision. Tick and the
// commands run on the media loop goroutine; Status may be called from any
// goroutine.
type FXO struct {
	port int
	dev  board.FXO
	cfg  FXOConfig
	sink FXOSink

	state   FXOState
	now     time.Duration
	line    board.FXOStatus
	pollErr error
	polled  bool

	// Incoming.
	ringOnAt   time.Duration // start of the current burst; -1 when none
	lastRing   time.Duration // end of the last burst
	rings      int
	announced  bool
	firstRing  time.Duration // end of the first valid burst
	caller     *Caller
	callerAt   time.Duration
	cidRx      [2]*dsp.CIDRx
	cidMsgs    [][]byte
	cidDTMF    *dsp.DTMFDetector
	cidDigits  [32]byte
	cidN       int
	dtmfOut    [16]byte
	cidLoud    bool
	ringGapMax time.Duration
	ringCad    ringCadence

	// Outgoing.
	number     string
	seizedAt   time.Duration
	dialTone   toneDetector
	keypad     dsp.DTMFGen
	answerSeen bool // the answer reversal came (or none is expected)

	// Two-stage dialing.
	digitMap  *DigitMap
	second    dsp.ToneGen
	digits    [MaxDigits]byte
	ndigits   int
	lastDigit time.Duration
	digitDet  *dsp.DTMFDetector

	// Supervision.
	busy, reorder toneDetector
	quietSince    time.Duration
	releasedAt    time.Duration
	released      bool

	mu   sync.Mutex
	snap FXOStatus
}

// NewFXO returns the state machine of FXO port n on dev; events go to sink.
func NewFXO(n int, dev board.FXO, cfg FXOConfig, sink FXOSink) (*FXO, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("fxo port %d: %w", n, err)
	}
	f := &FXO{port: n, dev: dev, cfg: cfg, sink: sink, ringOnAt: -1, cidDTMF: dsp.NewDTMFDetector(), digitDet: dsp.NewDTMFDetector()}
	for i, std := range []dsp.FSKStandard{dsp.Bell202, dsp.V23} {
		rx, err := dsp.NewCIDRx(std)
		if err != nil {
			return nil, fmt.Errorf("fxo port %d: %w", n, err)
		}
		f.cidRx[i] = rx
	}
	for i, d := range cfg.Profile.RingCadence {
		if i%2 == 1 {
			f.ringGapMax = max(f.ringGapMax, d)
		}
	}
	if f.ringGapMax == 0 {
		f.ringGapMax = 4 * time.Second
	}
	f.ringCad = newRingCadence(cfg.Profile.RingCadence)
	f.cidMsgs = make([][]byte, 0, 4)
	return f, nil
}

// State returns the call state (loop goroutine).
func (f *FXO) State() FXOState { return f.state }

// Dialing reports whether the line is sending DTMF of its own (the media
// stream must not overwrite the playout then).
func (f *FXO) Dialing() bool { return f.state == FXODialing || f.keypad.Busy() }

// OffHook reports whether the line is seized.
func (f *FXO) OffHook() bool { return f.state >= FXOSeized }

// CutThrough reports whether the line's audio should flow to and from the
// SIP call: while waiting for the answer (early media) and talking.
func (f *FXO) CutThrough() bool { return f.state == FXOProgress || f.state == FXOTalking }

// Status returns a snapshot; safe from any goroutine.
func (f *FXO) Status() FXOStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

func (f *FXO) emit(ev FXOEvent) {
	ev.Port = f.port
	if f.sink != nil {
		f.sink(ev)
	}
}

// Answer seizes a ringing line: the incoming call is answered. It reports
// false when the line is not ringing.
func (f *FXO) Answer() bool {
	if f.state != FXORinging {
		return false
	}
	if !f.hook(true) {
		return false
	}
	f.state = FXOTalking
	f.answerSeen = true
	f.startSupervision()
	return true
}

// AnswerCollect answers a ringing line for two-stage dialing: the caller
// hears a second dial tone and keys a number, which dm (nil: any digits,
// ended by '#' or the inter-digit timeout) completes; EventFXOCollected
// then reports it. It reports false when the line is not ringing.
func (f *FXO) AnswerCollect(dm *DigitMap) bool {
	if !f.Answer() {
		return false
	}
	f.state = FXOCollecting
	f.digitMap, f.ndigits, f.lastDigit = dm, 0, f.now
	f.digitDet.Reset()
	f.second.Play(&f.cfg.Profile.Dial)
	return true
}

// Seize takes the line off hook to dial number (DTMF digits, '*', '#', A-D);
// with no number the line is cut through at once, its dial tone reaching
// the caller (two-stage dialing). It reports false when the line is busy.
func (f *FXO) Seize(number string) bool {
	if f.state != FXOIdle || f.line.InUse {
		return false
	}
	if !f.hook(true) {
		return false
	}
	f.number, f.seizedAt = number, f.now
	f.answerSeen = f.cfg.AnswerRule == AnswerImmediate && number == ""
	f.startSupervision()
	if number == "" {
		f.state = FXOProgress
		f.emit(FXOEvent{Kind: EventFXODialed})
		return true
	}
	f.state = FXOSeized
	f.dialTone.reset(&f.cfg.Profile.Dial)
	return true
}

// SendDigits plays DTMF digits on the line (digits from the SIP side during
// a call).
func (f *FXO) SendDigits(digits string) error {
	if !f.OffHook() {
		return fmt.Errorf("fxo port %d: digits on an idle line", f.port)
	}
	return f.keypad.Queue(digits, FXODigitOn, FXODigitOff, FXODigitLevel)
}

// Release puts the line back on hook.
func (f *FXO) Release() {
	f.hook(false)
	f.toIdle()
	f.released, f.releasedAt = true, f.now
}

func (f *FXO) toIdle() {
	f.state = FXOIdle
	f.number = ""
	f.keypad = dsp.DTMFGen{}
	f.second.Stop()
	f.rings, f.announced, f.ringOnAt = 0, false, -1
}

func (f *FXO) hook(off bool) bool {
	if err := f.dev.SetHook(off); err != nil {
		f.pollErr = err
		return false
	}
	return true
}

func (f *FXO) startSupervision() {
	f.busy.reset(&f.cfg.Profile.Busy)
	f.reorder.reset(&f.cfg.Profile.Reorder)
	if f.cfg.NoToneDisconnect {
		f.busy.reset(nil)
		f.reorder.reset(nil)
	}
	f.quietSince = f.now
}

// disconnect ends a call from the line side.
func (f *FXO) disconnect(kind FXOEventKind, reason string) {
	f.hook(false)
	f.toIdle()
	f.released, f.releasedAt = true, f.now
	f.snapDisconnect(reason)
	f.emit(FXOEvent{Kind: kind, Reason: reason})
}

func (f *FXO) snapDisconnect(reason string) {
	f.mu.Lock()
	f.snap.LastDisconnect = reason
	f.mu.Unlock()
}

// Tick runs the line for one frame: capture is what the line sent (after
// echo cancellation), playout what goes to the line; Tick writes playout
// only while it dials. It does not allocate, except when it decodes caller
// ID.
func (f *FXO) Tick(now time.Duration, capture, playout []int16) {
	f.now = now
	st, err := f.dev.Poll(now)
	f.pollErr = err
	if err == nil {
		f.line, f.polled = st, true
		f.lineEvents(st)
	}
	switch f.state {
	case FXOIdle, FXORinging:
		f.listen(capture)
		f.ringTimers()
	case FXOSeized:
		f.waitDialTone(capture)
	case FXODialing:
		if !f.keypad.Busy() {
			f.state = FXOProgress
			if f.cfg.AnswerRule == AnswerImmediate || f.answerSeen {
				// Answered (or reversed for the answer) while the last
				// digit was still going out.
				f.answerSeen = true
				f.emit(FXOEvent{Kind: EventFXODialed})
				f.state = FXOTalking
				f.quietSince = f.now
				f.emit(FXOEvent{Kind: EventFXOAnswered})
			} else {
				f.emit(FXOEvent{Kind: EventFXODialed})
			}
		}
	case FXOProgress, FXOTalking:
		f.supervise(capture)
	case FXOCollecting:
		f.collect(capture, playout)
	}
	if f.keypad.Busy() && f.state >= FXOSeized {
		f.keypad.Fill(playout)
	}
	f.mu.Lock()
	f.snap.State, f.snap.Line, f.snap.Err, f.snap.Polled = f.state, f.line, f.pollErr, f.polled
	if f.caller != nil {
		f.snap.Caller = f.caller
	}
	f.snap.Dialed = f.number
	f.mu.Unlock()
}

// lineEvents handles the DAA's events of one poll.
func (f *FXO) lineEvents(st board.FXOStatus) {
	ev := st.Events
	if ev&(board.FXOInUse|board.FXOInUseEnd) != 0 {
		f.emit(FXOEvent{Kind: EventFXOInUse, InUse: st.InUse})
	}
	guard := f.released && f.now-f.releasedAt < fxoReleaseGuard
	if guard {
		return
	}
	f.released = false
	switch f.state {
	case FXOIdle, FXORinging:
		if ev&board.FXORingStart != 0 {
			f.ringOnAt = f.now
		}
		if ev&board.FXORingStop != 0 && f.ringOnAt >= 0 {
			burst := f.now - f.ringOnAt
			pause := time.Duration(-1) // none: the first burst
			if f.state == FXORinging {
				pause = f.ringOnAt - f.lastRing
			}
			f.ringOnAt = -1
			if f.ringCad.fits(burst, pause) {
				f.ringBurst()
			}
		}
	case FXOSeized, FXODialing, FXOProgress, FXOTalking, FXOCollecting:
		if ev&board.FXOBatteryLost != 0 || (f.line.OffHook && !st.Battery) {
			f.disconnect(EventFXODisconnect, ReasonBattery)
			return
		}
		if ev&board.FXOPolarity != 0 {
			if !f.answerSeen && (f.state == FXOProgress || f.state == FXODialing) {
				f.answerSeen = true
				if f.state == FXOProgress {
					f.state = FXOTalking
					f.quietSince = f.now
					f.emit(FXOEvent{Kind: EventFXOAnswered})
				}
				return
			}
			if !f.answerSeen {
				f.answerSeen = true // the reversal a line without supervision never sends
				return
			}
			f.disconnect(EventFXODisconnect, ReasonPolarity)
		}
	}
}

// ringBurst counts a finished ring burst of valid length.
func (f *FXO) ringBurst() {
	f.lastRing = f.now
	f.rings++
	if f.state == FXOIdle {
		f.state = FXORinging
		f.firstRing = f.now
		if f.caller != nil && f.now-f.callerAt > 2*f.ringGapMax+10*time.Second {
			f.caller = nil // an old caller ID, of an earlier call
		}
		if f.caller != nil || f.cfg.CallerIDOff {
			f.announce()
		}
		return
	}
	if !f.announced {
		f.announce()
		return
	}
	f.emit(FXOEvent{Kind: EventFXORing, Rings: f.rings})
}

func (f *FXO) announce() {
	f.announced = true
	var c *Caller
	if f.caller != nil {
		cc := *f.caller
		c = &cc
	}
	f.mu.Lock()
	f.snap.Caller = c
	f.mu.Unlock()
	f.emit(FXOEvent{Kind: EventFXOIncoming, Caller: c, Rings: f.rings})
}

// ringTimers ends a ringing episode, and announces a call whose caller ID
// did not come.
func (f *FXO) ringTimers() {
	if f.state != FXORinging || f.ringOnAt >= 0 {
		return
	}
	if !f.announced && f.now-f.firstRing >= f.cfg.CallerIDWait {
		f.announce()
	}
	if f.now-f.lastRing > f.ringGapMax+2*time.Second {
		announced := f.announced
		f.toIdle()
		f.caller = nil
		if announced {
			f.emit(FXOEvent{Kind: EventFXORingEnd})
		}
	}
}

// listen captures caller ID on hook: FSK (Bell 202 or V.23, either
// receiver decodes both) and DTMF.
func (f *FXO) listen(capture []int16) {
	if f.cfg.CallerIDOff || f.ringOnAt >= 0 {
		return
	}
	// The DTMF detector hears the gaps too: they separate repeated digits.
	for _, d := range f.cidDTMF.Process(capture, f.dtmfOut[:0]) {
		f.dtmfDigit(d)
	}
	loud := false
	for _, v := range capture {
		if v > 16 || v < -16 {
			loud = true
			break
		}
	}
	if !loud && !f.cidLoud {
		return
	}
	f.cidLoud = loud
	for _, rx := range f.cidRx {
		f.cidMsgs = rx.Process(capture, f.cidMsgs[:0])
		if !loud {
			rx.Reset()
		}
		for _, b := range f.cidMsgs {
			m, err := dsp.ParseCallerID(b)
			if err != nil || m.MessageWaiting {
				continue
			}
			f.gotCaller(&Caller{Number: m.Number, Name: m.Name, Private: m.NumberAbsent == 'P', Unavailable: m.NumberAbsent == 'O'})
		}
	}
}

// dtmfDigit collects DTMF caller ID: A (or D) starts, C (or #) ends.
func (f *FXO) dtmfDigit(d byte) {
	switch {
	case d == 'A' || d == 'B' || d == 'D':
		f.cidN = 0
	case f.cidN == 0:
		return
	}
	if f.cidN == len(f.cidDigits) {
		f.cidN = 0
		return
	}
	f.cidDigits[f.cidN] = d
	f.cidN++
	if d != 'C' && d != '#' {
		return
	}
	m, err := dsp.ParseCallerIDDTMF(string(f.cidDigits[:f.cidN]))
	f.cidN = 0
	if err != nil {
		return
	}
	f.gotCaller(&Caller{Number: m.Number, Private: m.NumberAbsent == 'P', Unavailable: m.NumberAbsent == 'O'})
}

func (f *FXO) gotCaller(c *Caller) {
	if f.announced {
		return // too late for this call
	}
	f.caller, f.callerAt = c, f.now
	if f.state == FXORinging {
		f.announce()
	}
}

// waitDialTone dials once dial tone has been heard (or, blind, after the
// delay); without it the call fails.
func (f *FXO) waitDialTone(capture []int16) {
	el := f.now - f.seizedAt
	if f.cfg.BlindDial {
		if el >= f.cfg.BlindDialDelay {
			f.dial()
		}
		return
	}
	f.dialTone.process(capture)
	switch {
	case f.dialTone.present(DialToneMin):
		f.dial()
	case el >= f.cfg.DialToneWait:
		f.disconnect(EventFXOFailed, ReasonNoTone)
	}
}

func (f *FXO) dial() {
	if err := f.keypad.Queue(f.number, FXODigitOn, FXODigitOff, FXODigitLevel); err != nil {
		f.disconnect(EventFXOFailed, err.Error())
		return
	}
	f.state = FXODialing
}

// supervise watches a call for the office's busy or reorder tone and for
// silence.
func (f *FXO) supervise(capture []int16) {
	if f.busy.process(capture) {
		f.disconnect(EventFXODisconnect, ReasonBusy)
		return
	}
	if f.reorder.process(capture) {
		f.disconnect(EventFXODisconnect, ReasonReorder)
		return
	}
	if f.cfg.SilenceTimeout <= 0 || f.state != FXOTalking {
		return
	}
	var e float64
	for _, v := range capture {
		e += float64(v) * float64(v)
	}
	if len(capture) > 0 && e/float64(len(capture)) >= fxoSilencePower {
		f.quietSince = f.now
		return
	}
	if f.now-f.quietSince >= f.cfg.SilenceTimeout {
		f.disconnect(EventFXODisconnect, ReasonSilence)
	}
}

// collect runs two-stage dialing: second dial tone until the first key,
// then DTMF digits matched against the digit map.
func (f *FXO) collect(capture, playout []int16) {
	if f.second.Playing() != nil {
		f.second.Fill(playout)
	}
	done := false
	for _, d := range f.digitDet.Process(capture, f.dtmfOut[:0]) {
		f.second.Stop()
		f.lastDigit = f.now
		if d == '#' && (f.digitMap == nil || f.digitMap.Match(string(f.digits[:f.ndigits])+"#") == NoMatch) {
			done = true
			break
		}
		if f.ndigits < len(f.digits) {
			f.digits[f.ndigits] = d
			f.ndigits++
		}
		if f.digitMap != nil && f.digitMap.MatchBytes(f.digits[:f.ndigits]) == Complete {
			done = true
			break
		}
	}
	wait := DefaultInterDigitLong
	switch {
	case f.ndigits == 0:
		wait = DefaultDialToneTimeout
	case f.digitMap != nil && f.digitMap.MatchBytes(f.digits[:f.ndigits]) == Ambiguous:
		wait = DefaultInterDigitShort
	}
	if !done && f.now-f.lastDigit < wait {
		if f.busy.process(capture) || f.reorder.process(capture) {
			f.disconnect(EventFXODisconnect, ReasonBusy)
		}
		return
	}
	f.second.Stop()
	f.state = FXOTalking
	f.quietSince = f.now
	f.emit(FXOEvent{Kind: EventFXOCollected, Number: string(f.digits[:f.ndigits])})
}

// ringCadence validates ring bursts against a country's ring cadence, as
// the DAA reports them: segments a short pause separates come as one
// burst, measured a little long (the DAA's ring time-out).
type ringCadence struct {
	burstMin, burstMax time.Duration // a burst's accepted length
	pauseMin           time.Duration // the shortest pause between bursts
}

// newRingCadence derives the accepted bursts and pauses from cad (ring on,
// off, on, off...): each burst within a quarter of one of the cadence's
// bursts, a pause at least half its shortest long pause.
func newRingCadence(cad []time.Duration) ringCadence {
	var bursts, pauses []time.Duration
	var cur time.Duration
	for i := 0; i < len(cad); i += 2 {
		cur += cad[i]
		off := time.Duration(0)
		if i+1 < len(cad) {
			off = cad[i+1]
		}
		if off > 0 && off <= fxoRingJoin && i+2 < len(cad) {
			cur += off // bridged: the next segment continues this burst
			continue
		}
		bursts = append(bursts, cur)
		if off > 0 {
			pauses = append(pauses, off)
		}
		cur = 0
	}
	if len(bursts) == 0 {
		return ringCadence{burstMin: fxoMinRing, burstMax: time.Hour}
	}
	rc := ringCadence{burstMin: time.Hour}
	for _, b := range bursts {
		rc.burstMin = min(rc.burstMin, b-b/4)
		rc.burstMax = max(rc.burstMax, b+b/4+fxoRingSlack)
	}
	rc.burstMin = max(rc.burstMin, fxoMinRing)
	if len(pauses) > 0 {
		rc.pauseMin = time.Hour
		for _, p := range pauses {
			rc.pauseMin = min(rc.pauseMin, p/2)
		}
	}
	return rc
}

// fits reports whether a burst of length burst after a pause of length
// pause (negative for the first burst of a ringing episode) is a ring.
func (rc ringCadence) fits(burst, pause time.Duration) bool {
	if burst < rc.burstMin || burst > rc.burstMax {
		return false
	}
	return pause < 0 || pause >= rc.pauseMin
}
