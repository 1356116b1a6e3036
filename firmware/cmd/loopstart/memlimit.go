package main

import "fmt"

// The Go runtime's soft memory limit for `loopstart run` (--memory-limit).
// Left alone, the runtime lets the heap grow to twice what is live before
// it collects: on a 32-port board about 10 MiB live held over 20 MiB of
// heap, more after a burst of garbage (a SIP flood). So by default the
// limit is sized by the board: boardLimitBase plus boardLimitPerPort a
// port, which on a small board lies above what the runtime's own pacing
// reaches (the limit never bites) and on a 32-port one keeps the runtime
// near 24 MiB. A limit near the live heap makes the runtime collect
// continuously, which costs CPU and, through each collection's
// stop-the-world, the media loop's margin: 20 MiB at 32 ports under the
// flood put 5 % of frames' work over 2.5 ms (docs/PERFORMANCE.md, round
// 10). --memory-limit MiB sets another; GOMEMLIMIT in the environment
// (GOMEMLIMIT=off for none) is left to the runtime.

// boardLimitBase and boardLimitPerPort size the default limit.
const (
	boardLimitBase    = 16 << 20
	boardLimitPerPort = 256 << 10
)

// boardLimit is the default limit for a board of ports ports.
func boardLimit(ports int) int64 {
	return boardLimitBase + int64(max(ports, 0))*boardLimitPerPort
}

// maxMemLimitMiB bounds --memory-limit: beyond 1 TiB it is a typing error.
const maxMemLimitMiB = 1 << 20

// memoryLimit is the limit to set, in bytes, for --memory-limit flagMiB on
// a board of ports ports, with gomemlimit the GOMEMLIMIT environment
// variable: 0 takes the board's default (boardLimit) unless GOMEMLIMIT is
// set; ok false leaves the runtime's.
func memoryLimit(flagMiB, ports int, gomemlimit string) (limit int64, ok bool, err error) {
	switch {
	case flagMiB < 0:
		return 0, false, fmt.Errorf("--memory-limit %d: want MiB, or 0 for the board's default (GOMEMLIMIT when set)", flagMiB)
	case flagMiB > maxMemLimitMiB:
		return 0, false, fmt.Errorf("--memory-limit %d: more than %d MiB", flagMiB, maxMemLimitMiB)
	case flagMiB == 0 && gomemlimit != "":
		return 0, false, nil
	case flagMiB == 0:
		return boardLimit(ports), true, nil
	}
	return int64(flagMiB) << 20, true, nil
}
