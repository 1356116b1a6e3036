package dsp

// ITU-T G.722 (09/2012, mode 1: 64 kbit/s), sub-band ADPCM for 7 kHz audio
// sampled at 16 kHz: a 24-tap QMF splits the signal into a 0-4 kHz band
// coded with 6 bits per 8 kHz sample and a 4-8 kHz band coded with 2 bits;
// each byte carries one low-band and one high-band code (high band in the
// top two bits). The arithmetic follows the standard's fixed-point
// description block by block (the names in the comments are its block
// names), so the output is bit-exact with other faithful implementations;
// the tests check it against spandsp. As in spandsp, 16-bit input is
// scaled to the codec's 15-bit range inside the QMF and the decoder's QMF
// restores it.

// G722SampleRate is G.722's audio sampling rate, in Hz.
const G722SampleRate = 16000

// G.722 over RTP (RFC 3551): static payload type 9 whose RTP timestamp
// clock and SDP rtpmap rate are 8000 for historical reasons, although the
// audio is sampled at 16 kHz.
const (
	G722PayloadType  = 9
	G722RTPClockRate = 8000
	G722EncodingName = "G722"
)

// QMF coefficients (G.722 table 11), oldest sample first for the
// transmit/receive filters.
var (
	g722QMFFwd = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}
	g722QMFRev = [12]int32{-11, 53, -156, 362, -805, 3876, 951, -210, 32, 12, -11, 3}
)

// Quantiser and adaptation tables (G.722 tables 6-10, 14-16).
var (
	g722QM2 = [4]int32{-7408, -1616, 7408, 1616}
	g722QM4 = [16]int32{
		0, -20456, -12896, -8968, -6288, -4240, -2584, -1200,
		20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
	}
	g722QM6 = [64]int32{
		-136, -136, -136, -136, -24808, -21904, -19008, -16704,
		-14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
		-7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576,
		-3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
		24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192,
		10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
		4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032,
		1688, 1360, 1040, 728, 432, 136, -432, -136,
	}
	// g722Q6 holds the low-band decision levels (table 6), index 1..29.
	g722Q6 = [32]int32{
		0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
		786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
	}
	g722ILB = [32]int32{
		2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
		2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
	}
	g722ILN = [32]uint8{
		0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
		18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0,
	}
	g722ILP = [32]uint8{
		0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
		46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0,
	}
	g722IHN  = [3]uint8{0, 1, 0}
	g722IHP  = [3]uint8{0, 3, 2}
	g722WL   = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722RL42 = [16]uint8{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	g722WH   = [3]int32{0, -214, 798}
	g722RH2  = [4]uint8{2, 1, 2, 1}
)

// g722Band is the adaptive predictor and scale factor state of one band.
type g722Band struct {
	s, sz, r int32 // signal estimate, zero-section estimate, reconstructed
	nb, det  int32 // log and linear quantiser scale factor
	p        [2]int32
	a        [2]int32 // pole coefficients
	b        [6]int32 // zero coefficients
	d        [7]int32 // quantised difference history
}

func sat16(v int32) int32 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return v
}

func sat15(v int32) int32 {
	if v > 16383 {
		return 16383
	}
	if v < -16384 {
		return -16384
	}
	return v
}

// i16 truncates like a C cast to int16_t.
func i16(v int32) int32 { return int32(int16(v)) }

