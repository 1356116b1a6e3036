package qemutest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/buildroot"
	"github.com/loopstart/loopstart/tools/lab"
	"github.com/u-root/u-root/pkg/cpio"
)

const adminPassword = "qemu-test-password-1"

// TestBootAmd64 is the image's life in one run: first boot on a blank disk
// (formatted), the first password set over HTTPS with the setup code from
// the console (the certificate pinned on first use), port 80 only
// redirecting, config through the API, registration at Kamailio on the
// host, a reboot that keeps the change (and the certificate), a killed
// gateway restarted by the supervisor, a frozen gateway reset by the
// watchdog.
func TestBootAmd64(t *testing.T) {
	img := image(t, "qemu-amd64")
	checkNoShell(t, img)
	k := lab.StartKamailio(t, lab.KamailioOpts{})
	data := filepath.Join(t.TempDir(), "data.img")
	if err := buildroot.EnsureDataDisk(data, 64); err != nil {
		t.Fatal(err)
	}
	v := boot(t, img, data)
	up := v.waitUI(90 * time.Second)
	st := v.mustState()
	t.Logf("first boot: web UI after %v, modules and network: %+v", up.Round(time.Millisecond), st)
	if !st.Formatted {
		t.Errorf("first boot on a blank disk did not format it: %+v", st)
	}
	if len(st.Problems) > 0 {
		t.Errorf("boot problems: %q", st.Problems)
	}

	// The first password over HTTPS, then port 80 with the token in hand.
	v.login(adminPassword)
	v.checkPlainHTTP()

	// Config through the API: two accounts at Kamailio on the host.
	v.putConfig(guestConfig(k.Port, "1001", "1002"))
	for _, u := range []string{"1001", "1002"} {
		lab.Eventually(t, 30*time.Second, "Kamailio has "+u, func() error {
			ok, err := k.Registered(u)
			if err == nil && !ok {
				err = fmt.Errorf("%s not in the location table", u)
			}
			return err
		})
	}

	// Change it, reboot cleanly, see the change persist and register.
	v.putConfig(guestConfig(k.Port, "1001", "1003"))
	booted := st.BootedAt
	v.hook("reboot")
	lab.Eventually(t, 90*time.Second, "rebooted", func() error {
		s, err := v.state()
		if err == nil && s.BootedAt.Equal(booted) {
			err = fmt.Errorf("still the first boot")
		}
		return err
	})
	v.waitUI(60 * time.Second)
	if !strings.Contains(v.console(), "data partition unmounted cleanly") {
		t.Errorf("reboot did not unmount the data partition cleanly")
	}
	st = v.mustState()
	if st.Formatted {
		t.Errorf("second boot formatted the data disk again")
	}
	v.login(adminPassword) // the password and the pinned certificate persisted too
	if cfg := v.getConfig(); !strings.Contains(cfg, "<user>1003</user>") {
		t.Fatalf("config after reboot lost the change:\n%s", cfg)
	}
	lab.Eventually(t, 30*time.Second, "account 2 (1003) registered after reboot", func() error {
		s, err := v.accountState("2")
		if err == nil && s != "registered" {
			err = fmt.Errorf("state %q", s)
		}
		return err
	})

	// Kill the gateway: the supervisor restarts it and keeps the reason.
	pid := st.Gateway.Pid
	v.hook("kill")
	lab.Eventually(t, 30*time.Second, "gateway restarted", func() error {
		s, err := v.state()
		if err != nil {
			return err
		}
		if !s.Gateway.Running || s.Gateway.Pid == pid || s.Gateway.Restarts < 1 {
			return fmt.Errorf("gateway %+v", s.Gateway)
		}
		if !strings.Contains(s.Gateway.LastCrash, "killed") {
			return fmt.Errorf("last crash %q does not say killed", s.Gateway.LastCrash)
		}
		return nil
	})
	v.waitUI(30 * time.Second)

	// Freeze the gateway (the loop stops): the watchdog resets the guest.
	booted = v.mustState().BootedAt
	v.hook("hang")
	lab.Eventually(t, 90*time.Second, "watchdog reset", func() error {
		s, err := v.state()
		if err == nil && s.BootedAt.Equal(booted) {
			err = fmt.Errorf("not reset yet (petting=%v)", s.Petting)
		}
		return err
	})
	if !strings.Contains(v.console(), "media loop unhealthy") {
		t.Errorf("no 'media loop unhealthy' on the console before the reset")
	}
	v.waitUI(60 * time.Second)
	v.login(adminPassword)
	if cfg := v.getConfig(); !strings.Contains(cfg, "<user>1003</user>") {
		t.Fatalf("config after the watchdog reset lost the change:\n%s", cfg)
	}
}

