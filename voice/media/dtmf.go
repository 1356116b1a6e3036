package media

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// RFC 4733 telephone-events, both ways, when the call negotiated them
// (Session.DTMFPT). Sending: the phone's capture runs through a DTMF
// detector; a detected digit becomes an event (first packet with the
// marker bit, an update every 20 ms, the final packet with the E bit sent
// three times) and the audio is muted from the detection until the tone
// has stopped, so the digit does not also travel in band. The detector needs
// about 30 ms of tone to be sure, so a quick one-frame test mutes any
// frame that looks like a DTMF pair before that (and the not yet sent part
// of the current packet): at most the tone's first, partial frame goes out
// in band, far shorter than a DTMF receiver accepts. Frames the detector
// does not confirm within 60 ms pass again (talk-off).
// Receiving: an event is played to the phone as the digit's tone pair
// (dsp.DTMFGen, at the event's volume) for at least 100 ms and as long as
// the sender's updates keep it going. While a digit plays to the phone,
// and for dtmfEchoFrames after, the detector's digits are dropped: the
// line's echo of the played tone is not the phone keying it.

// dtmfEventKeys maps RFC 4733 event codes 0..15 to keys.
const dtmfEventKeys = "0123456789*#ABCD"

// dtmf timing, in frames (10 ms) unless said otherwise.
const (
	dtmfUpdateFrames = 2                      // an update every 20 ms
	dtmfEndRepeats   = 3                      // the final packet is sent three times
	dtmfQuietFrames  = 2                      // frames without the tone that end an event
	dtmfFirstPlay    = 100 * time.Millisecond // a received event plays at least this long
	dtmfMorePlay     = 50 * time.Millisecond  // then in steps of this while it lasts
	// dtmfPause separates a digit from one still playing: a received
	// event can begin before the last one's tone has run out (its end
	// came late, or the far end sends digits closer than we play them),
	// and two tones without a pause read as one key on the line (ITU-T
	// Q.24 asks for at least 40 ms between digits).
	dtmfPause       = 50 * time.Millisecond
	dtmfRxTimeout   = 20     // frames without an update that end a received event
	dtmfMaxDuration = 0xffff // the 16-bit duration field, in samples
	// dtmfSettleFrames: digits detected in a call's first 100 ms are
	// muted but not sent — the tail of the key that ended dialing (#)
	// is still on the line when the far end answers at once.
	dtmfSettleFrames = 10
	// dtmfEchoFrames: a digit played to the phone comes back in the
	// capture as line echo (before the echo canceller has converged,
	// or without one) for up to the longest echo tail, 128 ms.
	dtmfEchoFrames = 13
)

// dtmfSuspectFrames bounds the muting of DTMF-like frames that the
// detector does not confirm (60 ms).
const dtmfSuspectFrames = 6

// dtmfCoef are the Goertzel coefficients (2 cos ω) of the eight DTMF
// frequencies: four low-group, four high-group.
var dtmfCoef = func() (c [8]float64) {
	for i, f := range [8]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633} {
		c[i] = 2 * math.Cos(2*math.Pi*f/pcm.SampleRate)
	}
	return c
}()

// looksLikeDTMF reports whether a frame's energy sits mostly in one
// low-group and one high-group DTMF frequency (a quick, one-frame test;
// the detector decides).
// All eight Goertzel filters run in one pass over the frame; each share
// is what toneShare gives for its frequency.
func looksLikeDTMF(x []int16) bool {
	var s1, s2 [8]float64
	var total float64
	// Two passes of four filters, each filter's state in registers (eight
	// at once spill to memory on amd64); every filter's arithmetic is as it
	// was, sample by sample.
	for half := 0; half < 8; half += 4 {
		c0, c1, c2, c3 := dtmfCoef[half], dtmfCoef[half+1], dtmfCoef[half+2], dtmfCoef[half+3]
		var a1, a2, b1, b2, d1, d2, e1, e2 float64
		for _, v := range x {
			f := float64(v)
			if half == 0 {
				total += f * f
			}
			a1, a2 = f+c0*a1-a2, a1
			b1, b2 = f+c1*b1-b2, b1
			d1, d2 = f+c2*d1-d2, d1
			e1, e2 = f+c3*e1-e2, e1
		}
		s1[half], s1[half+1], s1[half+2], s1[half+3] = a1, b1, d1, e1
		s2[half], s2[half+1], s2[half+2], s2[half+3] = a2, b2, d2, e2
	}
	if total < float64(len(x))*toneFloor {
		return false
	}
	var lo, hi float64
	for i, c := range dtmfCoef {
		sh := 2 * (s1[i]*s1[i] + s2[i]*s2[i] - c*s1[i]*s2[i]) / (float64(len(x)) * total)
		if i < 4 {
			lo = max(lo, sh)
		} else {
			hi = max(hi, sh)
		}
	}
	return lo > 0.15 && hi > 0.15 && lo+hi > 0.6
}

