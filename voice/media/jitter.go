package media

// jbSamples is the jitter buffer's size in samples (512 ms at 8 kHz); a power of two.
const jbSamples = 4096

// jitterBuffer places decoded samples on the RTP timestamp line and plays
// them out at the frame clock. It is fixed-size and owned by the loop.
// The adaptive buffer with drift handling comes with the secure media work;
// this one has a fixed target delay and resynchronises on timestamp jumps,
// SSRC changes and runs of late packets.
type jitterBuffer struct {
	samples  [jbSamples]int16
	valid    [jbSamples]bool
	playTS   uint32 // RTP timestamp of the next sample to play
	synced   bool
	target   uint32 // delay in samples added in front of the first packet
	lateRun  int    // consecutive packets that arrived too late
	buffered int    // valid samples held
}

func (j *jitterBuffer) reset() {
	clear(j.valid[:])
	j.synced = false
	j.lateRun = 0
	j.buffered = 0
}

// slot returns where a packet of n samples at ts goes, syncing or
// resynchronising as needed; ok is false when the packet must be dropped as late.
func (j *jitterBuffer) place(ts uint32, n int) (ok bool, late bool) {
	if !j.synced {
		j.resync(ts)
	}
	d := int32(ts - j.playTS)
	switch {
	case d+int32(n) <= 0:
		// Entirely in the past.
		j.lateRun++
		if j.lateRun < 3 {
			return false, true
		}
		j.resync(ts)
	case d > jbSamples-int32(n)-int32(j.target):
		// Far in the future: the sender jumped its timestamps.
		j.resync(ts)
	}
	j.lateRun = 0
	return true, false
}

func (j *jitterBuffer) resync(ts uint32) {
	clear(j.valid[:])
	j.buffered = 0
	j.playTS = ts - j.target
	j.synced = true
	j.lateRun = 0
}

// put stores one decoded sample at timestamp ts.
func (j *jitterBuffer) put(ts uint32, s int16) {
	if int32(ts-j.playTS) < 0 {
		return
	}
	i := ts & (jbSamples - 1)
	if !j.valid[i] {
		j.buffered++
	}
	j.samples[i] = s
	j.valid[i] = true
}

// play fills out with the next len(out) samples; it returns how many of them
// were missing (played as silence).
func (j *jitterBuffer) play(out []int16) (missing int) {
	if !j.synced {
		clear(out)
		return 0
	}
	for k := range out {
		i := (j.playTS + uint32(k)) & (jbSamples - 1)
		if j.valid[i] {
			out[k] = j.samples[i]
			j.valid[i] = false
			j.buffered--
		} else {
			out[k] = 0
			missing++
		}
	}
	j.playTS += uint32(len(out))
	return missing
}
