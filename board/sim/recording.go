package sim

import (
	"github.com/loopstart/loopstart/dsp"
)

// A recording keeps the last stretch of audio a phone (or the office)
// heard, every sample exact, in as little memory as that allows. It is
// test equipment living in the gateway's process (its RSS counts it), so
// it is kept small:
//
//   - until the first sound nothing is stored: the silence so far is
//     counted, and read back as zeros;
//   - every sample is kept as its G.711 µ-law code, which gives back the
//     sample exactly when it is a µ-law value: what a call's PCMU decodes
//     to, passed on unchanged, the usual content of a call's earpiece.
//     That is one byte a sample instead of two;
//   - a block of recBlock samples holding one that is not (a tone the
//     gateway generates, a concealed frame, a test's ramp) is also kept
//     as 16-bit samples, in a queue of such blocks in the order they were
//     written: the oldest leaves it when the ring overwrites it. The
//     queue is made with the codes, an eighth of the window (its pages
//     unused until blocks are queued), and grows by doubling;
//   - once more than half the window's blocks would need the queue, the
//     recording is kept as plain 16-bit samples instead (what it cost
//     before, the most it costs now), and goes back to codes once the
//     whole window holds µ-law values only.
//
// Storage is allocated when the recording changes form or its queue
// grows past an eighth of the window, never per frame once it has its
// size.

// recBlock is the stretch (samples) over which exactness is tracked.
const recBlock = 80

// ulawSilence is the µ-law code of 0.
var ulawSilence = dsp.MulawEncode(0)

// oddBlock is a block kept as 16-bit samples, and which block it is.
type oddBlock struct {
	block   int32
	samples [recBlock]int16
}

// recording is a ring of the last size samples written.
type recording struct {
	size   int // capacity in samples, a multiple of recBlock
	blocks int // size / recBlock
	pos    int // next write index
	n      int // valid samples, up to size

	// Compact form: codes, and the queue of odd blocks.
	codes []byte     // µ-law code of every sample; nil until the first sound or in wide form
	slot  []int32    // per block: its index in queue, -1 when it is µ-law exact
	queue []oddBlock // ring of odd blocks, oldest at tail
	tail  int
	count int
	// carried: the block at pos was odd in the last round of the ring
	// and its queue entry (the oldest) now holds its new samples.
	carried bool

	// Wide form: every sample; odd counts the blocks holding a sample
	// that is not µ-law (oddIn per block).
	wide  []int16
	oddIn []bool
	odd   int

	oddNow bool // the block at pos has held a sample that is not µ-law

	// The mappings that keep the slices above, which live outside the Go
	// heap (offheap.go): each is set and dropped with its slice.
	codesM, slotM, queueM, wideM, oddInM *mapping
}

// newRecording returns a recording of size samples (rounded up to whole
// blocks) holding nothing.
func newRecording(size int) recording {
	size = max((size+recBlock-1)/recBlock*recBlock, recBlock)
	return recording{size: size, blocks: size / recBlock}
}

// held reports whether the recording holds storage (it has heard sound).
func (r *recording) held() bool { return r.codes != nil || r.wide != nil }

// compact reports whether the recording is kept as µ-law codes with no
// odd block.
func (r *recording) compact() bool { return r.codes != nil && r.count == 0 }

// exact reports whether every sample of s is a µ-law value.
func exact(s []int16) bool {
	for _, v := range s {
		if dsp.MulawDecode(dsp.MulawEncode(v)) != v {
			return false
		}
	}
	return true
}

// encodeExact writes the µ-law codes of s to dst and reports whether
// every sample of s is what its code decodes to (exact's answer, one
// table look-up a sample fewer).
func encodeExact(dst []byte, s []int16) bool {
	dst = dst[:len(s)]
	var odd bool
	for i, v := range s {
		c := dsp.MulawEncode(v)
		dst[i] = c
		odd = odd || dsp.MulawDecode(c) != v
	}
	return !odd
}

// write appends in, overwriting the oldest samples.
func (r *recording) write(in []int16) {
	if !r.held() {
		if silent(in) {
			r.advance(len(in))
			return
		}
		r.makeCompact()
		for i := range r.codes {
			r.codes[i] = ulawSilence // the silence so far
		}
	}
	for len(in) > 0 {
		b, off := r.pos/recBlock, r.pos%recBlock
		k := min(len(in), recBlock-off)
		seg := in[:k]
		var ok bool
		if r.codes != nil {
			// The codes are written here, and read back for the check.
			ok = encodeExact(r.codes[b*recBlock+off:], seg)
		} else {
			ok = exact(seg)
		}
		if off == 0 {
			r.oddNow = false
			r.carried = r.codes != nil && r.slot[b] >= 0
		}
		r.oddNow = r.oddNow || !ok
		if r.codes != nil {
			r.writeCompact(b, off, seg, ok)
		}
		if r.wide != nil {
			copy(r.wide[r.pos:], seg)
			if off+k == recBlock || r.oddNow {
				r.markWide(b, r.oddNow)
			}
		}
		r.advance(k)
		in = in[k:]
		if r.wide != nil && r.odd == 0 && r.pos%recBlock == 0 {
			r.narrow() // a whole window of µ-law samples
		}
	}
}

