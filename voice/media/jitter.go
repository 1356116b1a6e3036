package media

import "slices"

// jbSamples is the jitter buffer's storage in samples (512 ms at 8 kHz); a
// power of two. The configured maximum delay must leave room for a packet.
const jbSamples = 4096

// Jitter buffer limits, in samples at 8 kHz.
const (
	// jbMinDelay is the smallest delay: one 10 ms frame must be buffered
	// when the loop plays, or the frame is short.
	jbMinDelay = 80
	// jbDefaultMax is the default maximum delay (200 ms).
	jbDefaultMax = 1600
	// jbLimitMax is the largest maximum the storage allows.
	jbLimitMax = jbSamples - maxPTimeSamples - 2*jbMinDelay
	// jbStartExtra is the margin the buffer starts with on a new stream;
	// it shrinks to what the measured jitter needs.
	jbStartExtra = 80
	// jbHysteresis is the excess over the needed delay tolerated before
	// samples are dropped (1 ms).
	jbHysteresis = 8
	// jbWindow is the number of frames over which the lowest level is
	// measured before the buffer shrinks (1 s).
	jbWindow = 100
	// jbLateResync is the number of consecutive packets too late to use
	// that makes the buffer start over.
	jbLateResync = 3
	// jbHoldWindows is how many windows (10 s) the peak lateness of a
	// packet is remembered: a sender or
	// network that was late once is likely to be late again, and each
	// late packet costs a concealed stretch while each shrink costs
	// slipped samples.
	jbHoldWindows = 10
	// jbSlipEvery paces the shrinking: at most one sample dropped every
	// jbSlipEvery frames (0.3 %: 3 Hz on a 1 kHz tone; real sender clocks
	// are within 0.01 %), or every jbSlipEveryFast frames (0.6 %) while
	// the excess is over 2 × jbHysteresis (a sender clock 0.5 % fast).
	jbSlipEvery     = 4
	jbSlipEveryFast = 2
)

// jitterBuffer places decoded samples on the RTP timestamp line and plays
// them out at the frame clock. It is fixed-size and owned by the loop.
//
// It adapts its delay between jbMinDelay (10 ms) and maxDelay:
//   - it grows when a packet arrives after its playout time (the buffer ran
//     dry, or the network delays or reorders more than it holds) and the
//     delay stays within the maximum: playout moves back to the packet, so
//     the concealed stretch is followed by the real audio instead of
//     losing it;
//   - it shrinks, by dropping single samples (the quietest of a frame, at
//     most one every jbSlipEvery frames), by what a second's packets did
//     not need: each packet's margin (how much later it could have come
//     and still been there when the frame holding its first sample began)
//     must stay above twice the RFC 3550 interarrival jitter or, if
//     larger, the peak lateness of a packet — its transit time over the
//     best of the 8 packets before it — over the last jbHoldWindows
//     windows, so that a sender late now and then keeps a delay that
//     covers it instead of a cycle of concealment and slipping. Since a
//     packet later than its margin misses its frame whatever is buffered
//     before it, what goes is the first sample's offset into its frame
//     and whole frames the margin can spare (see track); at zero jitter
//     the delay falls to the phase between arrival and frame boundary.
//
// The same two mechanisms absorb clock drift between the far sender and
// our PCM clock: a faster sender fills the buffer and samples are slipped,
// a slower one empties it and the buffer grows by the few samples missing,
// so the delay never creeps. Reordered packets are placed by timestamp,
// duplicates are recognised by sequence number, losses leave holes that
// the stream conceals, and a timestamp jump or a run of unusable late
// packets restarts the buffer on the new timeline.
type jitterBuffer struct {
	samples [jbSamples]int16
	valid   [jbSamples]bool
	playTS  uint32 // RTP timestamp of the next sample to play
	synced  bool
	end     uint32 // timestamp just past the newest sample received
	lateRun int

	maxDelay int32 // samples; 0 = jbDefaultMax
	// frozen holds the delay where it is (fax and modem pass-through):
	// no slipping, no stretching for late packets.
	frozen bool

	// Interarrival jitter (RFC 3550 A.8), in samples ×16.
	jitterQ4    int32
	lastTransit int32
	haveTransit bool

	// Level tracking for shrinking.
	winMin int32
	// now is our sample clock at the frame boundary being served (set
	// by clock before the frame's arrivals). Of the packets in the
	// window: winMargin is the smallest margin (how much later a packet
	// could have come and still been there when the frame holding its
	// first sample began), winOffset the smallest offset of a first
	// sample into its frame (delay that protects nothing: a packet
	// later than its margin misses its frame whatever the offset).
	// winSlipped is j.slipped when the window began.
	now        int64
	winMargin  int32
	winOffset  int32
	winSlipped uint64
	winFrames  int
	slip       int32 // samples still to drop
	frames     uint32
	// Relative lateness: a packet's transit (arrival - timestamp) over
	// the smallest transit of the packets before it (recent, so that
	// clock drift does not count); its peak in the current window and in
	// each of the last jbHoldWindows windows.
	recent    [8]int32
	recentN   int
	wPeak     int32
	spread    [jbHoldWindows]int32
	spreadPos int

	// Duplicate detection: the highest sequence number and a bitmap of
	// the 64 before it.
	maxSeq   uint16
	cycles   uint32 // wraps of the sequence number (RFC 3550 A.1)
	seqSeen  uint64
	haveSeq  bool
	expected uint64 // packets expected from the sequence numbers (RFC 3550 A.3), never reset

	// Counters (loop-owned; the stream publishes them).
	late, dups, slipped, stretched, resyncs uint64
}

