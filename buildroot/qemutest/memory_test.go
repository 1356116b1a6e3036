package qemutest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/tools/lab"
)

// smallMemMiB is the least guest RAM the qemu-amd64 image is tested in:
// the smallest of the sizes tried (64, 96, 128 MiB) that boots it (96
// panics in the kernel, out of memory while the initramfs is unpacked;
// 64 prints nothing). The goal is 64 MiB; what stands in its way is the
// kernel and the initramfs unpacked in RAM, not the gateway (see
// docs/PERFORMANCE.md, "RAM at boot").
const smallMemMiB = 128

// TestBootSmallMemory boots the qemu-amd64 image in smallMemMiB of RAM
// (LOOPSTART_QEMU_MEM overrides it, to measure) with a data disk seeded
// with three accounts at Kamailio on the host — the two FXS ports and the
// FXO port — and checks that all three register and that a call carries
// audio: a baresip on the host calls the FXO port's account, the gateway
// answers and takes the virtual central office line, and baresip hears
// the line's dial tone through the guest's media loop. It logs the
// gateway's RSS and the guest's free memory.
func TestBootSmallMemory(t *testing.T) {
	mem := smallMemMiB
	if v, err := strconv.Atoi(os.Getenv("LOOPSTART_QEMU_MEM")); err == nil && v > 0 {
		mem = v
	}
	lab.Need(t, "baresip")
	img := image(t, "qemu-amd64")
	k := lab.StartKamailio(t, lab.KamailioOpts{})
	data := seededDisk(t, guestConfig(k.Port, "1001", "1002", "1003"))
	v := bootMem(t, img, data, mem)
	up := v.waitUI(120 * time.Second)
	t.Logf("-m %d: web UI after %v", mem, up.Round(time.Millisecond))
	for _, u := range []string{"1001", "1002", "1003"} {
		lab.Eventually(t, 60*time.Second, "Kamailio has "+u, func() error {
			ok, err := k.Registered(u)
			if err == nil && !ok {
				err = fmt.Errorf("%s not in the location table", u)
			}
			return err
		})
	}
	st := v.steadyRSS(30 * time.Second)
	t.Logf("-m %d: registered; gateway RSS %.1f MiB", mem, float64(st.RSSKiB)/1024)

	b := lab.StartBaresip(t, lab.BaresipOpts{User: "1004", Password: "secret4", Registrar: k.Addr})
	if err := b.Command("dial", "sip:1003@"+k.Addr); err != nil {
		t.Fatal(err)
	}
	b.WaitEvent(t, "CALL_ESTABLISHED", 0, 30*time.Second, "the gateway's FXO port answers")
	time.Sleep(3 * time.Second) // a few seconds of the line's audio for the recording's middle
	if err := b.Command("hangup", ""); err != nil {
		t.Fatal(err)
	}
	b.WaitEvent(t, "CALL_CLOSED", 0, 10*time.Second, "the call ends")
	b.WaitRecording(t, 0, 440, 10*time.Second)
	if c := v.console(); strings.Contains(c, "Out of memory") || strings.Contains(c, "oom-kill") {
		t.Errorf("-m %d: the guest ran out of memory:\n%s", mem, tailLines(c, 40))
	}
	st = v.mustState()
	if !st.Gateway.Running {
		t.Errorf("-m %d: gateway not running after the call: %+v", mem, st.Gateway)
	}
	t.Logf("-m %d: call carried (baresip heard the line's dial tone); gateway RSS %.1f MiB; recordings %v", mem, float64(st.RSSKiB)/1024,
		filepath.Base(strings.Join(b.Recordings(), " ")))
}
