package system

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// InitEnv is the environment Init gives the boot process.
var InitEnv = []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/", "TERM=linux"}

// Init is PID 1 of an image whose /init is loopstart itself (no u-root
// init): it starts `binary boot` as its only child, with the console as
// its standard streams and InitEnv, and reaps every process that ends —
// the boot process and whatever is orphaned below it, which the kernel
// hands to PID 1. It returns when the boot process has ended and no child
// is left (the kernel then panics, and the board's panic handling reboots
// it), or when the boot process cannot be started.
//
// The boot process is a separate child rather than PID 1 itself so that
// nothing else in it has to share wait(2) with this reaper: it starts and
// waits for its own children (the gateway) with os/exec as before.
func Init(binary string, stderr io.Writer) error {
	cmd := exec.Command(binary, "boot")
	cmd.Env = InitEnv
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("init: start %s boot: %w", binary, err)
	}
	return reap(cmd.Process.Pid, unix.Wait4, stderr)
}

// reap waits for any child until none is left (ECHILD), reporting how the
// boot process (pid) ended. wait4 is unix.Wait4 (tests replace it).
func reap(pid int, wait4 func(int, *unix.WaitStatus, int, *unix.Rusage) (int, error), stderr io.Writer) error {
	var bootErr error
	bootDone := false
	for {
		var ws unix.WaitStatus
		got, err := wait4(-1, &ws, 0, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			if !bootDone {
				return fmt.Errorf("init: boot process %d vanished", pid)
			}
			return bootErr
		case err != nil:
			return fmt.Errorf("init: wait: %w", err)
		}
		if got != pid {
			continue // an orphan
		}
		bootDone = true
		switch {
		case ws.Exited():
			bootErr = fmt.Errorf("init: boot process exited with status %d", ws.ExitStatus())
		case ws.Signaled():
			bootErr = fmt.Errorf("init: boot process killed by %v", ws.Signal())
		default:
			bootErr = fmt.Errorf("init: boot process ended (%#x)", uint32(ws))
		}
		fmt.Fprintln(stderr, bootErr)
	}
}
