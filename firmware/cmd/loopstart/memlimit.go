package main

import "fmt"

// The Go runtime's soft memory limit for `loopstart run` (--memory-limit).
// Left alone, the runtime lets the heap grow to twice what is live before
// it collects, so a burst of garbage (a SIP flood: every refused request's
// transaction lives 32 s) doubles the gateway's RSS on a board that has
// the RAM for neither. The default limit is sized for the board: a base
// for the program's own structures, web UI and SIP stack plus an
// allowance per port (its streams, line and, on a model board, chip model
// and phone; docs/PERFORMANCE.md has the breakdown). It is a soft limit:
// the runtime collects more often as the heap nears it and never fails an
// allocation for it.
const (
	memLimitBase    = 24 << 20
	memLimitPerPort = 1 << 20
	maxMemLimitMiB  = 1 << 20 // 1 TiB: beyond it a typing error
)

// memoryLimit is the limit to set, in bytes, for --memory-limit flagMiB
// (−1: none, 0: the board's default, else MiB), the GOMEMLIMIT environment
// variable env and a board of ports ports; ok false leaves the runtime's
// own (GOMEMLIMIT when set, else none). An explicit flag wins over
// GOMEMLIMIT, GOMEMLIMIT over the board's default.
func memoryLimit(flagMiB int, env string, ports int) (limit int64, ok bool, err error) {
	switch {
	case flagMiB < -1:
		return 0, false, fmt.Errorf("--memory-limit %d: want MiB, 0 for the board's default or -1 for none", flagMiB)
	case flagMiB == -1:
		return 0, false, nil
	case flagMiB > 0:
		if flagMiB > maxMemLimitMiB {
			return 0, false, fmt.Errorf("--memory-limit %d: more than %d MiB", flagMiB, maxMemLimitMiB)
		}
		return int64(flagMiB) << 20, true, nil
	case env != "":
		return 0, false, nil
	}
	return memLimitBase + memLimitPerPort*int64(max(ports, 0)), true, nil
}
