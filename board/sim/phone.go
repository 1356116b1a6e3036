package sim

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// Phone timing and test-equipment constants.
const (
	// HistoryDuration is how much earpiece audio a phone keeps for Heard
	// on a board of up to HistoryShareFrom ports (HistoryFor).
	HistoryDuration = 30 * time.Second
	// HistoryShared is the earpiece audio a board of more ports keeps
	// in all, shared between its ports, each keeping at least
	// HistoryMin (HistoryFor).
	HistoryShared = HistoryShareFrom * HistoryDuration
	// HistoryShareFrom is the number of ports above which they share
	// HistoryShared.
	HistoryShareFrom = 8
	// HistoryMin is the least earpiece audio a port keeps.
	HistoryMin = 10 * time.Second
	// HearingWindow is the stretch of recent earpiece audio State analyses.
	HearingWindow = 500 * time.Millisecond
	// RingHold is how long after the ring voltage drops the phone still reports
	// ringing, so that the silent part of a cadence (4 s in the US) does not
	// read as "stopped ringing".
	RingHold = 4500 * time.Millisecond
	// FlashDuration is how long a hook flash holds the loop open when the
	// phone was given no country (see FlashFor).
	FlashDuration = 500 * time.Millisecond
	// PulseBreak and PulseMake are one dial pulse (10 pulses per second, 60/40).
	PulseBreak = 60 * time.Millisecond
	PulseMake  = 40 * time.Millisecond
	// InterDigit is the closed-loop pause after each pulse-dialled digit.
	InterDigit = 700 * time.Millisecond
	// DTMFOn and DTMFOff are the keypad's tone burst and gap.
	DTMFOn  = 100 * time.Millisecond
	DTMFOff = 100 * time.Millisecond
	// DTMFLevel is the keypad's high-group tone level in dBm0.
	DTMFLevel = -7.0
)

const (
	historySamples = int(HistoryDuration / time.Second * pcm.SampleRate)
	// phoneQuiet is how many frames of digital silence (100 ms) the
	// earpiece's receivers listen to before they skip silent frames.
	phoneQuiet     = 10
	windowSamples  = int(HearingWindow * pcm.SampleRate / time.Second)
	maxHeardDigits = 256  // DTMFHeard keeps the latest this many digits
	maxDetections  = 64   // recent detections kept for Hearing.DTMF
	maxPlan        = 2048 // hook segments a phone holds (about 100 pulse digits)
)

// MaxDialDigits is the most digits one Dial takes.
const MaxDialDigits = dsp.DTMFQueueLen

// frames converts a duration to whole PCM frames.
func frames(d time.Duration) int { return int(d / pcm.FrameDuration) }

// ErrNotOffHook is returned by Dial (and a flash) when the phone is on hook.
var ErrNotOffHook = errors.New("board/sim: phone is on hook")

// hookSeg is one stretch of a scheduled hook pattern (a pulse, a flash).
type hookSeg struct {
	open   bool // loop open (on hook) during the stretch
	frames int
}

// detection is a DTMF digit the earpiece heard, with the frame it was heard in.
type detection struct {
	digit byte
	seq   uint64
}

// Phone is a virtual analog phone on an FXS port. The chip model drives it as
// its model.Terminal, once per frame (Audio) and on ring edges (Ring); the sim
// control API drives its hook and keypad and reads its state. All methods are
// safe for concurrent use.
//
// The phone's test equipment (keypad tones, the tone sender, the earpiece
// analyser and DTMF receiver) is the project's own dsp library, so the
// sim board checks the product with the same code the product uses; dsp has
// its own tests against the standards.
type Phone struct {
	flash time.Duration // how long the flash (recall) button opens the loop
	port  int

	mu  sync.Mutex
	seq uint64 // the last frame seen in Audio: the phone's clock
	// Hook switch and scheduled hook patterns (flash, pulse dialling).
	offHook bool
	plan    []hookSeg
	planPos int // index of the running segment
	planRun int // frames run in it
	// Mouthpiece.
	keypad dsp.DTMFGen
	say    dsp.ToneGen
	// Ringer.
	ringOn    bool
	burst     bool   // the current burst is a counted ring
	ringStart uint64 // frame the current/last burst started
	ringEnd   uint64 // frame the last burst ended
	rang      bool   // a burst has ended before (ringEnd is valid)
	rings     int
	lastRing  time.Duration
	lastPause time.Duration
	// Earpiece.
	rec      recording // the last history heard (recording.go)
	quiet    int       // silent earpiece frames in a row, up to phoneQuiet
	det      *dsp.DTMFDetector
	detOut   [16]byte
	dets     [maxDetections]detection
	detPos   int
	detLen   int
	heard    [maxHeardDigits]byte
	heardLen int
	// Caller-ID display and message-waiting lamp.
	fsk                 [2]*dsp.CIDRx    // Bell 202 and V.23 receivers
	fskStd              [2]string        // their standards' names
	fskOn               bool             // the last frame carried signal
	bellVotes, v23Votes int              // mark-tone frames of the burst, per modem
	msgs                [][]byte         // receiver output scratch
	cidDTMF             [cidMaxDTMF]byte // DTMF caller ID being received
	cidN                int
	callerID            *simapi.CallerID
	cidSeq              uint64 // frame the caller ID arrived in
	mwi                 bool
	cas                 *dsp.CASDetector
	ackAt               uint64 // frame to send the CAS acknowledgement in (0: none)
	fskUntil            uint64 // off hook: decode FSK up to this frame (after CAS)
}

