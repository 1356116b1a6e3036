// Command loopstart is the gateway firmware's one binary.
//
//	loopstart run --board sim --data DIR --http 127.0.0.1:8080 --sip 127.0.0.1:5062 [--config FILE]
//	loopstart config check FILE
//	loopstart phone [--http ADDR] N status|off|on|flash|dial DIGITS|say HZ [DBFS]|quiet|heard -o FILE|list
//	loopstart version
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/loopstart/loopstart/drivers/pcm/alsa/selftest"
	"github.com/loopstart/loopstart/dsp/dsptool"
)

// version is the firmware version; the build sets it with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// The product image's /init is loopstart itself: as PID 1 it starts
	// `loopstart boot` and reaps (system.Init); the kernel's arguments
	// for init are not commands.
	if os.Getpid() == 1 && filepath.Base(os.Args[0]) == "init" {
		os.Exit(initCmd(os.Stderr))
	}
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdout, stderr)
	case "config":
		return configCmd(args[1:], stdout, stderr)
	case "phone":
		return phoneCmd(args[1:], stdout, stderr)
	case "boot":
		return bootCmd(args[1:], stdout, stderr)
	case "dsp":
		return dsptool.Main(args[1:], stdout, stderr)
	case "pcm-selftest": // hidden: the ALSA highway on snd-aloop
		return selftest.Main(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "loopstart", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "loopstart: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  loopstart run --board sim --data DIR --http ADDR --sip ADDR [--config FILE]
  loopstart config check FILE
  loopstart config convert [-mac HEX] [-onto FILE] FILE
  loopstart phone [--http ADDR] N status|off|on|flash|dial DIGITS|say HZ[,HZ] [DBFS]|quiet|heard -o FILE|list
  loopstart boot                       (PID-1 side on the image: mounts, network, supervision)
  loopstart dsp SUBCOMMAND ...         (DSP tools on 8 kHz WAV files; loopstart dsp -h)
  loopstart version
`)
}
