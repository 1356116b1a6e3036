package gateway

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestLockMemory: the executable's pages end up locked (VmLck > 0), each
// of its mappings as its pages are first touched (VmFlags "lo" and "lf")
// unless the kernel refused MLOCK_ONFAULT, and far from all of the
// program's pages are resident for it.
func TestLockMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("mlock of the executable's mappings is Linux-only")
	}
	if err := LockMemory(); err != nil {
		if os.Geteuid() != 0 {
			t.Skipf("not root and RLIMIT_MEMLOCK too small: %v", err)
		}
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmLck:") {
			if f := strings.Fields(l); len(f) < 2 || f[1] == "0" {
				t.Fatalf("nothing locked: %q", l)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no VmLck in /proc/self/status")
	}
	maps := exeMappings(t)
	if len(maps) == 0 {
		t.Fatal("no mapping of the executable in /proc/self/smaps")
	}
	for _, m := range maps {
		if !m.flags["lo"] {
			t.Errorf("%s not locked (VmFlags %v)", m.name, m.flags)
		}
		if !onFaultRefused && !m.flags["lf"] {
			t.Errorf("%s locked whole, not on first touch (VmFlags %v)", m.name, m.flags)
		}
		t.Logf("%s: %d kB mapped, %d kB resident", m.name, m.sizeKB, m.rssKB)
	}
}

// mapping is one of the executable's mappings in /proc/self/smaps.
type mapping struct {
	name          string
	sizeKB, rssKB int
	flags         map[string]bool
}

// exeMappings reads the executable's mappings from /proc/self/smaps.
func exeMappings(t *testing.T) []mapping {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []mapping
	var cur *mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		switch {
		case strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			cur = nil
			if len(fields) >= 6 && fields[5] == exe {
				out = append(out, mapping{name: fields[0] + " " + fields[1], flags: map[string]bool{}})
				cur = &out[len(out)-1]
			}
		case cur == nil:
		case fields[0] == "Size:" && len(fields) > 1:
			cur.sizeKB = atoiOr0(fields[1])
		case fields[0] == "Rss:" && len(fields) > 1:
			cur.rssKB = atoiOr0(fields[1])
		case fields[0] == "VmFlags:":
			for _, fl := range fields[1:] {
				cur.flags[fl] = true
			}
		}
	}
	return out
}

func atoiOr0(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
