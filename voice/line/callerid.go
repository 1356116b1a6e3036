package line

import (
	"fmt"
	"slices"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/dsp"
)

// Caller is who an incoming call is from, as caller ID sends it.
type Caller struct {
	// Number is the caller's number (digits); "" when absent.
	Number string
	// Name is the caller's name; "" when absent.
	Name string
	// Private: the caller withheld the identity (sent as reason "P").
	Private bool
	// Unavailable: the network gave no number (sent as reason "O").
	Unavailable bool
}

// CallerIDConfig is a port's caller-ID setting over its country's.
type CallerIDConfig struct {
	// Off turns caller ID and message-waiting signals off on the port.
	Off bool
	// Standard replaces the country's standard: dsp.CallerIDBell202,
	// dsp.CallerIDV23 or dsp.CallerIDDTMF; "" keeps the country's.
	Standard string
	// Alert replaces the country's alerting (dsp.Alert*); "" keeps the
	// country's when the standard is the country's, else takes the
	// standard's usual one (after the first ring for FSK, before the
	// ring for DTMF).
	Alert string
}

// Caller-ID timing on the line.
const (
	// cidAfterRingGap: GR-30 starts the data at least 500 ms after the
	// first ring ends, and ends it at least 500 ms before the next.
	cidAfterRingGap = 500 * time.Millisecond
	// cidReversalGap is the pause after a line reversal before the
	// alerting tone or the data (BT SIN 227: at least 100 ms).
	cidReversalGap = 150 * time.Millisecond
	// cidDTASLen is the DT-AS length (EN 300 659-1: 80-100 ms).
	cidDTASLen = 90 * time.Millisecond
	// cidDTASGap is the pause between DT-AS and the data (SIN 227: 45-75 ms).
	cidDTASGap = 60 * time.Millisecond
	// cidRingPulse is the RP-AS burst (EN 300 659-1: 200-300 ms) and
	// cidRingPulseGap the pause after it before the data (500 ms - 2 s).
	cidRingPulse    = 250 * time.Millisecond
	cidRingPulseGap = 600 * time.Millisecond
	// cidBeforeRingGap is the pause between the data and the first ring
	// (EN 300 659-1: at least 200 ms).
	cidBeforeRingGap = 250 * time.Millisecond
	// cidDTMFOn and cidDTMFOff are a DTMF caller-ID digit's tone and gap.
	cidDTMFOn  = 70 * time.Millisecond
	cidDTMFOff = 70 * time.Millisecond
	// cidDTMFLevel is the DTMF caller-ID high-group level in dBm0.
	cidDTMFLevel = -9.0
	// cidAlertLevel is the DT-AS and CAS level per tone in dBm0.
	cidAlertLevel = -15.0
	// cidMaxAudio bounds the audio of one caller-ID job (steps included).
	cidMaxAudio = 4 * dsp.SampleRate
	// cidVMWIGap is the pause after the feed change before VMWI data.
	cidVMWIGap = 300 * time.Millisecond
)

// Longest name and number the standards carry (GR-30 MDMF: 15 name
// characters; ETSI: 20; numbers up to 20 digits).
const (
	cidMaxNameBell = 15
	cidMaxNameETSI = 20
	cidMaxNumber   = 20
)

// cidOp is one step of a caller-ID job.
type cidOp uint8

const (
	opFeed     cidOp = iota + 1 // set the linefeed to step.feed
	opWait                      // wait step.d
	opPlay                      // play cidAudio[step.a:step.b]
	opRing                      // ringing voltage step.on
	opCadence                   // start the ring cadence
	opMute                      // type II: mute the far end (step.on)
	opAwaitAck                  // type II: wait up to step.d for the phone's DTMF ACK
)

type cidStep struct {
	op   cidOp
	on   bool
	feed board.Linefeed
	d    time.Duration
	a, b int
}

// cidJob is what the running steps are for.
type cidJob uint8

