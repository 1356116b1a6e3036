package gateway

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockMemory locks the program's own pages (text, read-only data and
// data of the executable) into RAM as they are first touched, so the
// media loop never stalls on a page fault that has to read the binary
// back from storage: with a cold page cache, after boot or a fresh build,
// one such fault costs tens of milliseconds, several frames. It locks
// only the executable's mappings, not the heap: mlockall would also
// commit the Go runtime's large reservations (measured: 150 MiB resident
// instead of 12), and with MCL_FUTURE it would keep every heap page the
// runtime returns to the kernel resident too.
//
// Why on first touch (mlock2 with MLOCK_ONFAULT, Linux 4.4 and later)
// and not all of it: locking a range faults in every page of it, 15.6 MiB
// of an amd64 binary of which a running gateway touches a part (see
// docs/PERFORMANCE.md, "Round 7: memory under the flood"), and those
// pages count in its RSS. What the loop runs is touched in its first
// frames (the idle loop) and at its first call (the call path), and is
// locked from then on; no page it touched is ever evicted and read back.
// The pages are also asked to be read ahead (MADV_WILLNEED), so a first
// touch finds them in the page cache on a storage-backed root instead of
// waiting for the storage. On the product's root, an initramfs in RAM,
// the binary's pages are in RAM whatever is locked: a first touch is a
// minor fault (no I/O, microseconds), and locking everything up front
// would buy nothing but a larger RSS. A kernel that refuses
// MLOCK_ONFAULT (before 4.4: ENOSYS or EINVAL) gets every page locked
// as before.
//
// It needs CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK; callers log the
// error and go on. Call it once from main, after start-up.
func LockMemory() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("lock memory: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return fmt.Errorf("lock memory: %w", err)
	}
	defer f.Close()
	locked := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00c52000 r-xp 00000000 fe:01 1234 /path/to/loopstart
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if err := lockRange(uintptr(start), uintptr(end-start)); err != nil {
			return fmt.Errorf("lock memory: %s of %s: %w", fields[0], exe, err)
		}
		locked++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("lock memory: %w", err)
	}
	if locked == 0 {
		return fmt.Errorf("lock memory: no mapping of %s in /proc/self/maps", exe)
	}
	return nil
}

// mlockOnFault is mlock2's MLOCK_ONFAULT (linux/mman.h).
const mlockOnFault = 1

// onFaultRefused is set once the kernel refused MLOCK_ONFAULT: every
// later range is locked whole.
var onFaultRefused bool

// lockRange locks [start, start+n) as its pages are first touched, after
// asking the kernel to read them ahead; whole, with mlock, where the
// kernel has no MLOCK_ONFAULT. The raw calls: the range is an address,
// not Go memory.
func lockRange(start, n uintptr) error {
	if !onFaultRefused {
		// Advice only: a failure changes nothing that matters.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, start, n, unix.MADV_WILLNEED)
		_, _, errno := unix.Syscall(unix.SYS_MLOCK2, start, n, mlockOnFault)
		if errno == 0 {
			return nil
		}
		if errno != unix.ENOSYS && errno != unix.EINVAL {
			return fmt.Errorf("mlock2: %w", errno)
		}
		onFaultRefused = true
	}
	if _, _, errno := unix.Syscall(unix.SYS_MLOCK, start, n, 0); errno != 0 {
		return fmt.Errorf("mlock: %w", errno)
	}
	return nil
}
