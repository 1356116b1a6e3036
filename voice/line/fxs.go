package line

import (
	"fmt"
	"github.com/loopstart/loopstart/voice/dialplan"
	"sync/atomic"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/dsp"
)

// MaxDigits is the longest number an FXS line collects; one more key ends
// dialing with reorder tone.
const MaxDigits = 32

// Defaults for zero Config fields.
const (
	// DefaultInterDigitLong is Grandstream's 4 s no-key timeout.
	DefaultInterDigitLong = 4 * time.Second
	// DefaultInterDigitShort runs once a number is complete but could grow.
	DefaultInterDigitShort = 2 * time.Second
	// DefaultDialToneTimeout is how long dial tone waits for the first key.
	DefaultDialToneTimeout = 16 * time.Second
	// DefaultReorderTimeout is how long busy or reorder tone plays.
	DefaultReorderTimeout = 30 * time.Second
	// DefaultHangupMin separates a hook flash from a hang-up (DAHDI treats
	// breaks up to 1250 ms as a flash; Cisco's and Grandstream's flash
	// windows end at 0.9 s and 1.1 s).
	DefaultHangupMin = 1250 * time.Millisecond
	// DefaultFlashMin is the shortest break read as a flash outside
	// dialing (Cisco's Hook_Flash_Timer_Min); shorter ones are ignored.
	DefaultFlashMin = 100 * time.Millisecond
	// DefaultPulseBreakMax is the longest break read as a dial pulse
	// (10 pps pulses break for about 60 ms).
	DefaultPulseBreakMax = 120 * time.Millisecond
	// DefaultPulseDigitGap is how long the loop must stay closed after a
	// pulse before the pulses so far make a digit.
	DefaultPulseDigitGap = 300 * time.Millisecond
)

// minPulseBreak is the shortest break counted as a pulse: one 10 ms frame
// of on-hook is a glitch, 20 pps dialing breaks for 30 ms or more.
const minPulseBreak = 20 * time.Millisecond

// faultAfter is the number of consecutive hook-poll errors that put the line
// into StateFault; fewer are ignored (the hook is taken as unchanged).
const faultAfter = 3

// Config sets up an FXS line. Zero durations take the defaults above.
type Config struct {
	// Profile gives the country's tones and ring cadence; nil means "us".
	Profile *dsp.Profile
	// DigitMap ends dialing early; nil accepts any digits until the long
	// inter-digit timeout or '#'.
	DigitMap *DigitMap
	// InterDigitLong runs after a Partial match, and after every key when
	// DigitMap is nil.
	InterDigitLong time.Duration
	// InterDigitShort runs after an Ambiguous match.
	InterDigitShort time.Duration
	// DialToneTimeout: off hook this long without a key gives reorder tone.
	DialToneTimeout time.Duration
	// ReorderTimeout: busy or reorder tone plays this long, then silence
	// (StateDisconnected) until the phone hangs up.
	ReorderTimeout time.Duration
	// HangupMin: on hook this long is a hang-up; shorter breaks are flashes
	// (or dial pulses while dialing). The hang-up is reported only once the
	// break has lasted HangupMin.
	HangupMin time.Duration
	// FlashMin: breaks shorter than this outside dialing are ignored.
	// Zero takes the profile's FlashMin (and a zero HangupMin its
	// FlashMax), or DefaultFlashMin (DefaultHangupMin) without a profile.
	FlashMin time.Duration
	// PulseBreakMax: while dialing, breaks up to this long are dial pulses,
	// longer ones are flashes.
	PulseBreakMax time.Duration
	// PulseDigitGap: the loop closed this long after a pulse ends the digit.
	PulseDigitGap time.Duration
	// CallerID overrides the country's caller-ID signalling on the port.
	CallerID CallerIDConfig
	// Clock gives the date and time caller ID sends; nil means time.Now.
	Clock func() time.Time
}

// CheckTiming reports whether the config's durations are consistent (none
// negative; with the defaults for zero ones, FlashMin below HangupMin and
// PulseBreakMax in [20 ms, HangupMin)), as NewFXS would find them.
func (c Config) CheckTiming() error { return c.setDefaults() }

