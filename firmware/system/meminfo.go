package system

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// MemInfo is the system-wide memory the boot state reports, from
// /proc/meminfo, in KiB.
type MemInfo struct {
	// Total is MemTotal: the RAM the kernel manages (what -m or the
	// board has, less the kernel's own image and reservations).
	Total int64 `json:"total_kib"`
	// Available is MemAvailable: what could still be allocated without
	// swapping (there is no swap).
	Available int64 `json:"available_kib"`
	// Free is MemFree.
	Free int64 `json:"free_kib"`
}

// ParseMemInfo reads MemTotal, MemFree and MemAvailable from the text
// of /proc/meminfo; a missing field is an error.
func ParseMemInfo(r io.Reader) (MemInfo, error) {
	var m MemInfo
	want := map[string]*int64{"MemTotal": &m.Total, "MemFree": &m.Free, "MemAvailable": &m.Available}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		p, known := want[name]
		if !ok || !known {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "kB") {
			return m, fmt.Errorf("meminfo: %s: unexpected %q", name, rest)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return m, fmt.Errorf("meminfo: %s: %q is not a size", name, f[0])
		}
		*p = n
		delete(want, name)
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("meminfo: %w", err)
	}
	if len(want) > 0 {
		var missing []string
		for n := range want {
			missing = append(missing, n)
		}
		return m, fmt.Errorf("meminfo: no %s", strings.Join(missing, ", "))
	}
	return m, nil
}

// readMemInfo is ParseMemInfo of /proc/meminfo; nil when it cannot be
// read.
func readMemInfo() *MemInfo {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	m, err := ParseMemInfo(f)
	if err != nil {
		return nil
	}
	return &m
}