// echoTalkOff reports whether the far end's own audio explains the digit
// key detected in capture: one of its two tones is at least as strong in
// what the line plays (the canceller's reference) as in what it captures.
// An echo always comes back weaker than what was played, whereas a key
// pressed on the phone is far stronger in the capture; so the phone's
// voice over the echo of a far-end tone near a DTMF frequency (an
// unconverged or disabled canceller) is not taken for a digit.
func (s *Stream) echoTalkOff(key byte, capture []int16) bool {
	e := &s.echo
	if !e.haveRef {
		return false
	}
	lo, hi, ok := dsp.DTMFFreqs(key)
	if !ok {
		return false
	}
	ref := e.ref[:min(len(capture), len(e.ref))]
	for _, f := range [2]float64{lo, hi} {
		c := 2 * math.Cos(2*math.Pi*f/pcm.SampleRate)
		if tonePower(ref, c) >= tonePower(capture, c) {
			return true
		}
	}
	return false
}

// tonePower is the power of x at the Goertzel coefficient c, per sample.
func tonePower(x []int16, c float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(x)*len(x))
}

// eventCode returns the RFC 4733 event code of key, or -1.
func eventCode(key byte) int {
	for i := range len(dtmfEventKeys) {
		if dtmfEventKeys[i] == key {
			return i
		}
	}
	return -1
}

// dtmfState is a stream's telephone-event state, owned by the loop.
type dtmfState struct {
	// Sending.
	det      dsp.DTMFDetector
	found    [8]byte
	txOn     bool
	txEvent  uint8
	txTS     uint32 // timestamp of the event (segment) start
	txDur    uint32 // samples since the start
	txFrames int
	txFirst  bool
	txEnds   int    // final packets still to send
	age      int    // frames since the call's media started (saturates)
	txSilent bool   // the digit in progress is muted but not sent
	txFixed  uint32 // SendEvent: the event's length in samples; 0 for a detected digit
	suspect  int    // consecutive frames that look like DTMF before detection
	quiet    int
	cLow     float64 // Goertzel coefficients of the held digit's tones
	cHigh    float64
	silence  [pcm.FrameSamples]int16
	payload  [4]byte

	// Receiving.
	gen     dsp.DTMFGen
	rxOn    bool
	rxCode  int
	rxTS    uint32
	rxHave  bool // rxTS is a known event
	rxEnded bool
	rxLevel float64
	rxIdle  int
	echo    int  // frames during which detected digits are the played one's echo
	echoKey byte // the digit played last: its echo is what echo guards against
}

// reset forgets any event in progress (new call).
func (d *dtmfState) reset() {
	d.det.Reset()
	d.txOn, d.txEnds, d.quiet, d.age, d.suspect, d.txFixed = false, 0, 0, 0, 0, 0
	d.rxOn, d.rxHave, d.rxEnded, d.echo = false, false, false, 0
	d.gen = dsp.DTMFGen{}
}

// dtmfCapture runs the detector on a captured frame, sends event packets
// and returns what the packetizer should take: the frame, or silence
// while an event runs. Loop goroutine; no allocation.
func (s *Stream) dtmfCapture(capture []int16) []int16 {
	d := &s.dtmf
	if d.age < dtmfSettleFrames {
		d.age++
	}
	echo := d.echo > 0
	if echo && !d.gen.Busy() {
		d.echo--
	}
	for _, key := range d.det.Process(capture, d.found[:0]) {
		code := eventCode(key)
		if code < 0 || d.txOn {
			continue // not a digit, or one already sent
		}
		if echo && key == d.echoKey || s.echoTalkOff(key, capture) {
			s.dtmfEchoes.Add(1) // the far end's digit's echo, or its tones' echo
			continue
		}
		// A digit in the call's first 100 ms is the tail of the key
		// that ended dialing: muted, but not sent.
		d.txSilent = d.age < dtmfSettleFrames
		lo, hi, _ := dsp.DTMFFreqs(key)
		d.cLow = 2 * math.Cos(2*math.Pi*lo/pcm.SampleRate)
		d.cHigh = 2 * math.Cos(2*math.Pi*hi/pcm.SampleRate)
		d.txOn, d.txEvent, d.txFirst = true, uint8(code), true
		d.txTS = s.ts + uint32(s.accN)
		d.txDur, d.txFrames, d.quiet, d.txEnds = 0, 0, 0, 0
		// The part of the current packet not sent yet holds the tone's
		// start: mute it.
		clear(s.acc[:s.accN])
	}
	if d.txEnds > 0 {
		// The final packet's repeats, one per frame.
		s.sendEvent(true)
		d.txEnds--
		return d.silence[:len(capture)]
	}
	if d.txFixed > 0 {
		s.fixedEvent(len(capture))
		return capture
	}
	if !d.txOn {
		// Before the detector is sure (about 30 ms), mute any frame that
		// looks like a DTMF pair, so at most the tone's first frame goes
		// out in band. Speech rarely looks like one for long: if the
		// detector has not confirmed within dtmfSuspectFrames, the audio
		// passes again (talk-off costs at most that much muting). The
		// line's echo of a digit we play stays muted as long as it lasts:
		// sent on in band, the far end would hear it and, on a line with
		// an echo of its own, key it back as a digit of its own.
		if looksLikeDTMF(capture) {
			d.suspect++
			if d.suspect == 1 {
				clear(s.acc[:s.accN])
			}
			if d.suspect <= dtmfSuspectFrames || echo {
				return d.silence[:len(capture)]
			}
		} else {
			d.suspect = 0
		}
		return capture
	}
	d.suspect = 0
	d.txDur += uint32(len(capture))
	if toneShare(capture, d.cLow)+toneShare(capture, d.cHigh) < 0.5 {
		d.quiet++
	} else {
		d.quiet = 0
	}
	if d.quiet >= dtmfQuietFrames {
		d.txOn = false
		switch {
		case d.txSilent:
		case s.sess.OnDigit != nil:
			s.sess.OnDigit(dtmfEventKeys[d.txEvent], time.Duration(d.txDur)*time.Second/pcm.SampleRate)
			s.dtmfSent.Add(1)
		default:
			s.sendEvent(true)
			d.txEnds = dtmfEndRepeats - 1
			s.dtmfSent.Add(1)
		}
		return d.silence[:len(capture)]
	}
	if d.txSilent || s.sess.OnDigit != nil {
		return d.silence[:len(capture)]
	}
	if d.txDur > dtmfMaxDuration-uint32(dtmfUpdateFrames*pcm.FrameSamples) {
		// A long press: end this segment and start the next one
		// (RFC 4733 2.5.2.3) — same event, new timestamp, no marker.
		s.sendEvent(true)
		d.txTS += d.txDur
		d.txDur = 0
	}
	d.txFrames++
	if d.txFirst || d.txFrames%dtmfUpdateFrames == 0 {
		s.sendEvent(false)
		d.txFirst = false
	}
	return d.silence[:len(capture)]
}

