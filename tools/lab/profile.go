package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ProfileDir is where a measurement build of the gateway writes its
// profiles (LOOPSTART_PROFILE), "" when the gateway is the product build.
func ProfileDir() string { return os.Getenv("LOOPSTART_PROFILE") }

// HeapProfile asks a measurement build of the gateway (LOOPSTART_PROFILE
// set, see Binary) for heap profile number n and logs its memory
// statistics; it does nothing on a product build.
func (g *Gateway) HeapProfile(t testing.TB, n int) {
	t.Helper()
	dir := ProfileDir()
	if dir == "" {
		return
	}
	if err := syscall.Kill(g.proc.PID(), syscall.SIGUSR2); err != nil {
		t.Fatalf("heap profile: %v", err)
	}
	stats := filepath.Join(dir, fmt.Sprintf("memstats-%d.txt", n))
	Eventually(t, 20*time.Second, "heap profile written", func() error {
		_, err := os.Stat(stats)
		return err
	})
	b, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heap profile %s:\n%s", filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", n)), b)
}

// CPUProfile starts (or stops) a CPU profile in a measurement build of the
// gateway; it does nothing on a product build.
func (g *Gateway) CPUProfile(t testing.TB) {
	t.Helper()
	if ProfileDir() == "" {
		return
	}
	if err := syscall.Kill(g.proc.PID(), syscall.SIGUSR1); err != nil {
		t.Fatalf("cpu profile: %v", err)
	}
}