func (c *Config) setDefaults() error {
	flashMin, hangupMin := DefaultFlashMin, DefaultHangupMin
	if p := c.Profile; p != nil && p.FlashMin > 0 && p.FlashMax > p.FlashMin {
		flashMin, hangupMin = p.FlashMin, p.FlashMax
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"inter-digit long", &c.InterDigitLong, DefaultInterDigitLong},
		{"inter-digit short", &c.InterDigitShort, DefaultInterDigitShort},
		{"dial tone timeout", &c.DialToneTimeout, DefaultDialToneTimeout},
		{"reorder timeout", &c.ReorderTimeout, DefaultReorderTimeout},
		{"hangup min", &c.HangupMin, hangupMin},
		{"flash min", &c.FlashMin, flashMin},
		{"pulse break max", &c.PulseBreakMax, DefaultPulseBreakMax},
		{"pulse digit gap", &c.PulseDigitGap, DefaultPulseDigitGap},
	} {
		if *f.v < 0 {
			return fmt.Errorf("%s %v is negative", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.FlashMin >= c.HangupMin {
		return fmt.Errorf("flash min %v is not below hangup min %v", c.FlashMin, c.HangupMin)
	}
	if c.PulseBreakMax < minPulseBreak || c.PulseBreakMax >= c.HangupMin {
		return fmt.Errorf("pulse break max %v is outside [%v, hangup min %v)", c.PulseBreakMax, minPulseBreak, c.HangupMin)
	}
	return nil
}

// EventKind says what happened on a line.
type EventKind int

// Line events, reported to the Sink.
const (
	// EventOffHook: the phone went off hook from idle; dial tone plays.
	EventOffHook EventKind = iota + 1
	// EventDialed: dialing finished (digit map complete, inter-digit timeout
	// or '#'); Number holds the digits. The line is now StateCalling.
	EventDialed
	// EventAnswer: the phone went off hook while ringing; ringing stopped
	// and the line waits in StateRinging for Connected.
	EventAnswer
	// EventHangup: the phone has been on hook for HangupMin in a state other
	// than idle (and other than ringing not yet answered), or the port
	// failed during a call. The line is idle (or faulty) again.
	EventHangup
	// EventFlash: a hook flash (a break shorter than HangupMin).
	EventFlash
)

// String names the event kind.
func (k EventKind) String() string {
	switch k {
	case EventOffHook:
		return "offhook"
	case EventDialed:
		return "dialed"
	case EventAnswer:
		return "answer"
	case EventHangup:
		return "hangup"
	case EventFlash:
		return "flash"
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// Event is a line event.
type Event struct {
	// Port is the line's port number (from NewFXS).
	Port int
	// Kind is what happened.
	Kind EventKind
	// Number is the dialed number, for EventDialed.
	Number string
}

// Sink receives line events. It is called on the media loop goroutine and
// must return at once (queue the event and handle it elsewhere).
type Sink func(Event)

// State is the call-progress state of a line.
type State int32

// Line states.
const (
	// StateIdle: on hook, nothing happening.
	StateIdle State = iota
	// StateDialTone: off hook, dial tone, waiting for the first key.
	StateDialTone
	// StateDialing: collecting digits, silence.
	StateDialing
	// StateCalling: number dialed, call being set up, silence.
	StateCalling
	// StateRingback: the far end is alerting; ringback tone.
	StateRingback
	// StateTalking: connected; the media stream owns the audio.
	StateTalking
	// StateRinging: incoming call; the phone rings, or has answered and
	// waits for Connected.
	StateRinging
	// StateBusy: busy tone, for ReorderTimeout.
	StateBusy
	// StateReorder: reorder (congestion) tone, for ReorderTimeout.
	StateReorder
	// StateDisconnected: silence until the phone hangs up.
	StateDisconnected
	// StateFault: the port does not answer; silence.
	StateFault
	// StateConfirm: a feature code took effect: confirmation tone, then
	// dial tone again (Confirm).
	StateConfirm
)

var stateNames = [...]string{"idle", "dialtone", "dialing", "calling", "ringback", "talking", "ringing", "busy", "reorder", "disconnected", "fault", "confirm"}

// String returns the state's lower-case name, as the status API shows it.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Snapshot is a consistent-enough view of a line for status pages; every
// field is read atomically, so Snapshot is safe from any goroutine.
type Snapshot struct {
	// Port is the port number.
	Port int
	// State is the current state.
	State State
	// OffHook is the debounced hook state.
	OffHook bool
	// Transitions counts state changes since NewFXS.
	Transitions uint64
	// ChangedAt is the frame clock time of the last state change.
	ChangedAt time.Duration
	// Errors counts failed port operations (hook polls, ring and feed calls).
	Errors uint64
}

// FXS is the state machine of one FXS (station) line. It is driven by Tick
// once per 10 ms frame and by the command methods, all on the media loop
// goroutine; only State, OffHook, Port and Snapshot may be called from other
// goroutines. After NewFXS, Tick allocates nothing (an EventDialed number is
// the one allocation, once per call).
type FXS struct {
	n    int
	port board.FXS
	cfg  Config
	sink Sink
	prof *dsp.Profile
	ring []time.Duration // country ring cadence: on, off, on, off...

	confirm dsp.Tone // feature code confirmation (Confirm)
	warm    bool     // the dial tone timer dials the plan's hot or warm line

	// Distinctive ringing (SetNextRingCadence): the next ringing's
	// cadence, a copy of it while it runs, and the cadence running.
	next    [maxRingSteps]time.Duration
	nNext   int
	run     [maxRingSteps]time.Duration
	cadence []time.Duration

	tone dsp.ToneGen
	det  *dsp.DTMFDetector
	dtmf [8]byte // detector output buffer

	digits [MaxDigits + 1]byte // one spare for the '#' look-ahead
	nd     int

	// Mirrors for other goroutines.
	stateA    atomic.Int32
	hookA     atomic.Bool
	changes   atomic.Uint64
	changedAt atomic.Int64
	errs      atomic.Uint64
	mwiA      atomic.Bool

	st        State
	now       time.Duration // last Tick's frame time
	offHook   bool
	pollErrs  int
	lastErr   error
	timerOn   bool
	deadline  time.Duration
	breaking  bool          // on hook in an active state, not yet a hang-up
	breakAt   time.Duration // when the break began
	pulses    int           // dial pulses of the digit in progress
	makeAt    time.Duration // end of the last pulse
	answered  bool          // ringing: the phone went off hook
	ringStart bool          // ringing: start the cadence on the next Tick
	ringing   bool          // ringing voltage is on
	ringSeg   int           // current cadence segment
	ringEdge  time.Duration // end of the current segment
	ringLive  bool          // cadence running
	callerNum string
	callerNam string
	peer      string
	cid       cid
}

// NewFXS makes the line for port number n, sets the port's feed to forward
// active and returns the line idle (or in StateFault if the port failed; it
// keeps retrying from Tick). All buffers are allocated here. Errors are for
// a bad configuration only.
func NewFXS(n int, port board.FXS, cfg Config, sink Sink) (*FXS, error) {
	if port == nil {
		return nil, fmt.Errorf("fxs line %d: no port", n)
	}
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("fxs line %d: %w", n, err)
	}
	prof := cfg.Profile
	if prof == nil {
		var err error
		if prof, err = dsp.LookupProfile("us"); err != nil {
			return nil, fmt.Errorf("fxs line %d: %w", n, err)
		}
	}
	ring := prof.RingCadence
	if len(ring) == 0 {
		ring = []time.Duration{2 * time.Second, 4 * time.Second} // North American
	}
	if len(ring)%2 != 0 {
		return nil, fmt.Errorf("fxs line %d: ring cadence %v of country %q has odd length", n, ring, prof.Country)
	}
	for _, d := range ring {
		if d <= 0 {
			return nil, fmt.Errorf("fxs line %d: ring cadence %v of country %q has a non-positive step", n, ring, prof.Country)
		}
	}
	std, alert, err := resolveCallerID(prof, cfg.CallerID)
	if err != nil {
		return nil, fmt.Errorf("fxs line %d: %w", n, err)
	}
	if sink == nil {
		sink = func(Event) {}
	}
	l := &FXS{
		n:    n,
		port: port,
		cfg:  cfg,
		sink: sink,
		prof: prof, confirm: dsp.ConfirmTone(prof),
		ring: append([]time.Duration(nil), ring...),
		det:  dsp.NewDTMFDetector(),
	}
	l.cid = cid{std: std, alert: alert, fsk: dsp.V23, clock: cfg.Clock,
		ack: *dsp.NewDTMFDetector()}
	if std == dsp.CallerIDBell202 {
		l.cid.fsk = dsp.Bell202
	}
	if l.cid.clock == nil {
		l.cid.clock = time.Now
	}
	if err := port.SetLinefeed(board.FeedForwardActive); err != nil {
		l.errs.Add(1)
		l.lastErr = err
		l.setState(StateFault)
	}
	return l, nil
}

// Port returns the port number.
func (l *FXS) Port() int { return l.n }

// State returns the current state; safe from any goroutine.
func (l *FXS) State() State { return State(l.stateA.Load()) }

// OffHook returns the debounced hook state; safe from any goroutine.
func (l *FXS) OffHook() bool { return l.hookA.Load() }

// Snapshot returns the line's status counters; safe from any goroutine.
func (l *FXS) Snapshot() Snapshot {
	return Snapshot{
		Port:        l.n,
		State:       l.State(),
		OffHook:     l.OffHook(),
		Transitions: l.changes.Load(),
		ChangedAt:   time.Duration(l.changedAt.Load()),
		Errors:      l.errs.Load(),
	}
}

// Digits returns the digits collected so far (loop goroutine only; it
// allocates).
func (l *FXS) Digits() string { return string(l.digits[:l.nd]) }

// CallerID returns the caller of the current or last incoming call (loop
// goroutine only).
func (l *FXS) CallerID() (number, name string) { return l.callerNum, l.callerNam }

// Peer returns the peer given to Connected (loop goroutine only).
func (l *FXS) Peer() string { return l.peer }

// LastError returns the last port error, or nil (loop goroutine only).
func (l *FXS) LastError() error { return l.lastErr }

// Tick advances the line by one frame at frame time now: it polls the hook,
// runs timers, pulse and DTMF digit detection (on capture, while dial tone
// or dialing) and the ring cadence, and writes the current tone or silence
// into playout, except in StateTalking, where playout is left to the media
// stream. It does not allocate.
func (l *FXS) Tick(now time.Duration, capture, playout []int16) {
	l.now = now
	off, err := l.port.PollHook(now)
	if err != nil {
		l.pollErrs++
		l.portError(err)
		if l.pollErrs >= faultAfter {
			l.fault()
		}
		off = l.offHook
	} else {
		l.pollErrs = 0
	}
	if l.st == StateFault {
		if err == nil {
			l.recover(off)
		}
		if l.st == StateFault {
			clear(playout)
			return
		}
	}
	if off != l.offHook {
		l.offHook = off
		l.hookA.Store(off)
		if off {
			l.hookOff(now)
		} else {
			l.hookOn(now)
		}
	}
	if l.ringStart {
		l.startRing(now)
	}
	l.advance(now)
	if l.cid.pend && l.st == StateIdle && !l.offHook && l.cid.job == jobNone {
		l.cid.pend = false
		if l.planVMWI(l.mwiA.Load()) {
			l.cidStart(now)
		}
	}
	if l.offHook && (l.st == StateDialTone || l.st == StateDialing) && len(capture) > 0 {
		for _, d := range l.det.Process(capture, l.dtmf[:0]) {
			if l.st != StateDialTone && l.st != StateDialing {
				break
			}
			l.key(d)
		}
	}
	if l.st != StateTalking {
		l.tone.Fill(playout)
	}
	if l.cidRunning() && !l.cidTick(now, capture, playout) && l.cid.muted {
		clear(playout)
	}
}

// hookOff handles the loop closing.
func (l *FXS) hookOff(now time.Duration) {
	switch {
	case l.st == StateIdle:
		l.setState(StateDialTone)
		l.emit(EventOffHook, "")
	case l.st == StateRinging && !l.answered:
		l.answered = true
		l.cidAbort()
		l.stopRing()
		l.emit(EventAnswer, "")
	case l.breaking:
		l.breaking = false
		d := now - l.breakAt
		collecting := l.st == StateDialTone || l.st == StateDialing
		switch {
		case collecting && d < minPulseBreak:
			// glitch
		case collecting && d <= l.cfg.PulseBreakMax:
			l.pulse(now)
		case d >= l.cfg.FlashMin:
			l.pulses = 0
			l.emit(EventFlash, "")
		}
	}
}

// hookOn handles the loop opening: it starts a break that becomes a
// hang-up after HangupMin.
func (l *FXS) hookOn(now time.Duration) {
	if l.st == StateIdle || (l.st == StateRinging && !l.answered) {
		return
	}
	l.breaking = true
	l.breakAt = now
}

// pulse counts one dial pulse.
func (l *FXS) pulse(now time.Duration) {
	if l.st == StateDialTone {
		l.setState(StateDialing)
	}
	l.pulses++
	l.makeAt = now
	l.setTimer(l.cfg.InterDigitLong)
}

// advance runs the timers.
func (l *FXS) advance(now time.Duration) {
	if l.breaking && now-l.breakAt >= l.cfg.HangupMin {
		l.breaking = false
		l.setState(StateIdle)
		l.emit(EventHangup, "")
		return
	}
	if l.pulses > 0 && l.offHook && now-l.makeAt >= l.cfg.PulseDigitGap {
		p := l.pulses
		l.pulses = 0
		if p <= 10 && l.st == StateDialing {
			l.key(byte('0' + p%10))
		}
	}
	if l.timerOn && now >= l.deadline {
		l.timerOn = false
		switch l.st {
		case StateDialTone:
			if l.warm {
				l.finish()
			} else {
				l.setState(StateReorder)
			}
		case StateConfirm:
			l.setState(StateDialTone)
		case StateDialing:
			if l.pulses == 0 {
				l.finish()
			}
		case StateBusy, StateReorder:
			l.setState(StateDisconnected)
		}
	}
	if l.ringLive {
		edge := false
		for now >= l.ringEdge {
			l.ringSeg++
			if l.ringSeg == len(l.cadence) {
				l.ringSeg = 0
			}
			l.ringEdge += l.cadence[l.ringSeg]
			edge = true
		}
		if edge {
			on := l.ringSeg%2 == 0
			l.setRinging(on)
			switch {
			case !on && l.cid.armed && l.ringSeg == l.cid.after:
				l.cidStart(now)
			case on && l.cid.job == jobRing && !l.cid.armed:
				l.cid.feed = false // ringing took the feed over
				l.cidAbort()
			}
		}
	}
}

// key takes one dialed key (DTMF or pulse).
func (l *FXS) key(d byte) {
	if !dialplan.IsKey(d) {
		return // A-D: not dialable
	}
	if l.st == StateDialTone {
		l.setState(StateDialing)
	}
	l.tone.Stop() // a second dial tone ends with the next key
	if d == '#' && !l.mapTakesHash() {
		l.finish()
		return
	}
	if l.nd == MaxDigits {
		l.setState(StateReorder)
		return
	}
	l.digits[l.nd] = d
	l.nd++
	if l.cfg.DigitMap == nil {
		l.setTimer(l.cfg.InterDigitLong)
		return
	}
	st := l.cfg.DigitMap.Step(l.digits[:l.nd])
	if st.DialTone {
		l.tone.Play(&l.prof.Dial)
	}
	switch st.Match {
	case NoMatch:
		l.setState(StateReorder)
	case Partial:
		l.setTimer(orDefault(st.Timer, l.cfg.InterDigitLong))
	case Ambiguous:
		l.setTimer(orDefault(st.Timer, l.cfg.InterDigitShort))
	case Complete:
		l.finish()
	}
}

// mapTakesHash reports whether the digit map accepts '#' after the digits
// so far; then '#' is part of the number rather than the dial key.
func (l *FXS) mapTakesHash() bool {
	if l.cfg.DigitMap == nil || l.nd == MaxDigits {
		return false
	}
	l.digits[l.nd] = '#'
	return l.cfg.DigitMap.MatchBytes(l.digits[:l.nd+1]) != NoMatch
}

// orDefault returns the plan's timer d, or def when the plan sets none.
func orDefault(d, def time.Duration) time.Duration {
	if d < 0 {
		return def
	}
	return d
}

// offHookPlan starts a hot line or warm line: a plan alternative that
// needs no key dials on the next frame (Complete) or after its pause
// (Ambiguous) unless a key comes first.
func (l *FXS) offHookPlan() {
	l.warm = false
	if l.cfg.DigitMap == nil {
		return
	}
	st := l.cfg.DigitMap.Step(nil)
	switch st.Match {
	case Complete:
		l.warm = true
		l.setTimer(0)
	case Ambiguous:
		l.warm = true
		l.setTimer(orDefault(st.Timer, l.cfg.InterDigitShort))
	}
}

// finish ends dialing: EventDialed with the number the plan sends, or
// reorder when nothing was dialed or the plan bars the number.
func (l *FXS) finish() {
	number := string(l.digits[:l.nd])
	if l.cfg.DigitMap != nil {
		n, barred, _ := l.cfg.DigitMap.Dial(number)
		if barred {
			l.setState(StateReorder)
			return
		}
		number = n
	}
	if number == "" {
		l.setState(StateReorder)
		return
	}
	l.setState(StateCalling)
	l.emit(EventDialed, number)
}

// startRing begins the ring cadence requested by Ring.
func (l *FXS) startRing(now time.Duration) {
	l.ringStart = false
	if l.st != StateRinging || l.answered {
		return
	}
	if l.cid.job == jobRing && !l.cid.armed {
		l.cidStart(now) // caller ID before the first ring; the job starts the cadence
		return
	}
	l.ringLive = true
	l.ringSeg = 0
	l.cadence = l.ringCadence()
	l.ringEdge = now + l.cadence[0]
	l.setRinging(true)
}

// stopRing ends the cadence and the ringing voltage.
func (l *FXS) stopRing() {
	l.ringStart = false
	l.ringLive = false
	if l.ringing {
		l.setRinging(false)
	}
}

func (l *FXS) setRinging(on bool) {
	if err := l.port.SetRinging(on); err != nil {
		l.portError(err)
	}
	l.ringing = on
}

func (l *FXS) setTimer(d time.Duration) {
	l.timerOn = true
	l.deadline = l.now + d
}

func (l *FXS) emit(kind EventKind, number string) {
	l.sink(Event{Port: l.n, Kind: kind, Number: number})
}

func (l *FXS) portError(err error) {
	l.errs.Add(1)
	l.lastErr = err
}

// fault takes the line out of service after repeated port errors.
func (l *FXS) fault() {
	if l.st == StateFault {
		return
	}
	was := l.st
	l.setState(StateFault)
	if was != StateIdle {
		l.emit(EventHangup, "")
	}
}

// recover brings a faulty port back once it answers again.
func (l *FXS) recover(off bool) {
	if err := l.port.SetLinefeed(board.FeedForwardActive); err != nil {
		l.portError(err)
		return
	}
	l.offHook = off
	l.hookA.Store(off)
	if off {
		l.setState(StateDisconnected) // no call from a phone left off hook
	} else {
		l.setState(StateIdle)
	}
}

// setState enters s, setting its tone and timer.
func (l *FXS) setState(s State) {
	if s == l.st && s != StateIdle {
		return
	}
	prev := l.st
	if (l.cid.job == jobRing && s != StateRinging) || (l.cid.job == jobVMWI && s != StateIdle) ||
		(l.cid.job == jobCW && s != StateTalking) {
		l.cidAbort()
	}
	l.st = s
	if s != prev {
		l.stateA.Store(int32(s))
		l.changes.Add(1)
		l.changedAt.Store(int64(l.now))
	}
	if prev == StateRinging && s != StateRinging {
		l.stopRing()
	}
	l.timerOn = false
	l.tone.Stop()
	switch s {
	case StateIdle, StateFault:
		l.stopRing()
		l.answered = false
		l.breaking = false
		l.pulses = 0
		l.nd = 0
	case StateDialTone:
		l.nd = 0
		l.pulses = 0
		l.det.Reset()
		if l.mwiA.Load() && l.prof.Stutter.Freqs[0] > 0 {
			l.tone.Play(&l.prof.Stutter) // messages wait
		} else {
			l.tone.Play(&l.prof.Dial)
		}
		l.setTimer(l.cfg.DialToneTimeout)
		l.offHookPlan()
	case StateConfirm:
		l.nd = 0
		l.pulses = 0
		l.tone.Play(&l.confirm)
		l.setTimer(confirmTime)
	case StateRingback:
		l.tone.Play(&l.prof.Ringback)
	case StateBusy:
		l.pulses = 0
		l.tone.Play(&l.prof.Busy)
		l.setTimer(l.cfg.ReorderTimeout)
	case StateReorder:
		l.pulses = 0
		l.tone.Play(&l.prof.Reorder)
		l.setTimer(l.cfg.ReorderTimeout)
	}
}

// active reports whether the line is in a call or call attempt the phone
// takes part in (off hook, or in a break that may be a flash).
func (l *FXS) active() bool {
	switch l.st {
	case StateIdle, StateFault:
		return false
	case StateRinging:
		return l.answered
	}
	return true
}

// Calling tells the line the dialed call is being set up: StateCalling
// (silence). EventDialed already moves the line there; Calling also works
// from dial tone or dialing (a hot line, say).
func (l *FXS) Calling() {
	switch l.st {
	case StateDialTone, StateDialing:
		l.setState(StateCalling)
	}
}

// Ringback tells the line the far end is alerting (180/183): ringback tone.
func (l *FXS) Ringback() {
	if l.st == StateCalling {
		l.setState(StateRingback)
	}
}

// Connected tells the line the call is answered: StateTalking, from calling,
// ringback, or an answered incoming call. peer is kept for status.
func (l *FXS) Connected(peer string) {
	switch l.st {
	case StateCalling, StateRingback, StateTalking:
	case StateRinging:
		if !l.answered {
			return
		}
	default:
		return
	}
	l.peer = peer
	l.setState(StateTalking)
}

// confirmTime is how long the confirmation tone plays before dial tone
// comes back.
const confirmTime = 1500 * time.Millisecond

// Confirm tells the line a feature code it dialed took effect:
// confirmation tone, then dial tone for another code or a call.
func (l *FXS) Confirm() {
	switch l.st {
	case StateDialTone, StateDialing, StateCalling:
		l.setState(StateConfirm)
	}
}

// Busy plays busy tone (486/600), then silence after ReorderTimeout.
func (l *FXS) Busy() {
	if l.active() {
		l.setState(StateBusy)
	}
}

// Reorder plays reorder tone (call failure, or the far end hung up), then
// silence after ReorderTimeout.
func (l *FXS) Reorder() {
	if l.active() && l.st != StateReorder {
		l.setState(StateReorder)
	}
}

// Ring starts an incoming call from callerNumber (unavailable when "")
// and callerName; see RingCaller.
func (l *FXS) Ring(callerNumber, callerName string) bool {
	return l.RingCaller(Caller{Number: callerNumber, Name: callerName, Unavailable: callerNumber == ""})
}

// RingCaller starts an incoming call: only an idle line on hook accepts it
// (false otherwise: the gateway answers 486). Ringing follows the country
// cadence from the next Tick, with caller ID as the port's standard and
// alerting say: in the first long silent interval, or before the first
// ring (the line reversed or a ring pulse, then the data, then ringing).
// The caller-ID message is built here, once per call.
func (l *FXS) RingCaller(c Caller) bool {
	if l.st != StateIdle || l.offHook {
		return false
	}
	l.callerNum, l.callerNam = c.Number, c.Name
	l.answered = false
	l.setState(StateRinging)
	l.planRing(c)
	l.ringStart = true
	return true
}

// SetMessageWaiting turns the port's message-waiting indication on or
// off (a voicemail box behind the port's account has new messages).
// While on, going off hook gives the country's stutter dial tone; each
// change is sent to the phone's lamp as an on-hook VMWI message (MDMF
// type 0x82, parameter 0x0B) once the line is idle and on hook.
// It is called on the media loop goroutine like the other commands.
func (l *FXS) SetMessageWaiting(on bool) {
	if l.mwiA.Swap(on) != on {
		l.cid.pend = true
	}
}

// SpeechMuted reports whether the line holds the far end's audio back
// (type II caller ID on a waiting call); the media stream then leaves
// playout to the line (loop goroutine only).
func (l *FXS) SpeechMuted() bool { return l.cid.muted }

// MessageWaiting reports whether the message-waiting indication is on;
// safe from any goroutine.
func (l *FXS) MessageWaiting() bool { return l.mwiA.Load() }

// StopRinging ends an incoming call the caller gave up: ringing stops at
// once and the line goes idle, or plays reorder if the phone had answered.
func (l *FXS) StopRinging() {
	if l.st != StateRinging {
		return
	}
	l.stopRing()
	if l.answered {
		l.setState(StateReorder)
	} else {
		l.setState(StateIdle)
	}
}
