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
// data of the executable) into RAM, so the media loop never stalls on a
// page fault that has to read the binary back from storage: with a cold
// page cache, after boot or a fresh build, one such fault costs tens of
// milliseconds, several frames. It locks only the executable's mappings,
// not the heap: mlockall would also commit the Go runtime's large
// reservations (measured: 150 MiB resident instead of 12). It needs
// CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK; callers log the error and
// go on. Call it once from main, after start-up.
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
		// The raw call: the range is an address, not Go memory.
		if _, _, errno := unix.Syscall(unix.SYS_MLOCK, uintptr(start), uintptr(end-start), 0); errno != 0 {
			return fmt.Errorf("lock memory: mlock %s of %s: %w", fields[0], exe, errno)
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
