package system

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunSelfTest runs a stand-in binary (a shell script) as the self-test
// and checks the result line, the pass verdict and the console copy.
func TestRunSelfTest(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	for _, c := range []struct {
		name, script, test, line string
		pass                     bool
	}{
		{"pass", "echo starting; echo \"$1: PASS figures\"", "pcm", "pcm-selftest: PASS figures", true},
		{"fail exit", "echo \"$1: FAIL slot 2\"; exit 1", "pcm", "pcm-selftest: FAIL slot 2", false},
		{"silent crash", "exit 3", "pcm", "selftest pcm: FAIL exit status 3", false},
		{"unknown", "exit 0", "disk", "selftest disk: unknown", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "loopstart")
			if err := os.WriteFile(bin, []byte("#!/bin/sh\n"+c.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			var con bytes.Buffer
			line, pass := RunSelfTest(context.Background(), bin, c.test, &con)
			if line != c.line || pass != c.pass {
				t.Errorf("got %q pass=%v, want %q pass=%v", line, pass, c.line, c.pass)
			}
			if c.test == "pcm" && !strings.Contains(con.String(), strings.TrimPrefix(c.line, "selftest pcm: ")) && c.name != "silent crash" {
				t.Errorf("console %q lacks the result", con.String())
			}
		})
	}
}
