package system

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// SelfTests are the self-tests the kernel command line can ask for
// (loopstart.selftest=NAME[,NAME]): each is a loopstart subcommand run as
// a child before the gateway starts.
var SelfTests = map[string][]string{
	// pcm runs the ALSA PCM highway (drivers/pcm/alsa) on snd-aloop's
	// loopback card; the image needs the sound modules (buildroot
	// SoundTestModules).
	"pcm": {"pcm-selftest"},
}

// SelfTestTimeout bounds one self-test.
const SelfTestTimeout = 30 * time.Second

func selfTestNames() string {
	var n []string
	for k := range SelfTests {
		n = append(n, k)
	}
	slices.Sort(n)
	return strings.Join(n, ", ")
}

// RunSelfTest runs self-test name as `binary ARGS...`, copying its output
// to out, and returns its last output line (the one-line result) and
// whether it passed (exit status 0 within SelfTestTimeout).
func RunSelfTest(ctx context.Context, binary, name string, out io.Writer) (line string, pass bool) {
	args, ok := SelfTests[name]
	if !ok {
		return fmt.Sprintf("selftest %s: unknown", name), false
	}
	ctx, cancel := context.WithTimeout(ctx, SelfTestTimeout)
	defer cancel()
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout = io.MultiWriter(out, &buf)
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	line = strings.TrimSpace(lines[len(lines)-1])
	if err != nil {
		if line == "" {
			line = fmt.Sprintf("selftest %s: FAIL %v", name, err)
		}
		return line, false
	}
	return line, true
}
