package dsp

import "math/bits"

// G.711 companding (ITU-T G.711). The conversion follows the classic
// reference algorithm, bit-exact with spandsp's g711.h:
//
//   - µ-law adds a bias of 0x84 (132) to the 16-bit magnitude, finds the
//     segment from the top set bit, keeps four mantissa bits and complements
//     the code word.
//   - A-law uses the magnitude (one's complement for negative samples), a
//     four-bit mantissa and inverts the even bits with 0x55.
//
// Encoding is a table lookup: the µ-law table covers all 65536 inputs, the
// A-law table all 8192 inputs of sample>>3 (the A-law quantiser never needs
// the three low bits). Decoding uses 256-entry tables. All tables are built
// once at package initialisation from the algorithm below and never written
// afterwards.

const (
	ulawBias = 0x84
	alawAMI  = 0x55
)

var (
	ulawEnc [65536]byte
	alawEnc [8192]byte
	ulawDec [256]int16
	alawDec [256]int16
)

func init() {
	for i := range ulawEnc {
		ulawEnc[i] = ulawEncodeRef(int(int16(uint16(i))))
	}
	for i := range alawEnc {
		// Index i holds samples whose value>>3 equals the signed 13-bit i.
		v := int(int16(uint16(i << 3))) // low 3 bits zero
		alawEnc[i] = alawEncodeRef(v)
	}
	for i := range 256 {
		ulawDec[i] = ulawDecodeRef(byte(i))
		alawDec[i] = alawDecodeRef(byte(i))
	}
}

// topBit returns the index of the highest set bit of v (v > 0).
func topBit(v int) int { return bits.Len(uint(v)) - 1 }

// ulawEncodeRef is the reference µ-law quantiser used to build the table.
func ulawEncodeRef(linear int) byte {
	mask := 0xFF
	if linear >= 0 {
		linear = ulawBias + linear
	} else {
		linear = ulawBias - linear
		mask = 0x7F
	}
	seg := topBit(linear|0xFF) - 7
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	return byte(((seg << 4) | ((linear >> (seg + 3)) & 0x0F)) ^ mask)
}

// ulawDecodeRef is the reference µ-law expander used to build the table.
func ulawDecodeRef(code byte) int16 {
	u := int(^code)
	t := (((u & 0x0F) << 3) + ulawBias) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// alawEncodeRef is the reference A-law quantiser used to build the table.
func alawEncodeRef(linear int) byte {
	mask := alawAMI | 0x80
	if linear < 0 {
		mask = alawAMI
		linear = -linear - 1
	}
	seg := topBit(linear|0xFF) - 7
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	shift := 4
	if seg > 0 {
		shift = seg + 3
	}
	return byte(((seg << 4) | ((linear >> shift) & 0x0F)) ^ mask)
}

// alawDecodeRef is the reference A-law expander used to build the table.
func alawDecodeRef(code byte) int16 {
	a := int(code ^ alawAMI)
	i := (a & 0x0F) << 4
	seg := (a & 0x70) >> 4
	if seg > 0 {
		i = (i + 0x108) << (seg - 1)
	} else {
		i += 8
	}
	if a&0x80 != 0 {
		return int16(i)
	}
	return int16(-i)
}

// MulawEncode compresses one linear sample to a G.711 µ-law code word.
// Out-of-range magnitudes saturate to the largest code; 0 encodes as 0xFF.
func MulawEncode(s int16) byte { return ulawEnc[uint16(s)] }

// MulawDecode expands a G.711 µ-law code word to a linear sample
// (range ±32124; both 0x7F and 0xFF decode to 0).
func MulawDecode(c byte) int16 { return ulawDec[c] }

// AlawEncode compresses one linear sample to a G.711 A-law code word
// (0 encodes as 0xD5).
func AlawEncode(s int16) byte { return alawEnc[uint16(s)>>3] }

// AlawDecode expands a G.711 A-law code word to a linear sample
// (range ±32256; no code decodes to exactly 0).
func AlawDecode(c byte) int16 { return alawDec[c] }

// EncodeMulaw µ-law encodes min(len(dst), len(src)) samples of src into dst.
func EncodeMulaw(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = ulawEnc[uint16(s)]
	}
}

// DecodeMulaw expands min(len(dst), len(src)) µ-law codes of src into dst.
func DecodeMulaw(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, c := range src {
		dst[i] = ulawDec[c]
	}
}

// EncodeAlaw A-law encodes min(len(dst), len(src)) samples of src into dst.
func EncodeAlaw(dst []byte, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, s := range src {
		dst[i] = alawEnc[uint16(s)>>3]
	}
}

// DecodeAlaw expands min(len(dst), len(src)) A-law codes of src into dst.
func DecodeAlaw(dst []int16, src []byte) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, c := range src {
		dst[i] = alawDec[c]
	}
}
