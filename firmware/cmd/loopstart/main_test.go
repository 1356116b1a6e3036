package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestDispatch: each command reaches its implementation with its exit
// code; the moved tools (dsp, pcm-selftest) answer as before.
func TestDispatch(t *testing.T) {
	for _, c := range []struct {
		name      string
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{"no command", nil, 2, "", "usage:"},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, 0, "loopstart run", ""},
		{"version", []string{"version"}, 0, "loopstart " + version + "\n", ""},
		{"dsp without command", []string{"dsp"}, 2, "", "usage: loopstart dsp COMMAND"},
		{"dsp help", []string{"dsp", "-h"}, 0, "", "usage: loopstart dsp COMMAND"},
		{"dsp unknown", []string{"dsp", "nope"}, 1, "", `loopstart dsp: unknown command "nope"`},
		{"pcm-selftest bad slots", []string{"pcm-selftest", "-slots", "9"}, 2, "", "pcm-selftest: want -slots 1-8"},
		{"config without command", []string{"config"}, 2, "", "usage:"},
		{"run with an argument", []string{"run", "extra"}, 2, "", `loopstart run: unexpected argument "extra"`},
		{"run on an unknown board", []string{"run", "--board", "nope"}, 1, "", `loopstart: --board "nope": unknown board (known: sim, qemu, rpi-tdm400)`},
		{"run on a board without its devices", []string{"run", "--board", "rpi-tdm400", "--data", "DATA"}, 1, "", "loopstart: board rpi-tdm400: missing device files: /dev/spidev0.0, /dev/spidev0.1"},
		{"run with a bad log level", []string{"run", "--log-level", "loud"}, 1, "", "loopstart: --log-level:"},
		{"run with a bad syslog server", []string{"run", "--syslog", ":514"}, 1, "", `loopstart: --syslog: syslog ":514": no host in ":514"`},
		{"run with a bad metrics address", []string{"run", "--metrics-allow", "10.0.0.0/33"}, 2, "", `invalid value "10.0.0.0/33" for flag -metrics-allow`},
		{"run with a bad web host", []string{"run", "--web-host", "ata.example,-bad"}, 2, "", `invalid value "ata.example,-bad" for flag -web-host: "-bad" is not a host name`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := slices.Clone(c.args)
			for i, a := range args {
				if a == "DATA" {
					args[i] = t.TempDir()
				}
			}
			code := dispatch(args, &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), c.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", c.stdoutHas, stdout.String())
			}
			if !strings.Contains(stderr.String(), c.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", c.stderrHas, stderr.String())
			}
		})
	}
}