// adapt runs the predictor blocks (RECONS, PARREC, UPPOL2, UPPOL1, FILTEP,
// UPZERO, DELAYA, FILTEZ, PREDIC) with the quantised difference dx.
func (s *g722Band) adapt(dx int32) {
	r := sat16(s.s + dx)
	p := sat16(s.sz + dx)

	// UPPOL2
	wd1 := sat16(s.a[0] << 2)
	wd32 := -wd1
	if (p^s.p[0])&0x8000 != 0 {
		wd32 = wd1
	}
	wd32 = min(wd32, 32767)
	sg := int32(128)
	if (p^s.p[1])&0x8000 != 0 {
		sg = -128
	}
	wd3 := i16(sg + (wd32 >> 7) + ((s.a[1] * 32512) >> 15))
	wd3 = max(min(wd3, 12288), -12288)
	ap1 := wd3

	// UPPOL1
	wd1 = 192
	if (p^s.p[0])&0x8000 != 0 {
		wd1 = -192
	}
	wd2 := i16((s.a[0] * 32640) >> 15)
	ap0 := sat16(wd1 + wd2)
	wd3 = sat16(15360 - ap1)
	if ap0 > wd3 {
		ap0 = wd3
	} else if ap0 < -wd3 {
		ap0 = -wd3
	}

	// FILTEP
	wd1 = i16((ap0 * sat16(r+r)) >> 15)
	wd2 = i16((ap1 * sat16(s.r+s.r)) >> 15)
	sp := sat16(wd1 + wd2)
	s.r = r
	s.a[1], s.a[0] = ap1, ap0
	s.p[1], s.p[0] = s.p[0], p

	// UPZERO, DELAYA, FILTEZ
	wd1 = 128
	if dx == 0 {
		wd1 = 0
	}
	s.d[0] = dx
	var sz int32
	for i := 5; i >= 0; i-- {
		wd2 = wd1
		if (s.d[i+1]^dx)&0x8000 != 0 {
			wd2 = -wd1
		}
		wd3 = i16((s.b[i] * 32640) >> 15)
		s.b[i] = sat16(wd2 + wd3)
		wd3 = sat16(s.d[i] + s.d[i])
		sz += (s.b[i] * wd3) >> 15
		s.d[i+1] = s.d[i]
	}
	s.sz = sat16(sz)

	// PREDIC
	s.s = sat16(sp + s.sz)
}

// scaleLow runs LOGSCL and SCALEL for the low band with the 4-bit code ril.
func (s *g722Band) scaleLow(ril int32) {
	nb := (s.nb*127)>>7 + g722WL[g722RL42[ril]]
	s.nb = max(min(nb, 18432), 0)
	s.det = scaleFactor(s.nb, 8)
}

// scaleHigh runs LOGSCH and SCALEH for the high band with the code ih.
func (s *g722Band) scaleHigh(ih int32) {
	nb := (s.nb*127)>>7 + g722WH[g722RH2[ih]]
	s.nb = max(min(nb, 22528), 0)
	s.det = scaleFactor(s.nb, 10)
}

func scaleFactor(nb, shift int32) int32 {
	wd1 := (nb >> 6) & 31
	wd2 := shift - (nb >> 11)
	var wd3 int32
	if wd2 < 0 {
		wd3 = g722ILB[wd1] << -wd2
	} else {
		wd3 = g722ILB[wd1] >> wd2
	}
	return i16(wd3 << 2)
}

// g722State is the state shared by encoder and decoder.
type g722State struct {
	band  [2]g722Band
	x, y  [12]int32 // QMF histories (circular)
	ptr   int
	ready bool
}

func (g *g722State) init() {
	*g = g722State{ready: true}
	g.band[0].det = 32
	g.band[1].det = 8
}

// qmfDot returns Σ h[(ptr+i)%12]·c[i]: the circular history, oldest first.
func qmfDot(h *[12]int32, c *[12]int32, ptr int) int32 {
	var z int32
	for i := range 12 {
		j := ptr + i
		if j >= 12 {
			j -= 12
		}
		z += h[j] * c[i]
	}
	return z
}

// G722Encoder encodes 16 kHz 16-bit linear audio into G.722 at 64 kbit/s:
// one byte for every two samples (80 bytes per 10 ms). The zero value is
// ready to use; keep one per stream. It is not safe for concurrent use.
type G722Encoder struct {
	st      g722State
	pending int16 // odd sample held for the next call
	hasPend bool
}

// Reset returns the encoder to its initial state (as at the start of a
// stream).
func (e *G722Encoder) Reset() { *e = G722Encoder{} }

// Encode encodes src (16 kHz samples) into dst and returns the number of
// bytes written: one per sample pair, at most len(dst). An odd trailing
// sample is kept and paired with the first sample of the next call; samples
// beyond what dst can hold are dropped. Encode does not allocate.
func (e *G722Encoder) Encode(dst []byte, src []int16) int {
	if !e.st.ready {
		e.st.init()
	}
	n := 0
	i := 0
	if e.hasPend && len(src) > 0 && len(dst) > 0 {
		dst[0] = e.encodePair(e.pending, src[0])
		e.hasPend = false
		n, i = 1, 1
	}
	for ; i+1 < len(src) && n < len(dst); i += 2 {
		dst[n] = e.encodePair(src[i], src[i+1])
		n++
	}
	if i < len(src) && n < len(dst) && !e.hasPend {
		e.pending, e.hasPend = src[i], true
	}
	return n
}

