package sim

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/drivers/pcm"
	fxomodel "github.com/loopstart/loopstart/drivers/si3050/model"
	"github.com/loopstart/loopstart/dsp"
)

// Central office line electrical and timing constants.
const (
	// COBattery is the on-hook line voltage.
	COBattery = 48.0
	// COOffHookVolts is the voltage across a seized DAA; COLoopMA its loop
	// current. A parallel phone off hook halves the current and, on hook,
	// pulls the line down to COExtensionVolts.
	COOffHookVolts   = 8.0
	COLoopMA         = 30.0
	COExtensionVolts = 9.0
	// CORingVrms and CORingHz are the ringing signal (North American).
	CORingVrms = 86.0
	CORingHz   = 20.0
	// COCIDDelay is the pause after the first ring burst before caller ID
	// FSK starts (GR-30-CORE: at least 500 ms).
	COCIDDelay = 500 * time.Millisecond
	// COHangupBreak is the loop-current break (open-loop disconnect, "CPC")
	// the office sends when the far end hangs up a connected call.
	COHangupBreak = 800 * time.Millisecond
	// COMaxRings is how many bursts the office rings before giving up.
	COMaxRings = 20
)

// ErrLineState is returned (wrapped) by a PSTN action the line's state does
// not allow.
var ErrLineState = errors.New("board/sim: pstn action not possible now")

// Central office line states.
const (
	LineIdle      = "idle"
	LineRinging   = "ringing"
	LineOffHook   = "offhook"
	LineConnected = "connected"
)

// CentralOffice is the virtual PSTN line on the FXO port: battery, dial tone,
// ringing with cadence and Bell 202 caller ID, answer and disconnect
// supervision by polarity reversal and loop-current break, a parallel
// extension phone, DTMF digit reception and a far party that can send tones.
// It is the Si3050 model's Line; the sim control API drives it with PSTN
// actions. All methods are safe for concurrent use.
type CentralOffice struct {
	port int
	mu   sync.Mutex

	seq      uint64
	state    string
	daaOff   bool
	reversed bool
	battery  bool
	ext      bool
	breakTo  uint64 // battery break (hangup CPC) until this frame

	// Ringing.
	cadence   []int // frames on, off, ...
	ringStart uint64
	rings     int
	ringOn    bool
	cid       *simapi.CallerID
	cidAudio  []int16
	cidPos    int
	cidStart  uint64 // frame the FSK starts; 0 = not scheduled

	// Country.
	ringHz float64
	busyTn dsp.Tone
	noDial bool // the office gives no dial tone

	// Audio.
	dial   dsp.ToneGen
	dialTn dsp.Tone
	say    dsp.ToneGen
	keypad dsp.DTMFGen
	det    *dsp.DTMFDetector
	detOut [16]byte
	digits []byte
	rec    recording // what the far party heard (recording.go)
}

var _ fxomodel.Line = (*CentralOffice)(nil)

// NewCentralOffice returns an idle line with battery for port n, with US
// ring cadence and dial tone, that keeps HistoryDuration of what the far
// party heard.
func NewCentralOffice(n int) *CentralOffice { return NewCentralOfficeHistory(n, HistoryDuration) }

// NewCentralOfficeHistory is NewCentralOffice keeping history (clamped
// to HistoryMin–HistoryDuration) of what the far party heard.
func NewCentralOfficeHistory(n int, history time.Duration) *CentralOffice {
	co := &CentralOffice{port: n, state: LineIdle, battery: true, ringHz: CORingHz,
		det: dsp.NewDTMFDetector(), rec: historyRecording(history), digits: make([]byte, 0, 64)}
	if err := co.SetCountry("us"); err != nil {
		co.cadence = []int{200, 400}
	}
	return co
}

