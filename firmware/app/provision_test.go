package app

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/config"
	"github.com/loopstart/loopstart/firmware/provision"
	"github.com/loopstart/loopstart/firmware/system"
)

// TestUseDHCPOptions: the servers of the lease `loopstart boot` published
// reach the provisioner; a missing file changes nothing.
func TestUseDHCPOptions(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	newProv := func() *provision.Provisioner {
		return provision.New(provision.Options{
			Current: func() *config.Config { return config.Default(2) },
			Apply:   func(*config.Config) error { return nil },
		})
	}
	dir := t.TempDir()

	p := newProv()
	useDHCPOptions(p, filepath.Join(dir, "absent.json"), log)
	if s := p.Status().Servers; len(s) != 0 {
		t.Fatalf("servers %v without a lease", s)
	}

	path := filepath.Join(dir, "dhcp-options.json")
	if err := system.WriteDHCPOptions(path, system.DHCPOptions{66: []byte("10.0.2.2")}); err != nil {
		t.Fatal(err)
	}
	p = newProv()
	useDHCPOptions(p, path, log)
	if s := strings.Join(p.Status().Servers, " "); !strings.Contains(s, "10.0.2.2") {
		t.Fatalf("servers %q, want the option 66 server 10.0.2.2", s)
	}
}

// TestReadLastCrash: the supervisor's crash report reaches the status.
func TestReadLastCrash(t *testing.T) {
	dir := t.TempDir()
	if got := readLastCrash(dir); got != "" {
		t.Fatalf("no report: got %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, system.CrashFileName), []byte("exit status 2: panic: boom\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readLastCrash(dir); got != "exit status 2: panic: boom" {
		t.Fatalf("got %q", got)
	}
}
