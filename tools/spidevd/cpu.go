package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CPU is the guest's CPU time in clock ticks (USER_HZ): all of it and its
// idle part from /proc/stat, and the processes' user+system time summed
// by command name from /proc/PID/stat. Two samples apart give the share
// the gateway and this server take.
type CPU struct {
	Total int64            `json:"total"`
	Idle  int64            `json:"idle"`
	Procs map[string]int64 `json:"procs"`
}

// readCPU samples the CPU times under root ("/proc").
func readCPU(root string) (CPU, error) {
	c := CPU{Procs: map[string]int64{}}
	b, err := os.ReadFile(filepath.Join(root, "stat"))
	if err != nil {
		return c, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return c, fmt.Errorf("%s/stat: first line %q", root, line)
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("%s/stat: %w", root, err)
		}
		c.Total += n
		if i == 3 || i == 4 { // idle, iowait
			c.Idle += n
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "[0-9]*", "stat"))
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue // the process ended
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		rest := strings.Fields(s[end+1:])
		if len(rest) < 13 {
			continue
		}
		// Fields after the command: state is 3, utime 14 and stime 15.
		ut, err1 := strconv.ParseInt(rest[11], 10, 64)
		st, err2 := strconv.ParseInt(rest[12], 10, 64)
		if err1 == nil && err2 == nil {
			c.Procs[s[open+1:end]] += ut + st
		}
	}
	return c, nil
}
