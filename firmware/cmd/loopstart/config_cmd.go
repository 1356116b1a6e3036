package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/loopstart/loopstart/firmware/config"
)

const configUsage = `usage:
  loopstart config check FILE       check a configuration file; exit 0 if valid,
                                    1 with one line per problem if not
  loopstart config default [-ports N]
                                    print the built-in configuration (used when
                                    no --config is given)
  loopstart config convert [-mac HEX] [-onto FILE] FILE
                                    print a Grandstream or Cisco SPA provisioning
                                    file as native XML (loopstart config convert -h)
`

// configCmd runs `loopstart config ...` and returns the exit code: 0 on
// success, 1 when the file is invalid or unreadable, 2 on a usage error.
func configCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return configCheck(args[1:], stdout, stderr)
	case "default":
		return configDefault(args[1:], stdout, stderr)
	case "convert":
		return configConvert(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, configUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "loopstart config: unknown command %q\n%s", args[0], configUsage)
		return 2
	}
}

func configCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, configUsage) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "loopstart config check: want exactly one FILE, got %d arguments\n%s", fs.NArg(), configUsage)
		return 2
	}
	file := fs.Arg(0)
	_, err := config.ParseFile(file)
	if err == nil {
		fmt.Fprintf(stdout, "%s: ok\n", file)
		return 0
	}
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		for _, p := range verr.Problems {
			fmt.Fprintf(stderr, "%s: %s\n", file, p)
		}
		return 1
	}
	fmt.Fprintf(stderr, "%s: %v\n", file, err)
	return 1
}

func configDefault(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config default", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, configUsage) }
	ports := fs.Int("ports", 2, "number of FXS ports")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || *ports < 1 || *ports > config.MaxPorts {
		fmt.Fprintf(stderr, "loopstart config default: -ports must be 1..%d and no arguments follow\n", config.MaxPorts)
		return 2
	}
	b, err := config.Default(*ports).Marshal()
	if err != nil {
		fmt.Fprintf(stderr, "loopstart config default: %v\n", err)
		return 1
	}
	stdout.Write(b)
	return 0
}
