//go:build unix

package sim

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// mapAnon maps size bytes of private anonymous memory (zeroed; resident
// only where written).
func mapAnon(size int) ([]byte, bool) {
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, false
	}
	mapped.Add(1)
	return mem, true
}

// unmapAnon returns a mapping made by mapAnon.
func unmapAnon(mem []byte) {
	if unix.Munmap(mem) == nil {
		unmapped.Add(1)
	}
}

// mapped and unmapped count the mappings made and returned (for the tests).
var mapped, unmapped atomic.Int64
