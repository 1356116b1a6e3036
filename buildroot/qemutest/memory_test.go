package qemutest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/tools/lab"
)

// smallMemMiB is the guest RAM the qemu-amd64 image is tested in: the
// issue's goal for the whole system. It takes the board kernel (Debian's
// generic kernel alone spans 58 MiB of RAM from its load address) and
// the xz initramfs with a dictionary the kernel can allocate. 56 MiB
// boots and registers, but the first login's password hash (argon2id,
// 19 MiB) gets the gateway killed for want of memory (see
// docs/PERFORMANCE.md, "Round 7: 64 MiB").
const smallMemMiB = 64

// smallMemConfig registers the sim board's three ports at Kamailio on
// the host (1001, 1002 and the FXO port's 1004; baresip is 1003), port
// 1's account with the STUN responder for its media address (hilNet).
func smallMemConfig(kamPort, stunPort int) string {
	return fmt.Sprintf(`<loopstart>
  <account id="1"><registrar>sip:10.0.2.2:%[1]d</registrar><user>1001</user><password>secret1</password><stun>10.0.2.2:%[2]d</stun></account>
  <account id="2"><registrar>sip:10.0.2.2:%[1]d</registrar><user>1002</user><password>secret2</password></account>
  <account id="3"><registrar>sip:10.0.2.2:%[1]d</registrar><user>1004</user><password>secret4</password></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
  <port n="3" account="3"/>
</loopstart>
`, kamPort, stunPort)
}

// TestBootSmallMemory boots the qemu-amd64 image on its board kernel
// (built first when the kernel cache lacks it) in smallMemMiB of RAM
// (LOOPSTART_QEMU_MEM overrides it, to measure) from the xz initramfs,
// as a board boots, with a data disk seeded with three accounts at
// Kamailio on the host — the two FXS ports and the FXO port — and checks
// that all three register. Then a whole call: baresip on the host calls
// port 1 through Kamailio, the sim board's phone (driven through the sim
// API, relayed by the test hooks) rings, answers, hears baresip's tone,
// sends its own that baresip records, dials a digit baresip receives,
// and hangs up (the networking is TestBootHIL's: hilNet, hilKamailio).
// Last, that the guest ran out of memory nowhere and the gateway still
// runs, never restarted; it logs the guest's MemAvailable and the
// gateway's RSS along the way.
func TestBootSmallMemory(t *testing.T) {
	mem := smallMemMiB
	if v, err := strconv.Atoi(os.Getenv("LOOPSTART_QEMU_MEM")); err == nil && v > 0 {
		mem = v
	}
	img := boardImage(t, "qemu-amd64")
	k := hilKamailio(t)
	hn := newHILNet(t)
	data := seededDisk(t, smallMemConfig(k.Port, hn.stunPort))
	v := bootWith(t, img, bootOpts{data: data, memMiB: mem, forwards: hn.forwards, xz: true}, hn.cmdline)
	up := v.waitUI(150 * time.Second)
	t.Logf("-m %d: web UI after %v (kernel %s, xz initramfs)", mem, up.Round(time.Millisecond), img.KernelRelease)
	logMem := func(when string) bootState {
		st := v.mustState()
		if m := st.Memory; m != nil {
			t.Logf("-m %d, %s: MemTotal %.1f MiB, MemAvailable %.1f MiB, MemFree %.1f MiB; gateway RSS %.1f MiB", mem, when,
				float64(m.TotalKiB)/1024, float64(m.AvailableKiB)/1024, float64(m.FreeKiB)/1024, float64(st.RSSKiB)/1024)
		} else {
			t.Errorf("-m %d, %s: the boot state has no memory figures", mem, when)
		}
		return st
	}
	for _, u := range []string{"1001", "1002", "1004"} {
		lab.Eventually(t, 60*time.Second, "Kamailio has "+u, func() error {
			ok, err := k.Registered(u)
			if err == nil && !ok {
				err = fmt.Errorf("%s not in the location table", u)
			}
			return err
		})
	}
	v.steadyRSS(30 * time.Second)
	logMem("registered, idle")

	// The first login sets the password: argon2id's 19 MiB on the one
	// emulated CPU (the web UI's status API needs the session).
	v.trustCert()
	v.client.Timeout = 90 * time.Second
	loginStart := time.Now()
	v.login(adminPassword)
	t.Logf("-m %d: the first login (setting the password) took %v", mem, time.Since(loginStart).Round(time.Millisecond))
	logMem("after the login")

	hilCall(t, v, simPhone{hooks: v.hooks, port: 1}, k)
	st := logMem("after the call")

	if c := v.console(); strings.Contains(c, "Out of memory") || strings.Contains(c, "oom-kill") || strings.Contains(c, "page allocation failure") {
		t.Errorf("-m %d: the guest ran out of memory:\n%s", mem, tailLines(c, 40))
	}
	if !st.Gateway.Running || st.Gateway.Restarts != 0 {
		t.Errorf("-m %d: the gateway is not running or was restarted: %+v", mem, st.Gateway)
	}
}
