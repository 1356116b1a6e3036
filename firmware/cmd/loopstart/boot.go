package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/loopstart/loopstart/board/factory"
	"github.com/loopstart/loopstart/firmware/system"
)

// bootCmd is `loopstart boot`: the PID-1 side on the image (u-root's init
// runs it as uinit), or, with an argument, a request to the running boot
// process: `loopstart boot reboot|poweroff|status`.
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
	if err != nil {
		fmt.Fprintf(stderr, "loopstart boot: %v\n", err)
		return 1
	}
	err = system.Boot(context.Background(), system.BootOptions{Binary: exe, Console: stderr, Version: version,
		ResetButton: factory.ResetButton})
	fmt.Fprintf(stderr, "loopstart boot: %v\n", err)
	return 1
}