// Caller-ID display constants.
const (
	cidMaxDTMF = 32 // longest DTMF caller-ID string
	// cidSilence is the largest sample still read as a quiet line.
	cidSilence = 16
	// CallerIDKeep: a new ringing episode more than this after the last
	// caller ID clears the display.
	CallerIDKeep = 10 * time.Second
	// CASAckDelay is how long after detecting CAS the phone sends its
	// acknowledgement (the CAS lasts 80 ms; GR-30 wants the ACK within
	// 100 ms after it ends), and CASAckLen the DTMF D it sends.
	CASAckDelay = 50 * time.Millisecond
	CASAckLen   = 65 * time.Millisecond
	// CASListen is how long after CAS the phone decodes off-hook FSK.
	CASListen = 2 * time.Second
)

// NewPhone makes an on-hook phone for port n that keeps HistoryDuration
// of what it hears. All its buffers are made here.
func NewPhone(n int) *Phone { return NewPhoneHistory(n, HistoryDuration) }

// HistoryFor is how much audio each test instrument (phone or central
// office) of a board of ports ports keeps: HistoryDuration up to
// HistoryShareFrom ports; beyond, HistoryShared between them, at least
// HistoryMin each, in whole seconds. Like a bench's recorder, the
// equipment has a memory budget: a 32-port board's phones would
// otherwise hold 7.3 MiB (a byte a sample) in the gateway's process that
// a real board's gateway has not got.
func HistoryFor(ports int) time.Duration {
	if ports <= HistoryShareFrom {
		return HistoryDuration
	}
	return max(HistoryMin, (HistoryShared / time.Duration(ports)).Truncate(time.Second))
}

// NewPhoneHistory makes an on-hook phone for port n that keeps history
// (clamped to HistoryMin–HistoryDuration) of what it hears for Heard.
// All its buffers are made here.
func NewPhoneHistory(n int, history time.Duration) *Phone {
	return &Phone{
		flash:  FlashDuration,
		port:   n,
		plan:   make([]hookSeg, 0, 64),
		det:    dsp.NewDTMFDetector(),
		fsk:    [2]*dsp.CIDRx{mustCIDRx(dsp.Bell202), mustCIDRx(dsp.V23)},
		fskStd: [2]string{dsp.Bell202.String(), dsp.V23.String()},
		msgs:   make([][]byte, 0, 4),
		cas:    dsp.NewCASDetector(),
		rec:    historyRecording(history),
	}
}

// historyRecording returns a recording of history, clamped to
// HistoryMin–HistoryDuration.
func historyRecording(history time.Duration) recording {
	return newRecording(durationSamples(min(max(history, HistoryMin), HistoryDuration)))
}

// durationSamples is d in samples.
func durationSamples(d time.Duration) int { return int(d * pcm.SampleRate / time.Second) }

func mustCIDRx(std dsp.FSKStandard) *dsp.CIDRx {
	r, err := dsp.NewCIDRx(std)
	if err != nil {
		panic(err)
	}
	return r
}

// Port returns the phone's port number.
func (p *Phone) Port() int { return p.port }

// now is the phone's clock; called with mu held.
func (p *Phone) now() time.Duration { return time.Duration(p.seq) * pcm.FrameDuration }

