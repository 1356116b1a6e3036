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
		{"run on an unknown board", []string{"run", "--board", "nope"}, 1, "", `loopstart: --board "nope": unknown board (known: sim, qemu, rpi-tdm400, qemu-hil, nanopi-neo)`},
		{"run on a board without its devices", []string{"run", "--board", "rpi-tdm400", "--data", "DATA"}, 1, "", "loopstart: board rpi-tdm400: missing device files: /dev/spidev0.0, /dev/spidev0.1"},
		{"run on a sim board too large", []string{"run", "--fxs", "30", "--fxo", "3"}, 1, "", "loopstart: --fxs 30 --fxo 3: board: sim with 33 ports: one highway carries at most 32"},
		{"run on a sim board with negative ports", []string{"run", "--fxs", "-1"}, 1, "", "loopstart: --fxs -1 --fxo 0: board: sim with -1 FXS and 0 FXO ports: counts cannot be negative"},
		{"run sizing a real board", []string{"run", "--board", "rpi-tdm400", "--fxs", "4"}, 1, "", "loopstart: --fxs/--fxo: board rpi-tdm400 has real chips"},
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

func TestBoardDefinitionSized(t *testing.T) {
	for _, c := range []struct {
		board    string
		fxs, fxo int
		ports    int
		name     string
	}{
		{"sim", 0, 0, 3, "sim"},
		{"sim", 32, 0, 32, "sim"},
		{"sim", 16, 16, 32, "sim"},
		{"qemu", 1, 0, 1, "qemu"},
		{"sim", 0, 4, 4, "sim"},
	} {
		d, err := boardDefinition(c.board, c.fxs, c.fxo)
		if err != nil {
			t.Fatalf("%s %d+%d: %v", c.board, c.fxs, c.fxo, err)
		}
		if len(d.Chips) != c.ports || d.Name != c.name || d.Validate() != nil {
			t.Errorf("%s %d+%d: %q with %d chips (%v)", c.board, c.fxs, c.fxo, d.Name, len(d.Chips), d.Validate())
		}
	}
}