// SetCountry makes the office ring with the country's cadence and ring
// frequency and send its dial and busy tones.
func (co *CentralOffice) SetCountry(country string) error {
	prof, err := dsp.LookupProfile(country)
	if err != nil {
		return fmt.Errorf("board/sim: central office: %w", err)
	}
	var cad []int
	for _, d := range prof.RingCadence {
		cad = append(cad, max(frames(d), 1))
	}
	if len(cad)%2 == 1 {
		cad = append(cad, frames(4*time.Second))
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	co.dialTn, co.busyTn = prof.Dial, prof.Busy
	co.cadence = cad
	if prof.RingHz > 0 {
		co.ringHz = prof.RingHz
	}
	return nil
}

// Condition implements the Si3050 model's Line; it also advances the
// office's state machine to frame seq.
func (co *CentralOffice) Condition(seq uint64, offHook bool) fxomodel.Condition {
	co.mu.Lock()
	defer co.mu.Unlock()
	co.step(seq, offHook)
	c := co.conditionLocked()
	if !offHook && co.ringOn && c.Volts != 0 {
		c.RingVrms, c.RingHz = CORingVrms, co.ringHz
	}
	return c
}

// step runs the office at frame seq. mu held.
func (co *CentralOffice) step(seq uint64, offHook bool) {
	co.seq = seq
	if offHook != co.daaOff {
		co.daaOff = offHook
		switch {
		case offHook && co.state == LineRinging:
			co.state = LineConnected // the call is answered
			co.stopRinging()
		case offHook:
			co.state = LineOffHook
			co.digits = co.digits[:0]
			co.det.Reset()
			if !co.noDial {
				co.dial.Play(&co.dialTn)
			}
		default:
			co.state = LineIdle
			co.dial.Stop()
			if co.reversed {
				co.reversed = false // the office restores normal polarity
			}
		}
	}
	if co.state != LineRinging || seq < co.ringStart {
		return
	}
	// Ring cadence.
	el := int(seq - co.ringStart)
	period := 0
	for _, f := range co.cadence {
		period += f
	}
	pos := el % period
	on := false
	for i, acc := 0, 0; i < len(co.cadence); i++ {
		acc += co.cadence[i]
		if pos < acc {
			on = i%2 == 0
			break
		}
	}
	if on && !co.ringOn {
		co.rings++
		if co.rings > COMaxRings {
			co.state = LineIdle
			co.stopRinging()
			return
		}
	}
	if !on && co.ringOn && co.rings == 1 && co.cidAudio != nil && co.cidStart == 0 {
		co.cidStart = seq + uint64(frames(COCIDDelay))
	}
	co.ringOn = on
}

func (co *CentralOffice) stopRinging() {
	co.ringOn = false
	co.cidAudio, co.cidPos, co.cidStart = nil, 0, 0
}

// Audio implements the Si3050 model's Line: the office sends dial tone, the
// far party's tones and DTMF, or caller ID (on hook) towards the DAA, and
// listens to what the DAA sends: DTMF digits and the far party's earpiece.
func (co *CentralOffice) Audio(seq uint64, offHook bool, toLine, fromLine []int16) {
	co.mu.Lock()
	defer co.mu.Unlock()
	switch {
	case !offHook:
		if co.cidAudio != nil && co.cidStart != 0 && seq >= co.cidStart && co.cidPos < len(co.cidAudio) {
			co.cidPos += copy(fromLine, co.cidAudio[co.cidPos:])
		}
	case co.battery && seq >= co.breakTo:
		co.dial.Fill(fromLine)
		co.say.Add(fromLine)
		co.keypad.Add(fromLine)
	}
	if offHook {
		co.rec.write(toLine)
	}
	if offHook && (co.state == LineOffHook || co.state == LineConnected) {
		for _, d := range co.det.Process(toLine, co.detOut[:0]) {
			if len(co.digits) < cap(co.digits) {
				co.digits = append(co.digits, d)
			}
			co.dial.Stop() // first digit ends dial tone
		}
	}
}

// PSTN performs an action of the far side of the line: "ring" (an incoming
// call, with optional caller ID sent as Bell 202 FSK after the first ring),
// "answer" (the called party answers a call the DAA dialed: polarity
// reversal), "hangup" (the far party ends the call: ringing stops, or a
// connected call gets a loop-current break), "reverse" (flip polarity),
// "disconnect"/"reconnect" (cut and restore battery), "extension-off" /
// "extension-on" (a parallel phone picks up / hangs up).
func (co *CentralOffice) PSTN(action string, cid *simapi.CallerID) error {
	return co.PSTNSignal(action, "", cid)
}

// Hangup signals (PSTNSignal): how the office tells the DAA the far party
// hung up a call.
const (
	// SignalCPC breaks the loop current (calling party control) and keeps
	// the polarity.
	SignalCPC = "cpc"
	// SignalReversal reverses the line's polarity.
	SignalReversal = "reversal"
	// SignalBusy sends the country's busy tone.
	SignalBusy = "busy"
	// SignalNone only goes silent.
	SignalNone = "none"
)

// PSTNSignal is PSTN with, for "hangup" of a call, the signal the office
// sends: SignalCPC, SignalReversal, SignalBusy or SignalNone; "" is the
// classic hangup (a loop-current break that also restores polarity). A
// "ring" caller ID goes out per its Standard: Bell 202 (default) or V.23
// FSK after the first ring, or DTMF before it.
func (co *CentralOffice) PSTNSignal(action, signal string, cid *simapi.CallerID) error {
	var fsk []int16
	beforeRing := false
	if action == "ring" && cid != nil {
		var err error
		if fsk, beforeRing, err = cidSignal(cid); err != nil {
			return err
		}
	}
	switch signal {
	case "", SignalCPC, SignalReversal, SignalBusy, SignalNone:
	default:
		return fmt.Errorf("board/sim: hangup signal %q: want cpc, reversal, busy or none", signal)
	}
	if signal != "" && action != "hangup" {
		return fmt.Errorf("board/sim: a signal goes with hangup only, not %q", action)
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	if action == "hangup" && signal != "" && (co.state == LineConnected || co.state == LineOffHook) {
		co.state = LineOffHook
		co.say.Stop()
		co.keypad = dsp.DTMFGen{}
		co.dial.Stop()
		switch signal {
		case SignalCPC:
			co.breakTo = co.seq + 1 + uint64(frames(COHangupBreak))
		case SignalReversal:
			co.reversed = !co.reversed
		case SignalBusy:
			co.dial.Play(&co.busyTn)
		}
		return nil
	}
	switch action {
	case "ring":
		if co.state != LineIdle || co.daaOff {
			return fmt.Errorf("%w: ring while the line is %s", ErrLineState, co.state)
		}
		if !co.battery {
			return fmt.Errorf("%w: ring on a disconnected line", ErrLineState)
		}
		co.state, co.ringStart, co.rings, co.ringOn = LineRinging, co.seq+1, 0, false
		co.cid, co.cidAudio, co.cidPos, co.cidStart = nil, fsk, 0, 0
		if beforeRing {
			// DTMF caller ID goes out before the first ring.
			co.cidStart = co.seq + 1
			co.ringStart = co.cidStart + uint64(frames(time.Duration(len(fsk))*time.Second/pcm.SampleRate+COCIDDelay))
		}
		if cid != nil {
			c := *cid
			co.cid = &c
		}
	case "answer":
		if co.state != LineOffHook {
			return fmt.Errorf("%w: answer while the line is %s (the DAA must be off hook and have dialed)", ErrLineState, co.state)
		}
		co.state = LineConnected
		co.dial.Stop()
		co.reversed = !co.reversed // answer supervision
	case "hangup":
		switch co.state {
		case LineRinging:
			co.state = LineIdle
			co.stopRinging()
		case LineConnected, LineOffHook:
			co.state = LineOffHook
			co.dial.Stop()
			co.say.Stop()
			co.reversed = false
			co.breakTo = co.seq + 1 + uint64(frames(COHangupBreak))
		default:
			return fmt.Errorf("%w: hangup while the line is %s", ErrLineState, co.state)
		}
	case "reverse":
		co.reversed = !co.reversed
	case "disconnect":
		co.battery = false
		if co.state == LineRinging {
			co.state = LineIdle
			co.stopRinging()
		}
	case "reconnect":
		co.battery = true
	case "extension-off":
		co.ext = true
	case "extension-on":
		co.ext = false
	case "dial-tone-off":
		co.noDial = true
		co.dial.Stop()
	case "dial-tone-on":
		co.noDial = false
	default:
		return fmt.Errorf("board/sim: pstn action %q: want ring, answer, hangup, reverse, disconnect, reconnect, extension-off, extension-on, dial-tone-off or dial-tone-on", action)
	}
	return nil
}

// Say makes the far party send tones (up to four, levelDBFS in total) while
// the DAA is off hook; no tones is silence.
func (co *CentralOffice) Say(tonesHz []float64, levelDBFS float64) error {
	if len(tonesHz) > 4 {
		return fmt.Errorf("board/sim: say: %d tones, at most 4", len(tonesHz))
	}
	for _, f := range tonesHz {
		if !(f > 0 && f < pcm.SampleRate/2) {
			return fmt.Errorf("board/sim: say: tone %v Hz out of range", f)
		}
	}
	if len(tonesHz) > 0 && (math.IsNaN(levelDBFS) || levelDBFS > 0 || levelDBFS < -120) {
		return fmt.Errorf("board/sim: say: level %v dBFS out of range [-120, 0]", levelDBFS)
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	if len(tonesHz) == 0 {
		co.say.Stop()
	} else {
		co.say.PlayFreqs(tonesHz, levelDBFS)
	}
	return nil
}

// Dial makes the far party send DTMF digits towards the DAA.
func (co *CentralOffice) Dial(digits string) error {
	co.mu.Lock()
	defer co.mu.Unlock()
	if err := co.keypad.Queue(digits, DTMFOn, DTMFOff, DTMFLevel); err != nil {
		return fmt.Errorf("board/sim: pstn dial: %w", err)
	}
	return nil
}

// Heard returns the last d of what the far party heard from the DAA.
func (co *CentralOffice) Heard(d time.Duration) []int16 {
	n := durationSamples(min(max(d, 0), HistoryDuration)) // the recording clamps to what it keeps
	co.mu.Lock()
	defer co.mu.Unlock()
	return co.rec.last(n)
}

// State reports the FXO port for the sim control API: the line (its state,
// the digits the office received since the line was last seized, the
// voltage and loop current the DAA sees), the DAA's hook, the ringing and
// caller ID the office sends, and what the far party heard.
func (co *CentralOffice) State() simapi.Port {
	co.mu.Lock()
	st := simapi.Port{Port: co.port, Kind: simapi.KindFXO, Hook: "on", Ringing: co.state == LineRinging, Rings: co.rings,
		Line: &simapi.Line{State: co.state, Digits: string(co.digits), Polarity: "normal", Battery: co.battery, Extension: co.ext}}
	if co.daaOff {
		st.Hook = "off"
	}
	if co.cid != nil {
		c := *co.cid
		st.CallerID = &c
	}
	if co.reversed {
		st.Line.Polarity = "reversed"
	}
	cond := co.conditionLocked()
	st.Line.Volts, st.Line.LoopMA = cond.Volts, cond.LoopMA
	co.mu.Unlock()
	window := co.Heard(HearingWindow)
	st.Hearing = simapi.Hearing{TonesHz: dsp.DominantTones(window, 4), LevelDBFS: dsp.LevelDBFS(window)}
	if st.Hearing.TonesHz == nil {
		st.Hearing.TonesHz = []float64{}
	}
	if l := st.Hearing.LevelDBFS; math.IsNaN(l) || math.IsInf(l, 0) {
		st.Hearing.LevelDBFS = -120
	}
	return st
}

// conditionLocked is Condition without advancing time. mu held.
func (co *CentralOffice) conditionLocked() fxomodel.Condition {
	sign := 1.0
	if co.reversed {
		sign = -1
	}
	switch {
	case !co.battery || co.seq < co.breakTo:
		return fxomodel.Condition{}
	case co.daaOff && co.ext:
		return fxomodel.Condition{Volts: sign * COOffHookVolts, LoopMA: COLoopMA / 2}
	case co.daaOff:
		return fxomodel.Condition{Volts: sign * COOffHookVolts, LoopMA: COLoopMA}
	case co.ext:
		return fxomodel.Condition{Volts: sign * COExtensionVolts}
	}
	return fxomodel.Condition{Volts: sign * COBattery}
}

// cidSignal renders a caller ID for the office's ringing: the audio and
// whether it goes before the first ring (DTMF) or after it (FSK).
func cidSignal(cid *simapi.CallerID) ([]int16, bool, error) {
	tm := cid.Time
	if tm == "" {
		tm = time.Now().Format("01021504")
	}
	m := &dsp.CallerID{Type: dsp.CIDTypeMDMF, Time: tm, Number: cid.Number, Name: cid.Name}
	switch {
	case cid.Private:
		m.Number, m.NumberAbsent = "", 'P'
	case cid.Unavailable:
		m.Number, m.NumberAbsent = "", 'O'
	}
	switch cid.Standard {
	case "", dsp.CallerIDBell202, dsp.CallerIDV23:
		std := dsp.Bell202
		if cid.Standard == dsp.CallerIDV23 {
			std = dsp.V23
		}
		msg, err := m.Marshal()
		if err != nil {
			return nil, false, fmt.Errorf("board/sim: caller id: %w", err)
		}
		fsk, err := dsp.EncodeCallerIDFSK(std, msg, dsp.CIDOnHook, dsp.CIDLevel)
		if err != nil {
			return nil, false, fmt.Errorf("board/sim: caller id: %w", err)
		}
		return fsk, false, nil
	case dsp.CallerIDDTMF:
		digits, err := dsp.EncodeCallerIDDTMF(m)
		if err != nil {
			return nil, false, fmt.Errorf("board/sim: caller id: %w", err)
		}
		var g dsp.DTMFGen
		if err := g.Queue(digits, DTMFOn, DTMFOff, DTMFLevel); err != nil {
			return nil, false, fmt.Errorf("board/sim: caller id: %w", err)
		}
		out := make([]int16, len(digits)*int((DTMFOn+DTMFOff)/time.Millisecond)*8+800)
		g.Fill(out)
		return out, true, nil
	}
	return nil, false, fmt.Errorf("board/sim: caller id standard %q: want bell202, v23 or dtmf", cid.Standard)
}