// writeCompact writes seg at offset off of block b in compact form, its
// codes already written (encodeExact).
func (r *recording) writeCompact(b, off int, seg []int16, ok bool) {
	if s := r.slot[b]; s >= 0 {
		copy(r.queue[s].samples[off:], seg)
	} else if !ok {
		if !r.push(b) {
			r.widen()
			return
		}
		copy(r.queue[r.slot[b]].samples[off:], seg)
	}
	if off+len(seg) == recBlock && r.carried {
		// Block b is written whole again: its entry, the oldest, leaves
		// the queue, and comes back as the newest if b is odd again.
		e := r.queue[r.tail]
		if int(e.block) != b {
			r.widen() // never: blocks leave in the order they came
			return
		}
		r.tail = (r.tail + 1) % len(r.queue)
		r.count--
		r.slot[b] = -1
		r.carried = false
		if r.oddNow {
			if !r.push(b) {
				r.widen()
				return
			}
			r.queue[r.slot[b]].samples = e.samples
		}
	}
}

// push adds block b, as its codes read back, to the queue; false when
// the queue may not grow (past half the window: the wide form is then
// cheaper).
func (r *recording) push(b int) bool {
	if r.count == len(r.queue) {
		n := max(2*len(r.queue), r.blocks/8, 1)
		if n > r.blocks/2 {
			n = r.blocks / 2
		}
		if n <= r.count {
			return false
		}
		q, qm := makeOff[oddBlock](n)
		for i := range r.count {
			q[i] = r.queue[(r.tail+i)%len(r.queue)]
			r.slot[q[i].block] = int32(i)
		}
		r.queue, r.queueM, r.tail = q, qm, 0
	}
	i := (r.tail + r.count) % len(r.queue)
	e := &r.queue[i]
	e.block = int32(b)
	src := r.codes[b*recBlock : (b+1)*recBlock]
	for j, c := range src {
		e.samples[j] = dsp.MulawDecode(c)
	}
	r.slot[b] = int32(i)
	r.count++
	return true
}

// advance moves the write position on by k samples.
func (r *recording) advance(k int) {
	r.pos = (r.pos + k) % r.size
	r.n = min(r.n+k, r.size)
}

// markWide records whether block b holds a sample that is not µ-law.
func (r *recording) markWide(b int, odd bool) {
	if r.oddIn[b] != odd {
		r.oddIn[b] = odd
		if odd {
			r.odd++
		} else {
			r.odd--
		}
	}
}

// widen keeps every sample as 16 bits from now on.
func (r *recording) widen() {
	wide, wm := makeOff[int16](r.size)
	for j := range wide {
		wide[j] = r.sample(j)
	}
	r.wide, r.wideM = wide, wm
	r.oddIn, r.oddInM = makeOff[bool](r.blocks)
	r.odd = 0
	// What the compact form knew: its queued blocks are odd, and so is
	// the block being written, whose segment the caller copies next.
	for i := range r.count {
		r.markWide(int(r.queue[(r.tail+i)%len(r.queue)].block), true)
	}
	r.codes, r.slot, r.queue, r.tail, r.count, r.carried = nil, nil, nil, 0, 0, false
	r.codesM, r.slotM, r.queueM = nil, nil, nil
}

// makeCompact allocates the compact form's storage: the codes (to be
// filled by the caller), no block odd, and the odd-block queue at its
// first size. The queue is made with the codes, not at the first odd
// block: that block comes mid-call (the first digit the gateway plays
// into a call), and the queue's pages cost nothing until blocks are
// queued (offheap.go maps them untouched).
func (r *recording) makeCompact() {
	r.codes, r.codesM = makeOff[byte](r.size)
	r.slot, r.slotM = makeOff[int32](r.blocks)
	for i := range r.slot {
		r.slot[i] = -1
	}
	r.queue, r.queueM = makeOff[oddBlock](max(r.blocks/8, 1))
	r.tail, r.count = 0, 0
}

// narrow goes back to codes: every sample of the window is a µ-law value.
func (r *recording) narrow() {
	r.makeCompact()
	for j, v := range r.wide {
		r.codes[j] = dsp.MulawEncode(v)
	}
	r.wide, r.oddIn, r.odd = nil, nil, 0
	r.wideM, r.oddInM = nil, nil
}

// sample is the sample at ring index j.
func (r *recording) sample(j int) int16 {
	if r.wide != nil {
		return r.wide[j]
	}
	if s := r.slot[j/recBlock]; s >= 0 {
		return r.queue[s].samples[j%recBlock]
	}
	return dsp.MulawDecode(r.codes[j])
}

// last copies out the last n samples (fewer if fewer were written),
// oldest first.
func (r *recording) last(n int) []int16 {
	n = max(min(n, r.n), 0)
	out := make([]int16, n)
	if !r.held() {
		return out // nothing but silence heard yet
	}
	start := (r.pos - n + r.size) % r.size
	for i := range out {
		j := start + i
		if j >= r.size {
			j -= r.size
		}
		out[i] = r.sample(j)
	}
	return out
}