// TestBootArm64 boots the arm64 image to its web UI (make test-arm64; set
// LOOPSTART_TEST_ARM64=1).
func TestBootArm64(t *testing.T) {
	if os.Getenv("LOOPSTART_TEST_ARM64") != "1" {
		t.Skip("arm64 boot test: run make test-arm64 (LOOPSTART_TEST_ARM64=1)")
	}
	img := image(t, "qemu-arm64")
	data := filepath.Join(t.TempDir(), "data.img")
	if err := buildroot.EnsureDataDisk(data, 64); err != nil {
		t.Fatal(err)
	}
	v := boot(t, img, data)
	up := v.waitUI(180 * time.Second)
	st := v.mustState()
	t.Logf("arm64: web UI after %v; %+v", up.Round(time.Millisecond), st)
	if !st.Formatted || len(st.Problems) > 0 {
		t.Errorf("arm64 boot: formatted=%v problems=%q", st.Formatted, st.Problems)
	}
}

// TestBootFigures measures five boots with a seeded config: QEMU start to
// web UI, to both accounts registered at Kamailio, and the gateway's RSS
// (LOOPSTART_BOOT_FIGURES=1; the figures go to docs/PERFORMANCE.md).
func TestBootFigures(t *testing.T) {
	if os.Getenv("LOOPSTART_BOOT_FIGURES") != "1" {
		t.Skip("boot figures: set LOOPSTART_BOOT_FIGURES=1")
	}
	target := os.Getenv("LOOPSTART_TARGET")
	if target == "" {
		target = "qemu-amd64"
	}
	img := image(t, target)
	var ui, reg []time.Duration
	var rss []int64
	for i := range 5 {
		k := lab.StartKamailio(t, lab.KamailioOpts{}) // an empty location table each time
		data := seededDisk(t, guestConfig(k.Port, "1001", "1002"))
		v := boot(t, img, data)
		// Registration is watched from QEMU's start, beside the web UI
		// (the gateway registers before it makes the UI): Kamailio's
		// location table every 50 ms.
		regc := make(chan time.Duration, 1)
		go func() {
			for deadline := time.Now().Add(120 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				both := true
				for _, user := range []string{"1001", "1002"} {
					if ok, err := k.Registered(user); err != nil || !ok {
						both = false
						break
					}
				}
				if both {
					regc <- time.Since(v.started)
					return
				}
			}
			regc <- -1
		}()
		u := v.waitUI(180 * time.Second)
		r := <-regc
		if r < 0 {
			t.Fatalf("boot %d: both accounts not registered within 120 s", i+1)
		}
		st := v.steadyRSS(30 * time.Second)
		ui, reg, rss = append(ui, u), append(reg, r), append(rss, st.RSSKiB)
		t.Logf("boot %d: web UI %v, registered %v, gateway RSS %d KiB", i+1, u.Round(time.Millisecond), r.Round(time.Millisecond), st.RSSKiB)
		v.proc.Stop()
		k.Stop()
	}
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	t.Logf("%s median of 5: web UI %v, registered %v, gateway RSS %.1f MiB", target,
		median(ui).Round(10*time.Millisecond), median(reg).Round(10*time.Millisecond), float64(rss[2])/1024)
}

// checkNoShell fails when the product initramfs has a shell, and checks
// it has what boot needs.
func checkNoShell(t *testing.T, img buildroot.Image) {
	t.Helper()
	f, err := os.Open(img.Initramfs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatalf("read initramfs: %v", err)
	}
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Name] = true
	}
	for _, shell := range []string{"bin/sh", "bin/defaultsh", "bbin/gosh", "bbin/elvish"} {
		if have[shell] {
			t.Errorf("product image has a shell: %s", shell)
		}
	}
	// No mke2fs: loopstart formats a blank data disk itself.
	if have["sbin/mke2fs"] {
		t.Errorf("product image carries sbin/mke2fs")
	}
	// No u-root init either: /init is loopstart (system.Init).
	for _, r := range recs {
		if r.Name != "init" {
			continue
		}
		target := make([]byte, r.FileSize)
		if _, err := r.ReadAt(target, 0); err != nil && err != io.EOF {
			t.Fatalf("read /init: %v", err)
		}
		if string(target) != "bin/loopstart" {
			t.Errorf("/init links to %q, want bin/loopstart", target)
		}
	}
	if have["bbin/init"] || have["bbin/bb"] {
		t.Errorf("product image carries u-root's init")
	}
	needs := []string{"init", "bin/loopstart", "lib/loopstart/modules/modules.order"}
	if len(img.Modules) > 0 {
		// Debian's kernel: ext4 is a module. The board kernel (make
		// kernel) has it built in and the image carries no modules.
		needs = append(needs, "lib/loopstart/modules/ext4.ko")
	} else if _, board := buildroot.CachedBoardKernel(img.Target.Name); !board {
		t.Errorf("image without modules, but no board kernel is cached for %s (kernel %s)", img.Target.Name, img.KernelRelease)
	}
	for _, need := range needs {
		if !have[need] {
			t.Errorf("image lacks %s", need)
		}
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