func (e *G722Encoder) encodePair(s0, s1 int16) byte {
	g := &e.st
	// Transmit QMF.
	g.x[g.ptr] = int32(s0)
	g.y[g.ptr] = int32(s1)
	if g.ptr++; g.ptr >= 12 {
		g.ptr = 0
	}
	sumOdd := qmfDot(&g.x, &g722QMFFwd, g.ptr)
	sumEven := qmfDot(&g.y, &g722QMFRev, g.ptr)
	xlow := i16((sumEven + sumOdd) >> 14)
	xhigh := i16((sumEven - sumOdd) >> 14)

	// Low band: SUBTRA, QUANTL.
	lb := &g.band[0]
	el := sat16(xlow - lb.s)
	wd := el
	if el < 0 {
		wd = ^el
	}
	i := 1
	for ; i < 30; i++ {
		if wd < (g722Q6[i]*lb.det)>>12 {
			break
		}
	}
	var ilow int32
	if el < 0 {
		ilow = int32(g722ILN[i])
	} else {
		ilow = int32(g722ILP[i])
	}
	// INVQAL, LOGSCL, SCALEL, predictor.
	ril := ilow >> 2
	dlow := i16((lb.det * g722QM4[ril]) >> 15)
	lb.scaleLow(ril)
	lb.adapt(dlow)

	// High band: SUBTRA, QUANTH.
	hb := &g.band[1]
	eh := sat16(xhigh - hb.s)
	wd = eh
	if eh < 0 {
		wd = ^eh
	}
	mih := 1
	if wd >= (564*hb.det)>>12 {
		mih = 2
	}
	var ihigh int32
	if eh < 0 {
		ihigh = int32(g722IHN[mih])
	} else {
		ihigh = int32(g722IHP[mih])
	}
	// INVQAH, LOGSCH, SCALEH, predictor.
	dhigh := i16((hb.det * g722QM2[ihigh]) >> 15)
	hb.scaleHigh(ihigh)
	hb.adapt(dhigh)
	return byte(ihigh<<6 | ilow)
}

// G722Decoder decodes G.722 at 64 kbit/s into 16 kHz 16-bit linear audio:
// two samples per byte. The zero value is ready to use; keep one per
// stream. It is not safe for concurrent use.
type G722Decoder struct {
	st g722State
}

// Reset returns the decoder to its initial state.
func (d *G722Decoder) Reset() { *d = G722Decoder{} }

// Decode decodes src into dst and returns the number of samples written:
// two per byte, for as many whole bytes as dst has room. It does not
// allocate.
func (d *G722Decoder) Decode(dst []int16, src []byte) int {
	g := &d.st
	if !g.ready {
		g.init()
	}
	n := 0
	for _, code := range src {
		if n+2 > len(dst) {
			break
		}
		lb, hb := &g.band[0], &g.band[1]
		// Low band: INVQBL (6 bits), RECONS, LIMIT.
		c6 := int32(code) & 0x3f
		ihigh := int32(code>>6) & 3
		rlow := sat15(lb.s + (lb.det*g722QM6[c6])>>15)
		// INVQAL (4 bits) for the predictor, LOGSCL, SCALEL.
		ril := c6 >> 2
		dlow := i16((lb.det * g722QM4[ril]) >> 15)
		lb.scaleLow(ril)
		lb.adapt(dlow)

		// High band: INVQAH, RECONS, LIMIT, LOGSCH, SCALEH.
		dhigh := i16((hb.det * g722QM2[ihigh]) >> 15)
		rhigh := sat15(dhigh + hb.s)
		hb.scaleHigh(ihigh)
		hb.adapt(dhigh)

		// Receive QMF.
		g.x[g.ptr] = sat16(rlow + rhigh)
		g.y[g.ptr] = sat16(rlow - rhigh)
		if g.ptr++; g.ptr >= 12 {
			g.ptr = 0
		}
		// The >> 11 undoes the QMF gain (4096) less one bit for the codec's
		// 15-bit range. An overloaded output wraps rather than saturating,
		// as in spandsp 0.0.6 (bit-exactness); it only happens with
		// full-scale input whose reconstruction overshoots.
		dst[n] = int16(qmfDot(&g.y, &g722QMFRev, g.ptr) >> 11)
		dst[n+1] = int16(qmfDot(&g.x, &g722QMFFwd, g.ptr) >> 11)
		n += 2
	}
	return n
}
