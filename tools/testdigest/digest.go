package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
)

var (
	// A test's state line: "=== RUN   TestX/sub", "=== CONT  TestX".
	stateLine = regexp.MustCompile(`^=== (?:RUN|CONT|NAME|PAUSE)\s+(\S+)`)
	// A test's result: "--- FAIL: TestX (1.23s)", indented for subtests.
	resultLine = regexp.MustCompile(`^\s*--- (FAIL|PASS|SKIP): (\S+)`)
	// The head of a t.Log or t.Error message: "    file_test.go:12: text".
	messageHead = regexp.MustCompile(`^(\s+)[^\s:]+\.go:\d+: `)
	// A package's end: "FAIL	path	1.2s", "ok  	path	1.2s".
	packageLine = regexp.MustCompile(`^(?:FAIL|ok)\s+\S+\s`)
)

// continuationLines is how many lines of a multi-line message the
// digest keeps.
const continuationLines = 3

// A message is one t.Log or t.Error message of a test.
type message struct {
	lines []string
	more  int // lines left out
}

// digest follows go test -v output line by line and keeps, per test, its
// last messages.
type digest struct {
	keep     int
	current  string                // the test the output belongs to
	messages map[string][]*message // by test
	dropped  map[string]int        // messages left out, by test
	failed   []string              // result lines of failing tests, in order
	packages []string              // failing packages' lines
	panics   []string              // a panic's first lines
	inPanic  int                   // panic lines still to keep
	inMsg    *message              // the message continuation lines go to
	inIndent int
	skipping bool // in a peer log's dump
}

// panicLines is how many lines of a panic (with its first goroutine's
// stack) the digest keeps.
const panicLines = 12

func newDigest(keep int) *digest {
	return &digest{keep: keep, messages: map[string][]*message{}, dropped: map[string]int{}}
}

// line takes the next output line.
func (d *digest) line(l string) {
	if strings.HasPrefix(l, "panic: ") {
		d.inPanic = panicLines
	}
	if packageLine.MatchString(l) {
		d.inPanic = 0
	}
	if d.inPanic > 0 {
		d.panics = append(d.panics, l)
		d.inPanic--
	}
	if m := stateLine.FindStringSubmatch(l); m != nil {
		d.current, d.inMsg, d.skipping = m[1], nil, false
		return
	}
	if m := resultLine.FindStringSubmatch(l); m != nil {
		d.inMsg, d.skipping = nil, false
		if m[1] == "FAIL" {
			d.failed = append(d.failed, strings.TrimSpace(l))
		}
		return
	}
	if packageLine.MatchString(l) {
		d.inMsg, d.skipping, d.current = nil, false, ""
		if strings.HasPrefix(l, "FAIL") {
			d.packages = append(d.packages, l)
		}
		return
	}
	if d.current == "" {
		return
	}
	if m := messageHead.FindStringSubmatch(l); m != nil {
		text := l[len(m[0]):]
		d.inMsg, d.skipping = nil, false
		// The lab's peer dump: "---- kamailio log (path) ----".
		if strings.HasPrefix(text, "---- ") && strings.Contains(text, " log ") {
			d.skipping = true
			return
		}
		msg := &message{lines: []string{l}}
		msgs := append(d.messages[d.current], msg)
		if len(msgs) > d.keep {
			d.dropped[d.current]++
			msgs = msgs[1:]
		}
		d.messages[d.current] = msgs
		d.inMsg, d.inIndent = msg, len(m[1])
		return
	}
	if d.skipping || d.inMsg == nil {
		return
	}
	// A continuation is indented deeper than its head.
	if len(l)-len(strings.TrimLeft(l, " \t")) <= d.inIndent {
		d.inMsg = nil
		return
	}
	if len(d.inMsg.lines) <= continuationLines {
		d.inMsg.lines = append(d.inMsg.lines, l)
	} else {
		d.inMsg.more++
	}
}

// write prints the digest: each failing test's messages, then the FAIL
// lines, last, where a log's tail shows them.
func (d *digest) write(w io.Writer) {
	if len(d.failed) == 0 && len(d.packages) == 0 && len(d.panics) == 0 {
		return
	}
	fmt.Fprintln(w, "==== testdigest: the failing tests' own messages (peer logs left out; the full output is above) ====")
	for _, f := range d.failed {
		name := resultLine.FindStringSubmatch(f)[2]
		fmt.Fprintln(w, f)
		if n := d.dropped[name]; n > 0 {
			fmt.Fprintf(w, "    (%d earlier messages left out)\n", n)
		}
		for _, m := range d.messages[name] {
			for _, l := range m.lines {
				fmt.Fprintln(w, l)
			}
			if m.more > 0 {
				fmt.Fprintf(w, "        (%d more lines)\n", m.more)
			}
		}
	}
	for _, l := range d.panics {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "==== testdigest: what failed ====")
	for _, f := range d.failed {
		fmt.Fprintln(w, f)
	}
	for _, p := range d.packages {
		fmt.Fprintln(w, p)
	}
}
