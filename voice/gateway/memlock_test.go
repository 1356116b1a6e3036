package gateway

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestLockMemory: the executable's pages end up locked (VmLck > 0).
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
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmLck:") {
			if f := strings.Fields(l); len(f) < 2 || f[1] == "0" {
				t.Fatalf("nothing locked: %q", l)
			}
			return
		}
	}
	t.Fatal("no VmLck in /proc/self/status")
}