// sendEvent sends one telephone-event packet for the event in progress.
func (s *Stream) sendEvent(end bool) {
	d := &s.dtmf
	p := &d.payload
	p[0] = d.txEvent
	p[1] = 10 // volume: -10 dBm0
	if end {
		p[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], uint16(min(d.txDur, dtmfMaxDuration)))
	s.hdr.Version = 2
	s.hdr.PayloadType = s.sess.DTMFPT
	s.hdr.SequenceNumber = s.seq
	s.hdr.Timestamp = d.txTS
	s.hdr.SSRC = s.ssrc
	s.hdr.Marker = d.txFirst
	hl, err := s.hdr.MarshalTo(s.pkt[:])
	if err != nil {
		return
	}
	n := copy(s.pkt[hl:], p[:])
	s.seq++
	s.transmit(s.pkt[:hl+n])
}

// dtmfReceive takes a received telephone-event payload with timestamp ts.
func (s *Stream) dtmfReceive(payload []byte, ts uint32) {
	if len(payload) < 4 || payload[0] >= uint8(len(dtmfEventKeys)) {
		return // not a DTMF event (flash, tones, ...): ignored
	}
	d := &s.dtmf
	end := payload[1]&0x80 != 0
	if d.rxHave && ts == d.rxTS {
		// An update or a repeat of the current (or finished) event.
		d.rxIdle = 0
		if end {
			d.rxEnded = true
			d.rxOn = false
		}
		return
	}
	d.rxHave, d.rxTS, d.rxEnded, d.rxIdle = true, ts, end, 0
	d.rxCode = int(payload[0])
	d.rxLevel = -float64(min(max(payload[1]&0x3f, 3), 36))
	s.dtmfRecv.Add(1)
	d.rxOn = !end
	d.echoKey = dtmfEventKeys[d.rxCode]
	if d.gen.Busy() {
		_ = d.gen.Pause(dtmfPause)
	}
	_ = d.gen.Queue(dtmfEventKeys[d.rxCode:d.rxCode+1], dtmfFirstPlay, 0, d.rxLevel)
}

// dtmfPlay replaces playout with the tone of a received event while one
// plays. Loop goroutine; no allocation.
func (s *Stream) dtmfPlay(playout []int16) {
	d := &s.dtmf
	if d.rxOn {
		d.rxIdle++
		if d.rxIdle > dtmfRxTimeout {
			d.rxOn = false // updates stopped (end packets lost)
		} else if !d.gen.Busy() {
			_ = d.gen.Queue(dtmfEventKeys[d.rxCode:d.rxCode+1], dtmfMorePlay, 0, d.rxLevel)
		}
	}
	if d.gen.Busy() {
		d.gen.Fill(playout)
		d.echo = dtmfEchoFrames
	}
}

// toneFloor is the mean power per sample (an RMS of 100, about −50
// dBm0) below which a frame holds no tone for toneShare and
// looksLikeDTMF.
const toneFloor = 100 * 100

// toneShare is the share of x's energy at the frequency whose Goertzel
// coefficient is c (2 cos ω).
func toneShare(x []int16, c float64) float64 {
	var s1, s2, total float64
	for _, v := range x {
		f := float64(v)
		total += f * f
		s0 := f + c*s1 - s2
		s2, s1 = s1, s0
	}
	if total < float64(len(x))*toneFloor {
		return 0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * power / (float64(len(x)) * total)
}