// loopClosed tells whether DC flows; called with mu held.
func (p *Phone) loopClosed() bool {
	if !p.offHook {
		return false
	}
	if p.planPos < len(p.plan) && p.plan[p.planPos].open {
		return false
	}
	return true
}

// LoopClosed implements model.Terminal: true while the phone draws loop
// current (off hook and not in a flash or a dial-pulse break).
func (p *Phone) LoopClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.loopClosed()
}

// Ring implements model.Terminal: the ring voltage turned on or off. Rising
// edges while on hook count as rings; burst and pause lengths are measured on
// the frame clock.
func (p *Phone) Ring(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.ringOn {
		return
	}
	wasRinging := p.ringingLocked()
	p.ringOn = on
	if on {
		if p.offHook {
			return // ring trip: the chip ends ringing; not a ring
		}
		p.burst = true
		if !wasRinging {
			// A new ringing episode on a quiet line: start counting afresh.
			if p.callerID != nil && p.seq-p.cidSeq > uint64(frames(CallerIDKeep)) {
				p.callerID = nil // an old call's caller ID; this one sent none (yet)
			}
			p.rings = 0
			p.lastRing, p.lastPause = 0, 0
		} else if p.rang {
			p.lastPause = time.Duration(p.seq-p.ringEnd) * pcm.FrameDuration
		}
		p.rings++
		p.ringStart = p.seq
		return
	}
	if !p.burst {
		return
	}
	p.burst = false
	p.lastRing = time.Duration(p.seq-p.ringStart) * pcm.FrameDuration
	p.ringEnd = p.seq
	p.rang = true
}

// ringingLocked reports ringing as State does, ignoring the hook; mu held.
func (p *Phone) ringingLocked() bool {
	if p.ringOn {
		return true
	}
	return p.rang && p.now()-time.Duration(p.ringEnd)*pcm.FrameDuration < RingHold
}

// Audio implements model.Terminal. Once per frame it advances the hook
// schedule, writes the mouthpiece signal (the Say tones, replaced by the
// keypad's DTMF while it sends digits; silent on hook or in a pulse break) and records and listens to the
// earpiece. It does not allocate, but for the recording's buffer at the
// first frame that carries sound and when the recording changes form
// (recording.go).
func (p *Phone) Audio(seq uint64, earpiece, mouth []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq = seq

	// Hook schedule: the segment running now decides this frame's loop state.
	if p.planPos < len(p.plan) {
		p.planRun++
		if p.planRun > p.plan[p.planPos].frames {
			p.planPos++
			p.planRun = 1
		}
		if p.planPos >= len(p.plan) {
			p.plan = p.plan[:0]
			p.planPos, p.planRun = 0, 0
		}
	}

	if p.loopClosed() {
		// A telephone mutes its transmitter while the keypad sends: the
		// line carries the digits alone, never the voice under them.
		busy := p.keypad.Busy()
		p.keypad.Fill(mouth)
		if !busy {
			p.say.Add(mouth)
		}
	} else {
		clear(mouth)
	}

	// Earpiece history. Until the earpiece first carries sound the
	// recording is silence, counted without a buffer: an idle board's
	// phones take no memory; a call's audio is kept in 8 bits a sample
	// where that is exact (recording.go).
	quiet := silent(earpiece)
	p.rec.write(earpiece)
	// The receivers idle through a silent earpiece: after phoneQuiet
	// frames of digital silence (every digit and burst heard before has
	// been reported) they skip silent frames, and start afresh on the
	// first frame that carries sound. Most of an idle sim board's phones'
	// CPU otherwise went on listening to zeros.
	if quiet {
		if p.quiet < phoneQuiet {
			p.quiet++
		}
	} else {
		if p.quiet >= phoneQuiet {
			p.det.Reset()
		}
		p.quiet = 0
	}
	if p.quiet >= phoneQuiet && p.ackAt == 0 && !p.fskOn {
		return
	}
	p.listenCallerID(seq, earpiece)
	// DTMF receiver.
	for _, d := range p.det.Process(earpiece, p.detOut[:0]) {
		if !p.offHook {
			p.dtmfCallerID(seq, d)
		}
		p.dets[p.detPos] = detection{digit: d, seq: seq}
		p.detPos = (p.detPos + 1) % len(p.dets)
		p.detLen = min(p.detLen+1, len(p.dets))
		if p.heardLen == len(p.heard) {
			copy(p.heard[:], p.heard[1:])
			p.heardLen--
		}
		p.heard[p.heardLen] = d
		p.heardLen++
	}
}

