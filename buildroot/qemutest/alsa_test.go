package qemutest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/buildroot"
	"github.com/loopstart/loopstart/tools/lab"
)

// selftestLine is the pcm-selftest result on the guest console.
var selftestLine = regexp.MustCompile(`pcm-selftest: (PASS|FAIL)[^\r\n]*`)

// TestBootALSA boots the amd64 image with the sound test modules
// (buildroot.SoundTestModules: snd-aloop and the ALSA core) and
// loopstart.selftest=pcm: `loopstart boot` loads the modules and runs
// `loopstart pcm-selftest`, which drives drivers/pcm/alsa's Highway on the
// snd-aloop loopback card (4 slots, a tone each, 2 s after a 500 ms
// warm-up). The test asserts the PASS line on the console and the same
// result in the boot state over HTTP.
func TestBootALSA(t *testing.T) {
	img := image(t, "qemu-amd64", buildroot.SoundTestModules...)
	v := boot(t, img, "", "loopstart.data=none", "loopstart.selftest=pcm")
	var line string
	lab.Eventually(t, 90*time.Second, "pcm-selftest result on the console", func() error {
		if v.proc.Exited() {
			t.Fatalf("QEMU exited:\n%s\n%s", v.proc.Log(), tailLines(v.console(), 60))
		}
		line = selftestLine.FindString(v.console())
		if line == "" {
			return fmt.Errorf("no pcm-selftest line yet")
		}
		return nil
	})
	t.Logf("after %v: %s", time.Since(v.started).Round(time.Millisecond), line)
	if !strings.HasPrefix(line, "pcm-selftest: PASS ") {
		t.Fatalf("ALSA self-test failed in the guest: %s", line)
	}
	for _, want := range []string{"slots=4", "mismatches=0", "xruns=0/0"} {
		if !strings.Contains(line, want) {
			t.Errorf("result lacks %q: %s", want, line)
		}
	}
	st := v.mustState()
	res, ok := st.SelfTests["pcm"]
	if !ok || !res.Pass || res.Line != line {
		t.Errorf("boot state selftests = %+v, want pcm pass with %q", st.SelfTests, line)
	}
	if len(st.Problems) > 0 {
		t.Errorf("boot problems: %q", st.Problems)
	}
}
