package main

import "fmt"

// The Go runtime's soft memory limit for `loopstart run` (--memory-limit).
// Left alone, the runtime lets the heap grow to twice what is live before
// it collects, so a burst of garbage (a SIP flood: every refused request's
// transaction lives 32 s) doubles the gateway's RSS; a board short of RAM
// caps it with --memory-limit (or GOMEMLIMIT). It is not on by default:
// a limit near the live heap makes the runtime collect several times as
// often, and every collection's stop-the-world waits for every thread to
// reach a safe point — under CPU contention (the same flood) the media
// loop's frame waits with it (docs/PERFORMANCE.md: TestInteropFlood failed
// two runs of three with a 27 MiB limit on the 2+1 board, passed without).

// maxMemLimitMiB bounds --memory-limit: beyond 1 TiB it is a typing error.
const maxMemLimitMiB = 1 << 20

// memoryLimit is the limit to set, in bytes, for --memory-limit flagMiB
// (0: the runtime's own — GOMEMLIMIT when set, else none); ok false leaves
// the runtime's.
func memoryLimit(flagMiB int) (limit int64, ok bool, err error) {
	switch {
	case flagMiB < 0:
		return 0, false, fmt.Errorf("--memory-limit %d: want MiB, or 0 for the runtime's own (GOMEMLIMIT)", flagMiB)
	case flagMiB > maxMemLimitMiB:
		return 0, false, fmt.Errorf("--memory-limit %d: more than %d MiB", flagMiB, maxMemLimitMiB)
	case flagMiB == 0:
		return 0, false, nil
	}
	return int64(flagMiB) << 20, true, nil
}
