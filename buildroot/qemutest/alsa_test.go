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

// selftestXruns finds the capture and playback xrun counts in its line.
var selftestXruns = regexp.MustCompile(` xruns=(\d+)/(\d+) `)

// TestBootALSA boots the amd64 image with the sound test modules
// (buildroot.SoundTestModules: snd-aloop and the ALSA core) and
// loopstart.selftest=pcm: `loopstart boot` loads the modules and runs
// `loopstart pcm-selftest`, which drives drivers/pcm/alsa's Highway on the
// snd-aloop loopback card (4 slots, a tone each, 2 s after a 500 ms
// warm-up). The test asserts the PASS line on the console and the same
// result in the boot state over HTTP. The guest passes an xrun only after
// its loop ran a frame late and only when the highway recovered it with
// one slip, bit-exact on either side; the test then reports the host's
// steal and stalls beside it.
func TestBootALSA(t *testing.T) {
	img := image(t, "qemu-amd64", buildroot.SoundTestModules...)
	witnessErr := lab.StartStallWitness()
	since := time.Now()
	steal0, stealErr := lab.Steal()
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
	for _, want := range []string{"slots=4", "mismatches=0"} {
		if !strings.Contains(line, want) {
			t.Errorf("result lacks %q: %s", want, line)
		}
	}
	if xruns := selftestXruns.FindStringSubmatch(line); xruns == nil {
		t.Errorf("result lacks the xrun counts: %s", line)
	} else if xruns[1] != "0" || xruns[2] != "0" {
		// The self-test passes an xrun only after its loop ran a frame
		// late, and only when the highway came back bit-exact with one
		// slip per xrun: the recovery is the driver's; the lateness of
		// an emulated guest is the machine's (QEMU's TCG stops the
		// whole guest when the emulator or its host does). Say what
		// the host did meanwhile.
		steal1, err := lab.Steal()
		steal := "unknown"
		if stealErr == nil && err == nil {
			steal = (steal1 - steal0).String()
		}
		stalls := "unknown"
		if longest, ss, err := lab.MachineStalls(since); witnessErr == nil && err == nil {
			stalls = fmt.Sprintf("longest %v %v", longest, ss)
		}
		t.Logf("REPORT, not a failure: the guest's loop ran late and the highway recovered its xruns (host steal %s, stalls of this machine's CPUs: %s): %s",
			steal, stalls, line)
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
