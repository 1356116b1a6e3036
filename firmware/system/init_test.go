package system

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReap: the reaper collects orphans, reports how the boot process
// ended, and returns only once no child is left.
func TestReap(t *testing.T) {
	exited := func(code int) unix.WaitStatus { return unix.WaitStatus(code << 8) }
	killed := unix.WaitStatus(9)
	type ev struct {
		pid int
		ws  unix.WaitStatus
		err error
	}
	for _, tc := range []struct {
		name    string
		events  []ev
		want    string
		reports bool
	}{
		{"orphans before and after the boot process", []ev{{7, 0, nil}, {0, 0, unix.EINTR}, {100, exited(1), nil}, {8, 0, nil}, {0, 0, unix.ECHILD}},
			"exited with status 1", true},
		{"killed", []ev{{100, killed, nil}, {0, 0, unix.ECHILD}}, "killed by killed", true},
		{"no boot process", []ev{{7, 0, nil}, {0, 0, unix.ECHILD}}, "vanished", false},
		{"wait fails", []ev{{0, 0, unix.EINVAL}}, "wait: invalid argument", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			wait4 := func(pid int, ws *unix.WaitStatus, opt int, ru *unix.Rusage) (int, error) {
				if pid != -1 || opt != 0 {
					t.Fatalf("wait4(%d, %d): want any child, blocking", pid, opt)
				}
				if i >= len(tc.events) {
					t.Fatal("waited past ECHILD")
				}
				e := tc.events[i]
				i++
				*ws = e.ws
				return e.pid, e.err
			}
			var log bytes.Buffer
			err := reap(100, wait4, &log)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if i != len(tc.events) {
				t.Errorf("stopped after %d of %d events", i, len(tc.events))
			}
			if got := strings.Contains(log.String(), tc.want); got != tc.reports {
				t.Errorf("log %q", log.String())
			}
		})
	}
}

// TestInitReapsOrphans runs Init as a child subreaper (a PID 1 stand-in)
// on a helper whose "boot" leaves an orphan behind: Init returns after
// both have ended, with the boot process's status.
func TestInitReapsOrphans(t *testing.T) {
	if os.Getenv("LOOPSTART_INIT_HELPER") == "1" {
		// The "boot process": start a grandchild and exit without waiting.
		c := exec.Command("sleep", "0.3")
		if err := c.Start(); err != nil {
			os.Exit(9)
		}
		os.Exit(3)
	}
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep")
	}
	script := t.TempDir() + "/boot"
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// binary boot → this test binary as the helper.
	if err := os.WriteFile(script, []byte("#!/bin/sh\nLOOPSTART_INIT_HELPER=1 exec "+self+" -test.run '^TestInitReapsOrphans$'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("no subreaper: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	var log bytes.Buffer
	err = Init(script, &log)
	if err == nil || !strings.Contains(err.Error(), "exited with status 3") {
		t.Fatalf("Init: %v (log %q)", err, log.String())
	}
	// Nothing left to reap: the orphan was collected too.
	if _, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); err != syscall.ECHILD {
		t.Errorf("a child is left: %v", err)
	}
}