// listenCallerID runs the FSK receivers on the earpiece while on hook (or
// just after a CAS while off hook), and answers CAS off hook with a DTMF D;
// mu held. It allocates only when it decodes a message.
func (p *Phone) listenCallerID(seq uint64, earpiece []int16) {
	if p.offHook {
		if p.cas.Process(earpiece) > 0 {
			p.ackAt = seq + uint64(frames(CASAckDelay))
			p.fskUntil = seq + uint64(frames(CASListen))
		}
		if p.ackAt != 0 && seq >= p.ackAt {
			p.ackAt = 0
			_ = p.keypad.Queue("D", CASAckLen, 0, DTMFLevel)
		}
	}
	if p.offHook && seq > p.fskUntil {
		return
	}
	loud := false
	for _, v := range earpiece {
		if v > cidSilence || v < -cidSilence {
			loud = true
			break
		}
	}
	if !loud && !p.fskOn {
		return
	}
	if loud {
		if !p.fskOn {
			p.bellVotes, p.v23Votes = 0, 0 // a new burst
		}
		// A frame of marks alone: its mark tone dwarfs the other modem's
		// and its own space tone (seizure frames carry both).
		b, v := goertzel(earpiece, 1200), goertzel(earpiece, 1300)
		switch {
		case b > 10*v && b > 10*goertzel(earpiece, 2200):
			p.bellVotes++
		case v > 10*b && v > 10*goertzel(earpiece, 2100):
			p.v23Votes++
		}
	}
	p.fskOn = loud
	for i, rx := range p.fsk {
		p.msgs = rx.Process(earpiece, p.msgs[:0])
		if !loud {
			rx.Reset()
		}
		for _, b := range p.msgs {
			m, err := dsp.ParseCallerID(b)
			if err != nil {
				continue
			}
			if m.MessageWaiting {
				p.mwi = m.Waiting
				continue
			}
			p.showCallerID(seq, &simapi.CallerID{Number: m.Number, Name: m.Name, Time: m.Time,
				Standard: p.fskStandard(i), Private: m.NumberAbsent == 'P', Unavailable: m.NumberAbsent == 'O'})
		}
	}
}

// fskStandard names the modem of the message receiver i just decoded.
// Bell 202 and V.23 tones lie 100 Hz apart, so either receiver decodes
// both; the mark-tone frames of the burst (the 150 ms of marks before
// the message) tell them apart: 1200 Hz or 1300 Hz, which a 10 ms frame
// separates cleanly. mu held.
func (p *Phone) fskStandard(i int) string {
	switch {
	case p.bellVotes > p.v23Votes:
		return dsp.Bell202.String()
	case p.v23Votes > p.bellVotes:
		return dsp.V23.String()
	}
	return p.fskStd[i]
}

