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

// hostSteal is the CPU time the host must steal from this VM over a QEMU
// run for the guest's xruns to count as the host's (an emulated guest's
// 10 ms period is late as soon as its vCPU thread is not run for that
// long).
const hostSteal = 50 * time.Millisecond

// hostStall is the longest stall of a CPU of this machine (a witness's
// late wake-up) over a QEMU run for the guest's xruns to count as the
// host's: the self-test's 10 ms period.
const hostStall = 10 * time.Millisecond

// TestBootALSA boots the amd64 image with the sound test modules
// (buildroot.SoundTestModules: snd-aloop and the ALSA core) and
// loopstart.selftest=pcm: `loopstart boot` loads the modules and runs
// `loopstart pcm-selftest`, which drives drivers/pcm/alsa's Highway on the
// snd-aloop loopback card (4 slots, a tone each, 2 s after a 500 ms
// warm-up). The test asserts the PASS line on the console and the same
// result in the boot state over HTTP.
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
	if xruns := selftestXruns.FindStringSubmatch(line); xruns != nil && (xruns[1] != "0" || xruns[2] != "0") {
		// The emulated guest runs on this VM's CPU: an xrun while the
		// host stole CPU time from it is the host's lateness.
		if steal1, err := lab.Steal(); stealErr == nil && err == nil && steal1-steal0 >= hostSteal {
			t.Logf("REPORT, not a failure: the guest's PCM self-test saw xruns while the host stole %v of CPU time over the boot: %s",
				steal1-steal0, line)
			return
		}
		// This VM's host stalls its virtual CPUs without reporting
		// steal (tools/lab/witness.go): a stall of a period or more
		// holds the emulated guest's sound card up just the same.
		if longest, stalls, err := lab.MachineStalls(since); witnessErr == nil && err == nil && longest >= hostStall {
			t.Logf("REPORT, not a failure: the guest's PCM self-test saw xruns while a CPU of this machine stalled (longest %v; %s): %s",
				longest, strings.Join(stalls, ", "), line)
			return
		}
	}
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
