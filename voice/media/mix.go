package media

import "github.com/loopstart/loopstart/drivers/pcm"

// Conference mixes a local three-party call in the loop: the phone and the
// far ends of two streams, each hearing the other two. Each stream keeps
// its own codec, packet time and keys; the mix is done on linear frames.
// Its buffers are part of the value: Tick allocates nothing. The line's
// echo is cancelled once, by a's canceller against the whole mix the
// phone hears, before the legs' frames are mixed.
type Conference struct {
	farA, farB [pcm.FrameSamples]int16 // what each far end sent this frame
	toA, toB   [pcm.FrameSamples]int16 // what each far end gets
}

// Tick runs one frame of the conference: capture is the phone's frame,
// playout receives the mix of a and b; a is sent the phone plus b, b the
// phone plus a. sendA and sendB say whether each far end takes media (not
// while it holds us); a far end that sends nothing contributes silence.
// Frames longer than pcm.FrameSamples are mixed up to that length.
func (c *Conference) Tick(capture, playout []int16, a, b *Stream, sendA, sendB bool) {
	n := min(len(capture), len(playout), pcm.FrameSamples)
	fa, fb := c.farA[:n], c.farB[:n]
	a.Receive(fa)
	b.Receive(fb)
	ta, tb := c.toA[:n], c.toB[:n]
	pl := playout[:n]
	for i := range n {
		pl[i] = sat(int32(fa[i]) + int32(fb[i]))
	}
	// The phone's line echoes the whole mix: cancel it once, against the
	// mix, before each leg gets the phone plus the other leg.
	a.SetEchoReference(pl)
	clean := a.CancelEcho(capture[:n])
	for i := range n {
		ph := int32(clean[i])
		ta[i] = sat(ph + int32(fb[i]))
		tb[i] = sat(ph + int32(fa[i]))
	}
	if sendA {
		a.SendCancelled(ta)
	}
	if sendB {
		b.SendCancelled(tb)
	}
}

// MixInto adds src to dst sample by sample with saturation.
func MixInto(dst, src []int16) {
	for i := range min(len(dst), len(src)) {
		dst[i] = sat(int32(dst[i]) + int32(src[i]))
	}
}

// sat clips a sum to the int16 range.
func sat(v int32) int16 {
	switch {
	case v > 32767:
		return 32767
	case v < -32768:
		return -32768
	}
	return int16(v)
}