// goertzel returns the power of x at f Hz.
func goertzel(x []int16, f float64) float64 {
	c := 2 * math.Cos(2*math.Pi*f/pcm.SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// dtmfCallerID collects DTMF caller ID (A or D starts, C or # ends) heard
// on hook; mu held.
func (p *Phone) dtmfCallerID(seq uint64, d byte) {
	switch {
	case d == 'A' || d == 'B' || d == 'D':
		p.cidN = 0
	case p.cidN == 0:
		return
	}
	if p.cidN == len(p.cidDTMF) {
		p.cidN = 0
		return
	}
	p.cidDTMF[p.cidN] = d
	p.cidN++
	if d != 'C' && d != '#' {
		return
	}
	m, err := dsp.ParseCallerIDDTMF(string(p.cidDTMF[:p.cidN]))
	p.cidN = 0
	if err != nil {
		return
	}
	p.showCallerID(seq, &simapi.CallerID{Number: m.Number, Standard: dsp.CallerIDDTMF,
		Private: m.NumberAbsent == 'P', Unavailable: m.NumberAbsent == 'O'})
}

// showCallerID puts a decoded caller ID on the display; mu held.
func (p *Phone) showCallerID(seq uint64, c *simapi.CallerID) {
	if o := p.callerID; o != nil && seq-p.cidSeq < uint64(frames(time.Second)) &&
		o.Number == c.Number && o.Name == c.Name && o.Time == c.Time {
		return // the other FSK receiver's copy of the same message
	}
	p.callerID = c
	p.cidSeq = seq
}

// FlashFor returns how long the flash (recall) button of a phone sold in
// country opens the loop: FlashDuration where the country's flash window
// takes it (North America), else the middle of the window rounded down
// to a frame (100 ms for the ETSI timed break recall of 80-130 ms).
// An unknown country gives FlashDuration.
func FlashFor(country string) time.Duration {
	prof, err := dsp.LookupProfile(country)
	if err != nil || prof.FlashMax <= 0 {
		return FlashDuration
	}
	if FlashDuration >= prof.FlashMin && FlashDuration <= prof.FlashMax {
		return FlashDuration
	}
	mid := (prof.FlashMin + prof.FlashMax) / 2
	return mid - mid%pcm.FrameDuration
}

// SetFlash sets how long the flash button opens the loop (see FlashFor).
func (p *Phone) SetFlash(d time.Duration) {
	p.mu.Lock()
	p.flash = d
	p.mu.Unlock()
}

// SetHook moves the hook switch: "off" lifts the handset, "on" hangs up,
// "flash" opens the loop for the flash time (SetFlash) and closes it again (the phone must
// be off hook).
func (p *Phone) SetHook(state string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch state {
	case "off":
		if !p.offHook {
			p.offHook = true
			p.heardLen = 0
			p.rang, p.burst = false, false // answered: the ringing episode is over
		}
	case "on":
		p.offHook = false
		p.plan = p.plan[:0]
		p.planPos, p.planRun = 0, 0
		p.keypad = dsp.DTMFGen{}
	case "flash":
		if !p.offHook {
			return fmt.Errorf("flash: %w", ErrNotOffHook)
		}
		if len(p.plan) >= maxPlan {
			return errors.New("board/sim: flash: too many hook events pending")
		}
		p.schedule(hookSeg{open: true, frames: frames(p.flash)})
	default:
		return fmt.Errorf("board/sim: hook state %q: want off, on or flash", state)
	}
	return nil
}

// schedule appends segments to the hook plan; mu held.
func (p *Phone) schedule(segs ...hookSeg) {
	p.plan = append(p.plan, segs...)
}

// Dial dials digits in mode "dtmf" (the default when empty: keypad tones into
// the mouthpiece, DTMFOn/DTMFOff at DTMFLevel dBm0, digits 0-9 * # A-D) or
// "pulse" (loop breaks at 10 pulses per second, "0" is ten pulses, InterDigit
// between digits). The phone must be off hook. Invalid input queues nothing.
func (p *Phone) Dial(digits string, mode string) error {
	return p.dial(digits, mode, DTMFOn)
}

// dial is Dial with each DTMF key held for on.
func (p *Phone) dial(digits, mode string, on time.Duration) error {
	if digits == "" {
		return errors.New("board/sim: dial: no digits")
	}
	if len(digits) > MaxDialDigits {
		return fmt.Errorf("board/sim: dial: %d digits, at most %d", len(digits), MaxDialDigits)
	}
	var pulses []hookSeg
	switch mode {
	case "", "dtmf":
		for i := range len(digits) {
			if _, _, ok := dsp.DTMFFreqs(digits[i]); !ok {
				return fmt.Errorf("board/sim: dial: %q is not a dtmf digit", digits[i])
			}
		}
	case "pulse":
		for i := range len(digits) {
			c := digits[i]
			if c < '0' || c > '9' {
				return fmt.Errorf("board/sim: dial: %q cannot be pulse dialled", c)
			}
			n := int(c - '0')
			if n == 0 {
				n = 10
			}
			for k := range n {
				pulses = append(pulses, hookSeg{open: true, frames: frames(PulseBreak)})
				mk := frames(PulseMake)
				if k == n-1 {
					mk = frames(InterDigit)
				}
				pulses = append(pulses, hookSeg{frames: mk})
			}
		}
	default:
		return fmt.Errorf("board/sim: dial mode %q: want dtmf or pulse", mode)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.offHook {
		return fmt.Errorf("board/sim: dial: %w", ErrNotOffHook)
	}
	if pulses != nil {
		if len(p.plan)+len(pulses) > maxPlan {
			return errors.New("board/sim: dial: too many pulse digits pending")
		}
		p.schedule(pulses...)
		return nil
	}
	if err := p.keypad.Queue(digits, on, DTMFOff, DTMFLevel); err != nil {
		return fmt.Errorf("board/sim: dial: %w", err)
	}
	return nil
}

// DialDTMF keys digits on the keypad as Dial does in DTMF mode, holding
// each key down for on (40 ms to 2 s) instead of DTMFOn: a caller who was
// not understood presses longer.
func (p *Phone) DialDTMF(digits string, on time.Duration) error {
	if on < 40*time.Millisecond || on > 2*time.Second {
		return fmt.Errorf("board/sim: dial: a key held %v, want 40ms to 2s", on)
	}
	return p.dial(digits, "dtmf", on)
}

// Say sends the given tones (up to four) into the mouthpiece at levelDBFS in
// total, continuously while off hook, until called with no tones.
func (p *Phone) Say(tonesHz []float64, levelDBFS float64) error {
	if len(tonesHz) > 4 {
		return fmt.Errorf("board/sim: say: %d tones, at most 4", len(tonesHz))
	}
	for _, f := range tonesHz {
		if !(f > 0 && f < pcm.SampleRate/2) {
			return fmt.Errorf("board/sim: say: tone %v Hz out of range (0, %d)", f, pcm.SampleRate/2)
		}
	}
	if len(tonesHz) > 0 && (math.IsNaN(levelDBFS) || levelDBFS > 0 || levelDBFS < -120) {
		return fmt.Errorf("board/sim: say: level %v dBFS out of range [-120, 0]", levelDBFS)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(tonesHz) == 0 {
		p.say.Stop()
		return nil
	}
	p.say.PlayFreqs(tonesHz, levelDBFS)
	return nil
}

// Heard returns the last d of earpiece audio (clamped to what was recorded,
// at most what the phone keeps: HistoryDuration unless made with
// NewPhoneHistory), oldest sample first.
func (p *Phone) Heard(d time.Duration) []int16 {
	n := 0
	if d > 0 {
		n = durationSamples(min(d, HistoryDuration)) // the recording clamps to what it keeps
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastLocked(n)
}

// lastLocked copies out the last n recorded samples (fewer if not recorded).
func (p *Phone) lastLocked(n int) []int16 { return p.rec.last(n) }

// State reports the phone's state for the sim control API (FXS: Line is
// nil). Hook is the hook switch (a flash or a pulse break in progress still
// reads "off"); Ringing is true while ring voltage is on or was on within
// RingHold, and Rings counts bursts since ringing last started after a quiet
// line; CallerID is the last caller ID the phone decoded itself (Bell 202
// or V.23 FSK, or DTMF, on hook; FSK after a CAS off hook), kept until a
// ringing episode starts more than CallerIDKeep after it, and MWI is the
// lamp as the last VMWI message set it; DTMFHeard keeps the latest 256 digits heard since the phone last went
// off hook. The earpiece analysis covers the last HearingWindow.
func (p *Phone) State() simapi.Port {
	p.mu.Lock()
	st := simapi.Port{
		Port:        p.port,
		Kind:        simapi.KindFXS,
		Hook:        "on",
		Rings:       p.rings,
		LastRingMS:  int(p.lastRing / time.Millisecond),
		LastPauseMS: int(p.lastPause / time.Millisecond),
		DTMFHeard:   string(p.heard[:p.heardLen]),
		MWI:         p.mwi,
	}
	if p.callerID != nil {
		c := *p.callerID
		st.CallerID = &c
	}
	if p.offHook {
		st.Hook = "off"
	} else {
		st.Ringing = p.ringingLocked()
	}
	window := p.lastLocked(windowSamples)
	var recent []byte
	since := uint64(0)
	if w := uint64(frames(HearingWindow)); p.seq >= w {
		since = p.seq - w + 1
	}
	for i := range p.detLen {
		d := p.dets[(p.detPos-p.detLen+i+len(p.dets))%len(p.dets)]
		if d.seq >= since {
			recent = append(recent, d.digit)
		}
	}
	p.mu.Unlock()

	st.Hearing = simapi.Hearing{
		TonesHz:   dsp.DominantTones(window, 4),
		LevelDBFS: dsp.LevelDBFS(window),
		DTMF:      string(recent),
	}
	if st.Hearing.TonesHz == nil {
		st.Hearing.TonesHz = []float64{}
	}
	if l := st.Hearing.LevelDBFS; math.IsNaN(l) || math.IsInf(l, 0) {
		st.Hearing.LevelDBFS = -120
	}
	return st
}

// silent reports whether x holds only zeros.
func silent(x []int16) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}