// reset forgets the stream (new call or new SSRC).
func (j *jitterBuffer) reset() {
	clear(j.valid[:])
	j.frozen = false
	j.synced = false
	j.lateRun = 0
	j.haveTransit = false
	j.jitterQ4 = 0
	j.newWindow()
	j.slip = 0
	j.forgetSpread()
	j.haveSeq = false
	j.seqSeen = 0
}

func (j *jitterBuffer) max() int32 {
	if j.maxDelay <= 0 {
		return jbDefaultMax
	}
	return min(max(j.maxDelay, jbMinDelay+jbStartExtra), jbLimitMax)
}

// jitter returns the interarrival jitter estimate in samples.
func (j *jitterBuffer) jitter() int32 { return j.jitterQ4 >> 4 }

// duplicate reports (and records) whether seq was seen recently.
func (j *jitterBuffer) duplicate(seq uint16) bool {
	if !j.haveSeq {
		j.maxSeq, j.seqSeen, j.haveSeq, j.cycles = seq, 1, true, 0
		j.expected++
		return false
	}
	d := int16(seq - j.maxSeq)
	switch {
	case d > 0:
		if seq < j.maxSeq {
			j.cycles++
		}
		j.expected += uint64(d)
		if d >= 64 {
			j.seqSeen = 0
		} else {
			j.seqSeen <<= uint(d)
		}
		j.seqSeen |= 1
		j.maxSeq = seq
		return false
	case d > -64:
		bit := uint64(1) << uint(-d)
		if j.seqSeen&bit != 0 {
			return true
		}
		j.seqSeen |= bit
		return false
	}
	return false // too old to know; the timestamp check decides
}

// arrive decides what to do with a packet of n samples at ts with sequence
// number seq that arrived at arrival (in samples of our clock). It returns
// whether the samples should be stored (put), and counts duplicates and
// late packets.
func (j *jitterBuffer) arrive(seq uint16, ts uint32, n int, arrival int64) bool {
	if j.duplicate(seq) {
		j.dups++
		return false
	}
	// RFC 3550 A.8 interarrival jitter.
	transit := int32(uint32(arrival) - ts)
	if j.haveTransit {
		d := transit - j.lastTransit
		if d < 0 {
			d = -d
		}
		if d < jbSamples { // a timestamp jump is not jitter
			j.jitterQ4 += d - ((j.jitterQ4 + 8) >> 4)
		}
	}
	j.lastTransit, j.haveTransit = transit, true
	if j.recentN > 0 {
		best := j.recent[0]
		for _, v := range j.recent[1:min(j.recentN, len(j.recent))] {
			best = min(best, v)
		}
		if l := transit - best; l > j.wPeak && l < jbSamples { // a jump is not lateness
			j.wPeak = l
		}
	}
	j.recent[j.recentN%len(j.recent)] = transit
	j.recentN++

	if !j.synced {
		j.resync(ts)
	}
	n32 := int32(n)
	d := int32(ts - j.playTS)
	switch {
	case d > j.max()+800 || d > jbSamples-n32-jbMinDelay:
		// Far in the future: the sender jumped its timestamps.
		j.resync(ts)
	case d < 0 && j.level()+(-d) <= j.max() && !j.frozen:
		// The packet came after its playout time: the buffer ran dry,
		// or the network reorders or delays more than it holds. Play it
		// late rather than lose it: the delay grows by the lateness.
		j.playTS = ts
		j.stretched += uint64(-d)
		j.slip = 0
	case d+n32 <= 0:
		// Entirely in the past and beyond the maximum delay: too late.
		j.late++
		j.lateRun++
		if j.lateRun < jbLateResync {
			return false
		}
		j.resync(ts)
	}
	j.lateRun = 0
	// The frame holding ts begins at now + (x - off) (samples of our
	// clock; the loop plays one frame per jbMinDelay samples).
	x := int32(ts - j.playTS)
	off := ((x % jbMinDelay) + jbMinDelay) % jbMinDelay
	j.winMargin = min(j.winMargin, x-off+int32(j.now-arrival))
	j.winOffset = min(j.winOffset, off)
	if e := ts + uint32(n); int32(e-j.end) > 0 {
		j.end = e
	}
	return true
}

// level is how many samples lie between playout and the newest sample.
func (j *jitterBuffer) level() int32 {
	l := int32(j.end - j.playTS)
	if l < 0 {
		return 0
	}
	return l
}

func (j *jitterBuffer) resync(ts uint32) {
	clear(j.valid[:])
	j.playTS = ts - jbStartExtra
	j.end = ts
	j.synced = true
	j.lateRun = 0
	j.slip = 0
	j.forgetSpread()
	j.newWindow()
	j.resyncs++
}

