// Package g711 is the G.711 µ-law and A-law companding (ITU-T G.711) the chip
// models use to put companded PCM on the virtual highway. It is the plain
// segment algorithm, small and table-free; the product's own fast codec is
// voice/dsp, which drivers may not import.
package g711

// EncodeULaw returns the µ-law code of a 16-bit linear sample.
func EncodeULaw(s int16) byte {
	const bias = 0x84
	v := int(s)
	mask := byte(0xFF)
	if v < 0 {
		v = -v
		mask = 0x7F
	}
	v = min(v+bias, 0x7FFF)
	seg := 0
	for t := v >> 8; t > 0 && seg < 7; t >>= 1 {
		seg++
	}
	code := byte(seg<<4) | byte((v>>(seg+3))&0x0F)
	return code ^ mask
}

// DecodeULaw returns the linear sample of a µ-law code.
func DecodeULaw(c byte) int16 {
	c = ^c
	seg := int(c>>4) & 7
	v := ((int(c&0x0F) << 3) + 0x84) << seg
	v -= 0x84
	if c&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

// EncodeALaw returns the A-law code of a 16-bit linear sample.
func EncodeALaw(s int16) byte {
	v := int(s) >> 3 // 13-bit
	mask := byte(0xD5)
	if v < 0 {
		v = -v - 1
		mask = 0x55
	}
	if v > 0xFFF {
		v = 0xFFF
	}
	var code byte
	if v < 32 {
		code = byte(v >> 1)
	} else {
		seg := 1
		for t := v >> 6; t > 0 && seg < 7; t >>= 1 {
			seg++
		}
		code = byte(seg<<4) | byte((v>>seg)&0x0F)
	}
	return code ^ mask
}

// DecodeALaw returns the linear sample of an A-law code.
func DecodeALaw(c byte) int16 {
	c ^= 0x55
	seg := int(c>>4) & 7
	v := int(c&0x0F)<<4 + 8
	if seg > 0 {
		v = (v + 0x100) << (seg - 1)
	}
	if c&0x80 == 0 {
		return int16(-v)
	}
	return int16(v)
}