const (
	jobNone cidJob = iota
	jobRing        // caller ID with an incoming call
	jobVMWI        // message-waiting indication on hook
	jobCW          // type II caller ID on a waiting call
)

const maxSteps = 16

// cid is a line's caller-ID and message-waiting sender.
type cid struct {
	std, alert string
	fsk        dsp.FSKStandard // FSK for caller ID and VMWI (V.23 for DTMF ports)
	clock      func() time.Time

	audio []int16 // the job's audio, built once per job
	steps [maxSteps]cidStep
	n, i  int
	at    time.Duration // start of the current step
	pos   int           // play position in audio
	job   cidJob
	armed bool // after-ring job waiting for its silent interval
	after int  // cadence segment after which the after-ring job starts
	feed  bool // the linefeed is not forward active
	muted bool // type II: far-end audio is muted
	acked bool // type II: the phone acknowledged
	pend  bool // VMWI change to send once idle
	ack   dsp.DTMFDetector
	ackD  [4]byte
}

// resolveCallerID picks the port's caller-ID standard and alerting from
// the country profile and the port's override.
func resolveCallerID(prof *dsp.Profile, o CallerIDConfig) (std, alert string, err error) {
	if o.Off {
		return dsp.CallerIDNone, "", nil
	}
	std, alert = prof.CallerID.Standard, prof.CallerID.Alert
	if o.Standard != "" && o.Standard != std {
		std = o.Standard
		alert = dsp.AlertAfterFirstRing
		if std == dsp.CallerIDDTMF {
			alert = dsp.AlertBeforeRing
		}
	}
	if o.Alert != "" {
		alert = o.Alert
	}
	switch std {
	case dsp.CallerIDNone:
		return std, "", nil
	case dsp.CallerIDBell202, dsp.CallerIDV23, dsp.CallerIDDTMF:
	default:
		return "", "", fmt.Errorf("caller id standard %q: want %s, %s or %s", std, dsp.CallerIDBell202, dsp.CallerIDV23, dsp.CallerIDDTMF)
	}
	switch alert {
	case "":
		alert = dsp.AlertAfterFirstRing
	case dsp.AlertAfterFirstRing, dsp.AlertLineReversalDTAS, dsp.AlertRingPulse, dsp.AlertBeforeRing:
	default:
		return "", "", fmt.Errorf("caller id alerting %q: want %s, %s, %s or %s", alert,
			dsp.AlertAfterFirstRing, dsp.AlertLineReversalDTAS, dsp.AlertRingPulse, dsp.AlertBeforeRing)
	}
	return std, alert, nil
}

// Check reports whether the override is valid for the profile (nil
// profile: "us").
func (o CallerIDConfig) Check(prof *dsp.Profile) error {
	if prof == nil {
		var err error
		if prof, err = dsp.LookupProfile("us"); err != nil {
			return err
		}
	}
	_, _, err := resolveCallerID(prof, o)
	return err
}

// cidTime is the MDMF date and time, MMDDhhmm, from the gateway clock.
func (c *cid) cidTime() string { return c.clock().Format("01021504") }

// message builds the on-hook MDMF call-setup message for caller.
func (c *cid) message(caller Caller) ([]byte, error) {
	m := dsp.CallerID{Type: dsp.CIDTypeMDMF, Time: c.cidTime()}
	maxName := cidMaxNameETSI
	if c.fsk == dsp.Bell202 {
		maxName = cidMaxNameBell
	}
	switch {
	case caller.Private:
		m.NumberAbsent, m.NameAbsent = 'P', 'P'
	case caller.Number == "" || caller.Unavailable:
		m.NumberAbsent = 'O'
	default:
		m.Number = trimTo(caller.Number, cidMaxNumber)
	}
	if !caller.Private {
		if caller.Name != "" {
			m.Name = trimTo(caller.Name, maxName)
		} else {
			m.NameAbsent = 'O'
		}
	}
	return m.Marshal()
}

