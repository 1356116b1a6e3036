package main

import (
	"bytes"
	"strings"
	"testing"
)

const hilFailure = `=== RUN   TestBootHIL
    hil_test.go:80: built qemu-amd64 in 20s:
        image qemu-amd64: kernel 6.1
        image qemu-amd64: modules
        image qemu-amd64: loopstart 15.5 MiB
        image qemu-amd64: initramfs
        image qemu-amd64: last
    hil_test.go:95: web UI after 5.075s
    hilcall_test.go:310: baresip's call closed by the phone's hang-up: not within 40s: no CALL_CLOSED
    lab.go:143: ---- baresip log (/tmp/x/baresip.log) ----
        baresip 3.0
        call: connecting
    lab.go:143: ---- kamailio log (/tmp/x/kamailio.log) ----
         4(11701) INFO: <core> [main.c:854]: sig_usr(): signal 15 received
--- FAIL: TestBootHIL (78.30s)
=== RUN   TestBootSmallMemory
    memory_test.go:62: -m 64: web UI after 3.441s
--- PASS: TestBootSmallMemory (31.56s)
=== RUN   TestTable
=== RUN   TestTable/two
    x_test.go:9: got 2, want 3
--- FAIL: TestTable (0.00s)
    --- FAIL: TestTable/two (0.00s)
FAIL
FAIL	github.com/loopstart/loopstart/buildroot/qemutest	406.118s
ok  	github.com/loopstart/loopstart/tools/lab	600.1s
`

func TestDigest(t *testing.T) {
	for _, c := range []struct {
		name, in  string
		keep      int
		want, not []string
	}{
		{
			name: "failures, peer logs left out",
			in:   hilFailure, keep: 30,
			want: []string{
				"--- FAIL: TestBootHIL (78.30s)\n    hil_test.go:80: built qemu-amd64 in 20s:\n        image qemu-amd64: kernel 6.1\n        image qemu-amd64: modules\n        image qemu-amd64: loopstart 15.5 MiB\n        (2 more lines)\n",
				"hilcall_test.go:310: baresip's call closed by the phone's hang-up: not within 40s",
				"--- FAIL: TestTable/two (0.00s)\n    x_test.go:9: got 2, want 3\n",
				"==== testdigest: what failed ====\n--- FAIL: TestBootHIL (78.30s)\n--- FAIL: TestTable (0.00s)\n--- FAIL: TestTable/two (0.00s)\nFAIL\tgithub.com/loopstart/loopstart/buildroot/qemutest\t406.118s\n",
			},
			not: []string{"sig_usr", "baresip 3.0", "memory_test.go", "tools/lab"},
		},
		{
			name: "only the last messages",
			in:   hilFailure, keep: 1,
			want: []string{"--- FAIL: TestBootHIL (78.30s)\n    (2 earlier messages left out)\n    hilcall_test.go:310:"},
			not:  []string{"hil_test.go:95"},
		},
		{
			name: "a panic",
			in:   "=== RUN   TestX\npanic: boom\n\ngoroutine 7 [running]:\nmain.f()\nFAIL\tpkg\t0.1s\n", keep: 30,
			want: []string{"panic: boom\n\ngoroutine 7 [running]:\nmain.f()\n==== testdigest: what failed ====\nFAIL\tpkg\t0.1s\n"},
		},
		{
			name: "all passed",
			in:   "=== RUN   TestX\n    x_test.go:1: fine\n--- PASS: TestX (0.00s)\nok  \tpkg\t0.1s\n", keep: 30,
			not: []string{"testdigest"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := newDigest(c.keep)
			for _, l := range strings.Split(strings.TrimSuffix(c.in, "\n"), "\n") {
				d.line(l)
			}
			var b bytes.Buffer
			d.write(&b)
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("digest lacks %q:\n%s", w, b.String())
				}
			}
			for _, n := range c.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("digest has %q:\n%s", n, b.String())
				}
			}
		})
	}
}

// TestRun runs a command through the digest: its output passes through,
// its exit code is returned, the digest follows a failure only.
func TestRun(t *testing.T) {
	for _, c := range []struct {
		script string
		code   int
		digest bool
	}{
		{"printf '=== RUN   TestX\\n    x_test.go:1: bad\\n--- FAIL: TestX (0.00s)\\nFAIL\\tpkg\\t0.1s\\n'; exit 1", 1, true},
		{"printf '=== RUN   TestX\\n--- PASS: TestX (0.00s)\\nok  \\tpkg\\t0.1s\\n'", 0, false},
		{"exit 3", 3, false},
	} {
		var b bytes.Buffer
		code := run([]string{"sh", "-c", c.script}, &b, 30)
		if code != c.code {
			t.Errorf("%q: exit code %d, want %d", c.script, code, c.code)
		}
		if got := strings.Contains(b.String(), "==== testdigest"); got != c.digest {
			t.Errorf("%q: digest printed %v, want %v:\n%s", c.script, got, c.digest, b.String())
		}
		if c.digest && !strings.HasPrefix(b.String(), "=== RUN   TestX\n    x_test.go:1: bad\n") {
			t.Errorf("%q: output not passed through first:\n%s", c.script, b.String())
		}
	}
	if code := run([]string{"/nonexistent/cmd"}, new(bytes.Buffer), 30); code != 2 {
		t.Errorf("a command that cannot start: exit code %d, want 2", code)
	}
}