// put stores one decoded sample at timestamp ts.
func (j *jitterBuffer) put(ts uint32, s int16) {
	if int32(ts-j.playTS) < 0 {
		return
	}
	i := ts & (jbSamples - 1)
	j.samples[i] = s
	j.valid[i] = true
}

// play fills out with the next len(out) samples. miss[k] is set for each
// sample that was not there (out[k] is then 0 and the caller conceals it);
// it returns how many were missing.
func (j *jitterBuffer) play(out []int16, miss []bool) (missing int) {
	if !j.synced {
		clear(out)
		for k := range miss[:len(out)] {
			miss[k] = true
		}
		return len(out)
	}
	j.track()
	j.frames++
	// Drop one sample this frame if asked to and the frame is whole: the
	// quietest, where a missing sample is least audible.
	drop := -1
	every := uint32(jbSlipEvery)
	if j.slip > 2*jbHysteresis {
		every = jbSlipEveryFast
	}
	if j.frozen {
		j.slip = 0
	}
	if j.slip > 0 && j.frames%every == 0 && j.level() > int32(len(out)) {
		quiet := int32(1 << 30)
		for k := 0; k <= len(out); k++ {
			i := (j.playTS + uint32(k)) & (jbSamples - 1)
			if !j.valid[i] {
				drop = -1
				break
			}
			v := int32(j.samples[i])
			if v < 0 {
				v = -v
			}
			if v < quiet {
				quiet, drop = v, k
			}
		}
	}
	if drop < 0 {
		if i := int(j.playTS & (jbSamples - 1)); i+len(out) <= jbSamples && !slices.Contains(j.valid[i:i+len(out)], false) {
			// The usual frame: every sample there, none dropped, no
			// wrap of the ring.
			copy(out, j.samples[i:])
			clear(j.valid[i : i+len(out)])
			clear(miss[:len(out)])
			j.playTS += uint32(len(out))
			return 0
		}
	}
	src := uint32(0)
	for k := range out {
		if int(src) == drop {
			j.valid[(j.playTS+src)&(jbSamples-1)] = false
			src++
		}
		i := (j.playTS + src) & (jbSamples - 1)
		if j.valid[i] {
			out[k] = j.samples[i]
			j.valid[i] = false
			miss[k] = false
		} else {
			out[k] = 0
			miss[k] = true
			missing++
		}
		src++
	}
	if drop >= len(out) {
		j.valid[(j.playTS+src)&(jbSamples-1)] = false
		src++
	}
	if drop >= 0 {
		j.slip--
		j.slipped++
	}
	j.playTS += src
	return missing
}

// track measures the lowest level over a window and decides how many
// samples to slip.
func (j *jitterBuffer) track() {
	j.winMin = min(j.winMin, j.level())
	j.winFrames++
	if j.winFrames < jbWindow {
		return
	}
	// This window's peak lateness joins the history.
	j.spread[j.spreadPos] = j.wPeak
	j.spreadPos = (j.spreadPos + 1) % jbHoldWindows
	j.wPeak = 0
	peak := 2 * j.jitter()
	for _, v := range j.spread {
		peak = max(peak, v)
	}
	// What can go: the offset of the packets into their frames (it
	// protects nothing) and as many whole frames as the margin holds
	// beyond the peak lateness — or, with a margin short of it, the
	// offset less a frame, keeping a frame that covers it — but never
	// so much that a frame would start before the audio it needs was
	// there (the lowest level less the frame). At zero jitter the
	// delay falls to the phase between packet arrival and frame
	// boundary (< 10 ms), plus a frame when that phase is shorter than
	// the sender's scatter plus 1 ms. Decided on whole windows without
	// slipping: the margins measured while slipping are stale.
	need := min(peak, j.max()-jbMinDelay)
	if j.winMargin < 1<<30 && j.slipped == j.winSlipped {
		// Whole frames go only with 1 ms (jbHysteresis) to spare: a
		// frame shed too many costs a frame of concealment.
		spare := j.winMargin - need - jbHysteresis
		frames := spare / jbMinDelay
		if spare < 0 {
			frames = -1 - (-spare-1)/jbMinDelay
		}
		if excess := min(j.winMin-jbMinDelay, j.winOffset+frames*jbMinDelay); excess > jbHysteresis {
			j.slip = excess
		}
	}
	j.newWindow()
}

// newWindow starts a measurement window.
func (j *jitterBuffer) newWindow() {
	j.winMin, j.winFrames = 1<<30, 0
	j.winMargin, j.winOffset = 1<<30, 1<<30
	j.winSlipped = j.slipped
}

// clock tells the buffer our sample clock at the frame boundary whose
// arrivals follow (before arrive and play).
func (j *jitterBuffer) clock(now int64) { j.now = now }

// forgetSpread clears the transit spread history (a new timeline).
func (j *jitterBuffer) forgetSpread() {
	clear(j.spread[:])
	j.recentN, j.wPeak = 0, 0
}
