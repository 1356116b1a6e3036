package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// SetRealtime puts every thread of process pid into the SCHED_FIFO class at
// prio. Tests that measure the gateway's timing use it on the far-end
// peers (test equipment standing in for phones on other machines), so that
// what a shared, busy test machine does to their timing is not blamed on
// the gateway. It needs CAP_SYS_NICE (root).
func SetRealtime(pid, prio int) error {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return fmt.Errorf("threads of %d: %w", pid, err)
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(prio)}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
			return fmt.Errorf("sched_setattr(%d, SCHED_FIFO %d): %w", tid, prio, err)
		}
	}
	return nil
}

// PID returns the process id of the peer.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// SetNice sets the nice value of every thread of process pid (threads it
// starts later inherit it from the thread that starts them). The flood
// test gives the gateway the head start the device's one main process
// has, so that unrelated load on a shared test machine — not the flood —
// cannot starve the Go runtime threads its real-time loop depends on.
func SetNice(pid, nice int) error {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return fmt.Errorf("threads of %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
			return fmt.Errorf("setpriority(%d, %d): %w", tid, nice, err)
		}
	}
	return nil
}
