package card

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Legacy U-Boot image header constants for a script (what
// `mkimage -A arm -O linux -T script -C none` writes).
const (
	imageMagic  = 0x27051956
	imageHeader = 64
	osLinux     = 5
	archARM     = 2
	typeScript  = 6
)

// ScriptImage wraps a U-Boot shell script as a legacy image (boot.scr):
// the 64-byte big-endian header with its CRC32 and the data's CRC32, then
// the data: the script's length, a zero word ending the length list, and
// the script. name goes in the header (up to 32 bytes).
func ScriptImage(name, script string, created uint32) ([]byte, error) {
	if len(name) > 32 {
		return nil, fmt.Errorf("script image: name %q longer than 32 bytes", name)
	}
	be := binary.BigEndian
	data := make([]byte, 8+len(script))
	be.PutUint32(data, uint32(len(script)))
	copy(data[8:], script)
	h := make([]byte, imageHeader)
	be.PutUint32(h[0:], imageMagic)
	be.PutUint32(h[8:], created)
	be.PutUint32(h[12:], uint32(len(data)))
	be.PutUint32(h[24:], crc32.ChecksumIEEE(data))
	h[28], h[29], h[30], h[31] = osLinux, archARM, typeScript, 0
	copy(h[32:], name)
	be.PutUint32(h[4:], crc32.ChecksumIEEE(h))
	return append(h, data...), nil
}

// ParseScriptImage checks a legacy script image and returns its script.
func ParseScriptImage(b []byte) (string, error) {
	be := binary.BigEndian
	if len(b) < imageHeader+8 || be.Uint32(b) != imageMagic {
		return "", errors.New("script image: no legacy image header")
	}
	h := bytes.Clone(b[:imageHeader])
	hcrc := be.Uint32(h[4:])
	be.PutUint32(h[4:], 0)
	if crc32.ChecksumIEEE(h) != hcrc {
		return "", errors.New("script image: bad header CRC")
	}
	if h[30] != typeScript {
		return "", fmt.Errorf("script image: type %d, not a script", h[30])
	}
	size := be.Uint32(h[12:])
	if uint64(size) > uint64(len(b)-imageHeader) {
		return "", errors.New("script image: data shorter than the header says")
	}
	data := b[imageHeader : imageHeader+int(size)]
	if crc32.ChecksumIEEE(data) != be.Uint32(h[24:]) {
		return "", errors.New("script image: bad data CRC")
	}
	n := be.Uint32(data)
	if be.Uint32(data[4:]) != 0 || uint64(n) > uint64(len(data)-8) {
		return "", errors.New("script image: bad length list")
	}
	return string(data[8 : 8+n]), nil
}