func trimTo(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// reset forgets the job; the caller restores the feed.
func (c *cid) reset() {
	c.n, c.i, c.pos = 0, 0, 0
	c.job = jobNone
	c.armed = false
	c.muted = false
	c.audio = c.audio[:0]
}

func (c *cid) add(s cidStep) {
	if c.n < len(c.steps) {
		c.steps[c.n] = s
		c.n++
	}
}

// addAudio appends samples to the job's audio and returns their range.
// The buffer grows to the longest job the port has sent (none until its
// first caller ID: a port holds no 4 s buffer up front).
func (c *cid) addAudio(s []int16) (a, b int) {
	a = len(c.audio)
	c.audio = append(c.audio, s...)
	return a, len(c.audio)
}

// fskAudio renders msg as on-hook (or, offHook, type II) FSK.
func (c *cid) fskAudio(msg []byte, offHook bool) (a, b int, err error) {
	timing := dsp.CIDOnHook
	if offHook {
		timing = dsp.CIDOffHook
	}
	s, err := dsp.EncodeCallerIDFSK(c.fsk, msg, timing, dsp.CIDLevel)
	if err != nil {
		return 0, 0, err
	}
	a, b = c.addAudio(s)
	return a, b, nil
}

// dtmfAudio renders a DTMF caller-ID string.
func (c *cid) dtmfAudio(digits string) (a, b int, err error) {
	var g dsp.DTMFGen
	if err := g.Queue(digits, cidDTMFOn, cidDTMFOff, cidDTMFLevel); err != nil {
		return 0, 0, err
	}
	n := len(digits) * int((cidDTMFOn+cidDTMFOff)*dsp.SampleRate/time.Second)
	a = len(c.audio)
	if len(c.audio)+n > cidMaxAudio {
		return 0, 0, fmt.Errorf("dtmf caller id of %d samples is too long", n)
	}
	c.audio = slices.Grow(c.audio, n)[:a+n]
	g.Fill(c.audio[a:])
	return a, len(c.audio), nil
}

// planRing builds the caller-ID job for an incoming call; false when the
// port sends none (or the message cannot be built).
func (l *FXS) planRing(caller Caller) bool {
	c := &l.cid
	c.reset()
	if c.std == dsp.CallerIDNone {
		return false
	}
	var a, b int
	var err error
	if c.std == dsp.CallerIDDTMF {
		m := dsp.CallerID{Number: caller.Number}
		switch {
		case caller.Private:
			m.Number, m.NumberAbsent = "", 'P'
		case caller.Unavailable:
			m.Number, m.NumberAbsent = "", 'O'
		}
		var s string
		if s, err = dsp.EncodeCallerIDDTMF(&m); err == nil {
			a, b, err = c.dtmfAudio(s)
		}
	} else {
		var msg []byte
		if msg, err = c.message(caller); err == nil {
			a, b, err = c.fskAudio(msg, false)
		}
	}
	if err != nil {
		l.portError(fmt.Errorf("caller id: %w", err))
		c.reset()
		return false
	}
	data := cidStep{op: opPlay, a: a, b: b}
	dataLen := time.Duration(b-a) * time.Second / dsp.SampleRate
	switch c.alert {
	case dsp.AlertAfterFirstRing:
		// The first silent interval long enough for the data.
		need := 2*cidAfterRingGap + dataLen
		c.after = -1
		ring := l.pendingCadence()
		for i := 1; i < len(ring); i += 2 {
			if ring[i] >= need {
				c.after = i
				break
			}
		}
		if c.after < 0 {
			c.reset()
			return false
		}
		c.add(cidStep{op: opFeed, feed: board.FeedForwardOHT})
		c.add(cidStep{op: opWait, d: cidAfterRingGap})
		c.add(data)
		c.add(cidStep{op: opFeed, feed: board.FeedForwardActive})
		c.job, c.armed = jobRing, true
		return true
	case dsp.AlertLineReversalDTAS:
		da, db := c.addAudio(dsp.EncodeCAS(cidDTASLen, cidAlertLevel))
		c.add(cidStep{op: opFeed, feed: board.FeedReverseOHT})
		c.add(cidStep{op: opWait, d: cidReversalGap})
		c.add(cidStep{op: opPlay, a: da, b: db})
		c.add(cidStep{op: opWait, d: cidDTASGap})
	case dsp.AlertRingPulse:
		c.add(cidStep{op: opRing, on: true})
		c.add(cidStep{op: opWait, d: cidRingPulse})
		c.add(cidStep{op: opRing, on: false})
		c.add(cidStep{op: opFeed, feed: board.FeedForwardOHT})
		c.add(cidStep{op: opWait, d: cidRingPulseGap})
	case dsp.AlertBeforeRing:
		c.add(cidStep{op: opFeed, feed: board.FeedReverseOHT})
		c.add(cidStep{op: opWait, d: cidReversalGap})
	}
	c.add(data)
	c.add(cidStep{op: opWait, d: cidBeforeRingGap})
	c.add(cidStep{op: opFeed, feed: board.FeedForwardActive})
	c.add(cidStep{op: opCadence})
	c.job = jobRing
	return true
}

// planVMWI builds the on-hook message-waiting job for the lamp state on.
func (l *FXS) planVMWI(on bool) bool {
	c := &l.cid
	c.reset()
	if c.std == dsp.CallerIDNone {
		return false
	}
	msg, err := (&dsp.CallerID{Type: dsp.CIDTypeMDMFVMWI, Time: c.cidTime(), MessageWaiting: true, Waiting: on}).Marshal()
	var a, b int
	if err == nil {
		a, b, err = c.fskAudio(msg, false)
	}
	if err != nil {
		l.portError(fmt.Errorf("message waiting: %w", err))
		c.reset()
		return false
	}
	if c.fsk == dsp.Bell202 {
		c.add(cidStep{op: opFeed, feed: board.FeedForwardOHT})
		c.add(cidStep{op: opWait, d: cidVMWIGap})
	} else {
		// EN 300 659-1 data without ringing: line reversal and DT-AS.
		da, db := c.addAudio(dsp.EncodeCAS(cidDTASLen, cidAlertLevel))
		c.add(cidStep{op: opFeed, feed: board.FeedReverseOHT})
		c.add(cidStep{op: opWait, d: cidReversalGap})
		c.add(cidStep{op: opPlay, a: da, b: db})
		c.add(cidStep{op: opWait, d: cidDTASGap})
	}
	c.add(cidStep{op: opPlay, a: a, b: b})
	c.add(cidStep{op: opWait, d: 100 * time.Millisecond})
	c.add(cidStep{op: opFeed, feed: board.FeedForwardActive})
	c.job = jobVMWI
	c.at = l.now
	return true
}

// cidRunning reports whether a job is under way (not merely armed).
func (l *FXS) cidRunning() bool { return l.cid.job != jobNone && !l.cid.armed }

// cidStart starts the planned job's steps at now.
func (l *FXS) cidStart(now time.Duration) {
	l.cid.armed = false
	l.cid.i = 0
	l.cid.at = now
	l.cid.pos = l.cid.steps[0].a
}

// cidAbort ends the job at once, restoring the feed; a VMWI job is sent
// again later.
func (l *FXS) cidAbort() {
	c := &l.cid
	if c.job == jobNone {
		return
	}
	if c.job == jobVMWI {
		c.pend = true
	}
	c.reset()
	if c.feed {
		l.setFeed(board.FeedForwardActive)
	}
}

func (l *FXS) setFeed(f board.Linefeed) {
	if err := l.port.SetLinefeed(f); err != nil {
		l.portError(err)
	}
	l.cid.feed = f != board.FeedForwardActive
}

// cidTick runs the job's steps for the frame at now, writing its audio
// into playout. It returns whether it wrote playout. It does not allocate.
func (l *FXS) cidTick(now time.Duration, capture, playout []int16) bool {
	c := &l.cid
	frameLen := time.Duration(len(playout)) * time.Second / dsp.SampleRate
	for c.job != jobNone && !c.armed && c.i < c.n {
		s := &c.steps[c.i]
		switch s.op {
		case opFeed:
			l.setFeed(s.feed)
		case opRing:
			l.setRinging(s.on)
			if !s.on {
				c.feed = false // the port leaves ringing in forward active
			}
		case opCadence:
			l.ringLive = true
			l.ringSeg = 0
			l.cadence = l.ringCadence()
			l.ringEdge = now + l.cadence[0]
			l.setRinging(true)
			c.feed = false
		case opMute:
			c.muted = s.on
		case opWait:
			if now-c.at < s.d {
				return false
			}
		case opAwaitAck:
			if !c.acked && len(capture) > 0 {
				for _, d := range c.ack.Process(capture, c.ackD[:0]) {
					if d == 'D' || d == 'A' {
						c.acked = true
					}
				}
			}
			if !c.acked {
				if now-c.at < s.d {
					return false
				}
				// No acknowledgement: the phone cannot show the data.
				c.muted = false
				c.reset()
				return false
			}
		case opPlay:
			n := copy(playout, c.audio[c.pos:s.b])
			clear(playout[n:])
			c.pos += n
			if c.pos >= s.b {
				c.i++
				c.at = now + frameLen
				if c.i < c.n {
					c.pos = c.steps[c.i].a
				}
			}
			return true
		}
		c.i++
		c.at = now
		if c.i < c.n {
			c.pos = c.steps[c.i].a
		}
	}
	if c.job != jobNone && !c.armed && c.i >= c.n {
		c.reset()
	}
	return false
}

// Type II (off-hook) caller-ID timing: CAS of 80 ms (GR-30: 75-85 ms),
// then up to 160 ms for the phone's DTMF acknowledgement (GR-30 allows
// 100 ms after CAS; a little more covers the detector's delay).
const (
	cwCASLen  = 80 * time.Millisecond
	cwAckWait = 160 * time.Millisecond
)

// CallWaitingID sends type II caller ID for a call waiting behind the one
// in progress: it mutes the far end, plays CAS, waits for the phone's
// DTMF acknowledgement (D, or A from some ETSI phones) and, when it comes,
// sends the FSK MDMF message, then restores the speech path. Without an
// acknowledgement no data goes out. It reports whether it started (false:
// the line is not talking, the port sends no caller ID, or a job runs).
// DTMF caller-ID ports send V.23.
func (l *FXS) CallWaitingID(caller Caller) bool {
	c := &l.cid
	if l.st != StateTalking || !l.offHook || c.std == dsp.CallerIDNone || c.job != jobNone {
		return false
	}
	c.reset()
	msg, err := c.message(caller)
	var a, b int
	if err == nil {
		a, b, err = c.fskAudio(msg, true)
	}
	if err != nil {
		l.portError(fmt.Errorf("call waiting caller id: %w", err))
		c.reset()
		return false
	}
	ca, cb := c.addAudio(dsp.EncodeCAS(cwCASLen, cidAlertLevel))
	c.ack.Reset()
	c.acked = false
	c.add(cidStep{op: opMute, on: true})
	c.add(cidStep{op: opPlay, a: ca, b: cb})
	c.add(cidStep{op: opAwaitAck, d: cwAckWait})
	c.add(cidStep{op: opPlay, a: a, b: b})
	c.add(cidStep{op: opMute, on: false})
	c.job = jobCW
	c.muted = true
	l.cidStart(l.now)
	return true
}
