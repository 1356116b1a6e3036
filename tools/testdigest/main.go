// Command testdigest runs a `go test -v` command, passes its output
// through unchanged and, when the command fails, ends with a digest: each
// failing test's own messages, without the peer logs the lab dumps on
// failure (Kamailio's or baresip's last 80 lines), and the FAIL lines.
// A CI log that keeps only the tail of the output then still shows why.
//
//	testdigest [-keep N] -- go test -v ./tools/lab/
//
// It exits with the command's exit code.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	keep := flag.Int("keep", 30, "messages kept per failing test (the last ones)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: testdigest [-keep N] -- command [args...]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(flag.Args(), os.Stdout, *keep))
}

// run starts args, copies its combined output to out while reading it,
// and prints the digest after it when the command failed.
func run(args []string, out io.Writer, keep int) int {
	cmd := exec.Command(args[0], args[1:]...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr, cmd.Stdin = pw, pw, os.Stdin
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(out, "testdigest: %v\n", err)
		return 2
	}
	// An interrupt reaches the command (same process group); wait for it.
	signal.Ignore(syscall.SIGINT)
	d := newDigest(keep)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(out, line)
			d.line(line)
		}
		// A line over the buffer: pass the rest through undigested.
		_, _ = io.Copy(out, pr)
	}()
	err := cmd.Wait()
	pw.Close()
	<-done
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
		if code < 0 {
			code = 1
		}
	case err != nil:
		fmt.Fprintf(out, "testdigest: %v\n", err)
		code = 1
	}
	if code != 0 {
		d.write(out)
	}
	return code
}
