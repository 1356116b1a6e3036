package system

import (
	"errors"
	"fmt"
	"io"
)

// Probe results.
const (
	ProbeBlank   = "blank"   // the first MiB is all zeros
	ProbeExt     = "ext4"    // an ext2/3/4 superblock
	ProbeUnknown = "unknown" // something else: never formatted over
)

// ProbeFS tells a blank device from an ext4 one from anything else,
// reading its first MiB.
func ProbeFS(dev io.ReaderAt) (string, error) {
	buf := make([]byte, 1<<20)
	n, err := dev.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("probe: %w", err)
	}
	buf = buf[:n]
	// The superblock starts at 1024; s_magic is at offset 56 in it.
	if len(buf) >= 1082 && buf[1080] == 0x53 && buf[1081] == 0xEF {
		return ProbeExt, nil
	}
	for _, c := range buf {
		if c != 0 {
			return ProbeUnknown, nil
		}
	}
	return ProbeBlank, nil
}
