package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/loopstart/loopstart/board/factory"
	"github.com/loopstart/loopstart/firmware/system"
)

// bootCmd is `loopstart boot`: the PID-1 side on the image (loopstart's
// own init, or u-root's in a debug image, runs it as its child), or, with
// an argument, a request to the running boot process: `loopstart boot
// reboot|poweroff|status`.
func bootCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("boot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	force := fs.Bool("force", false, "run the board bring-up even when the parent is not init (never on a development machine)")
	socket := fs.String("socket", system.ControlSocket, "control socket of the running boot process")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch fs.NArg() {
	case 0:
	case 1:
		out, err := system.Request(*socket, fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "loopstart boot: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, out)
		return 0
	default:
		fmt.Fprintln(stderr, "usage: loopstart boot [reboot|poweroff|status]")
		return 2
	}
	// Mounting, loading modules and rebooting belong on the board only.
	if os.Getpid() != 1 && os.Getppid() != 1 && !*force {
		fmt.Fprintln(stderr, "loopstart boot: runs only as the image's init (parent pid 1); see `make qemu`")
		return 2
	}
	exe, err := os.Executable()
	if err != nil && filepath.IsAbs(os.Args[0]) {
		// Started by loopstart's init before /proc is mounted (the
		// runtime looks the executable up once, at start).
		exe, err = os.Args[0], nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "loopstart boot: %v\n", err)
		return 1
	}
	err = system.Boot(context.Background(), system.BootOptions{Binary: exe, Console: stderr, Version: version,
		ResetButton: factory.ResetButton})
	fmt.Fprintf(stderr, "loopstart boot: %v\n", err)
	return 1
}

// initCmd is loopstart as the image's /init (PID 1): it runs `loopstart
// boot` and reaps; it returns only when that ended (the kernel panics
// when PID 1 exits, and the board's panic handling reboots it).
func initCmd(stderr io.Writer) int {
	// /proc is not mounted yet, so os.Executable cannot tell; /init
	// links to the binary.
	exe := "/bin/loopstart"
	if p, err := filepath.EvalSymlinks(os.Args[0]); err == nil {
		exe = p
	}
	err := system.Init(exe, stderr)
	fmt.Fprintf(stderr, "loopstart init: %v\n", err)
	return 1
}
