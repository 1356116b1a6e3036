package qemutest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/buildroot"
	"github.com/loopstart/loopstart/firmware/card"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/firmware/update"
	"github.com/loopstart/loopstart/tools/lab"
)

// cardImage builds a card target's image once per test binary, trusting
// firmware/update's test signing key (so the test can install updates).
func cardImage(t testing.TB, target string) (buildroot.Target, buildroot.CardImage) {
	t.Helper()
	lab.Need(t, "apt-get", "dpkg-deb", "xz", "mke2fs")
	tg, err := buildroot.Lookup(target)
	if err != nil {
		t.Fatal(err)
	}
	lab.Need(t, tg.QEMU)
	buildMu.Lock()
	defer buildMu.Unlock()
	if ci, ok := builtCards[target]; ok {
		return tg, ci
	}
	repo := repoRoot(t)
	pub, err := update.ReadPublicKeyFile(filepath.Join(repo, "firmware", "update", "testdata", "test.pub"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.MkdirTemp("", "loopstart-card-")
	if err != nil {
		t.Fatal(err)
	}
	outDirs = append(outDirs, out)
	var log bytes.Buffer
	start := time.Now()
	ci, err := buildroot.BuildCard(tg, buildroot.BuildOptions{Repo: repo, Out: out, Cache: filepath.Join(repo, ".cache", "image"),
		Version: "qemutest", Log: &log, BuildKeys: strings.Fields(update.FormatPublicKey(pub))[1],
		// The board kernel when make kernel cached one, as make image
		// does; LOOPSTART_STOCK_KERNEL=1 keeps Debian's (as CI has it).
		StockKernel: os.Getenv("LOOPSTART_STOCK_KERNEL") == "1"})
	if err != nil {
		t.Fatalf("build %s: %v\n%s", target, err, log.String())
	}
	t.Logf("built %s in %v:\n%s", target, time.Since(start).Round(time.Second), log.String())
	builtCards[target] = ci
	return tg, ci
}

var builtCards = map[string]buildroot.CardImage{}

// cardVM is a guest booting a card image, which the test can power-cycle
// like a board whose watchdog resets it: QEMU 7.2's orangepi-pc has no
// watchdog model, so a panicking kernel's reboot halts instead.
type cardVM struct {
	*vm
	tg   buildroot.Target
	args []string
	dir  string
	// earlier holds the console of the QEMU runs before this one.
	earlier strings.Builder
	// haltedSince is when a halted reboot was first seen.
	haltedSince time.Time
	// cycles counts the power cycles.
	cycles int
}

// bootCard starts QEMU on the card image sd (its uboot.env's ls_args set
// to the QEMU arguments, the test hooks, the SIP port and extra).
func bootCard(t testing.TB, tg buildroot.Target, sd, extra string) *cardVM {
	t.Helper()
	dir := t.TempDir()
	httpPort, httpsPort, hookPort, sipPort := lab.FreePort(t, 1), lab.FreePort(t, 1), lab.FreePort(t, 1), lab.FreePort(t, 1)
	v := &vm{t: t, serial: filepath.Join(dir, "serial-0.log"),
		http:  fmt.Sprintf("127.0.0.1:%d", httpPort),
		https: fmt.Sprintf("127.0.0.1:%d", httpsPort),
		hooks: fmt.Sprintf("127.0.0.1:%d", hookPort)}
	if err := buildroot.SetCardArgs(sd, strings.TrimSpace(fmt.Sprintf("%s loopstart.testhooks=1 loopstart.sip=%d %s", tg.Card.QEMUArgs, sipPort, extra))); err != nil {
		t.Fatal(err)
	}
	sip := fmt.Sprintf("127.0.0.1:%d-:%d", sipPort, sipPort)
	c := &cardVM{vm: v, tg: tg, dir: dir}
	c.args = buildroot.CardQEMUArgs(buildroot.CardQEMUOptions{Target: tg, Card: sd, Serial: "SERIAL",
		Forwards: []string{"tcp:" + v.http + "-:80", "tcp:" + v.https + "-:443", fmt.Sprintf("tcp:%s-:%d", v.hooks, system.TestHooksPort),
			"udp:" + sip, "tcp:" + sip}})
	c.start()
	t.Cleanup(func() {
		c.proc.Stop()
		if t.Failed() {
			t.Logf("---- guest console (%s) ----\n%s", v.serial, tailLines(c.allConsole(), 150))
		}
	})
	return c
}

// start runs QEMU with the console in a new file.
func (c *cardVM) start() {
	args := append([]string(nil), c.args...)
	for i, a := range args {
		if a == "file:SERIAL" {
			args[i] = "file:" + c.serial
		}
	}
	c.started = time.Now()
	c.proc = lab.Start(c.t, c.dir, c.tg.QEMU, args...)
}

// allConsole is the console of every QEMU run so far.
func (c *cardVM) allConsole() string { return c.earlier.String() + c.console() }

// powerCycleIfHalted restarts QEMU on the same card when the guest's
// last reboot has halted (U-Boot never came back): Linux's restart on the
// H3 goes through the watchdog, which QEMU 7.2 lacks. "reboot: Restarting
// system" is the kernel's last word before the restart, so 5 s after it
// the machine has halted; after a panic's "Rebooting in 5 seconds" the
// restart comes 5 s later (the boot script's panic=5), so 15 s.
func (c *cardVM) powerCycleIfHalted() {
	con := c.console()
	panicked, restarted := strings.LastIndex(con, "Rebooting in"), strings.LastIndex(con, "reboot: Restarting system")
	reb, wait := restarted, 5*time.Second
	if panicked > restarted {
		reb, wait = panicked, 15*time.Second
	}
	if reb < 0 || strings.LastIndex(con, "U-Boot SPL") > reb {
		c.haltedSince = time.Time{}
		return
	}
	if c.haltedSince.IsZero() {
		c.haltedSince = time.Now()
		return
	}
	if time.Since(c.haltedSince) < wait {
		return
	}
	c.t.Logf("the guest's reboot halted (no watchdog in QEMU's orangepi-pc): power-cycling it")
	c.proc.Stop()
	c.earlier.WriteString(con)
	c.cycles++
	c.serial = filepath.Join(c.dir, fmt.Sprintf("serial-%d.log", c.cycles))
	c.haltedSince = time.Time{}
	c.start()
}

// cardState is the card part of the boot state.
type cardState struct {
	Slot      string    `json:"slot"`
	Trial     bool      `json:"trial"`
	FellBack  string    `json:"fell_back"`
	DataGrown int64     `json:"data_grown"`
	Problems  []string  `json:"problems"`
	BootedAt  time.Time `json:"booted_at"`
}

// badSlot is a slot file system with slot's kernel and device tree and
// an initramfs the kernel cannot unpack: it panics at every boot.
func badSlot(t *testing.T, slot []byte) []byte {
	t.Helper()
	dev := bytes.NewReader(slot)
	var files []card.File
	for _, n := range []string{card.KernelFile, card.DTBFile} {
		b, err := card.ReadFile(dev, 0, n)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, card.File{Name: n, Data: b})
	}
	files = append(files, card.File{Name: card.InitrdFile, Data: bytes.Repeat([]byte("not an initramfs "), 4096)})
	parts := card.Layout()
	img, err := card.FormatFAT(parts[card.PartSlotA-1].Size(), 0, "LOOPSTART-X", 7, files)
	if err != nil {
		t.Fatal(err)
	}
	return card.Trim(img)
}

// TestCardNanoPiNEO boots the NanoPi NEO card image the way the board
// boots its SD card (QEMU's orangepi-pc: the same H3 SoC; its boot ROM
// model loads U-Boot's SPL at 8 KiB): U-Boot runs the A/B boot script,
// Linux comes up from slot A with the web UI, registers at Kamailio on
// the host, installs a signed system into slot B and reboots into its
// trial, which it confirms; then a signed system whose initramfs panics
// goes to slot A, uses up its trial boots, and U-Boot falls back to B.
//
// It needs qemu-system-arm (the card's U-Boot and kernel come from
// Debian's archive through the build's private apt state); each phase's
// time is logged, and a failure prints the guest's console.
func TestCardNanoPiNEO(t *testing.T) {
	testStart := time.Now()
	phase := func(what string) {
		t.Logf("phase: %s at %v", what, time.Since(testStart).Round(time.Second))
	}
	tg, ci := cardImage(t, "nanopi-neo")
	phase("card image built")
	k := lab.StartKamailio(t, lab.KamailioOpts{})
	sd := filepath.Join(t.TempDir(), "sd.img")
	if err := buildroot.CopyCard(ci.Raw, sd); err != nil {
		t.Fatal(err)
	}
	// A card twice the image's size: the first boot grows the data
	// partition and its file system to the card's end.
	if err := os.Truncate(sd, 2*card.ImageMiB<<20); err != nil {
		t.Fatal(err)
	}
	// One FXS model instead of the sim board's three chip models: the
	// emulated H3 has one slow core, and the models run in the real-time
	// media loop (this test is about the card, not the ports).
	v := bootCard(t, tg, sd, "loopstart.fxs=1 loopstart.fxo=0")
	up := v.waitUI(8 * time.Minute)
	t.Logf("card boot: web UI %v after QEMU started", up.Round(time.Millisecond))
	st := v.cardState(t)
	if st.Slot != "a" || st.Trial || st.FellBack != "" {
		t.Fatalf("first boot: %+v, want slot a confirmed", st)
	}
	if d := card.Layout()[card.PartData-1]; st.DataGrown < int64(card.ImageMiB<<20)-d.Offset() {
		t.Errorf("data partition grown to %d bytes, want the card's end (%d MiB card)", st.DataGrown, 2*card.ImageMiB)
	}
	if !strings.Contains(v.console(), "loopstart: booting slot a") {
		t.Error("the console does not show the boot script choosing slot a")
	}
	// The password hash and the API take seconds on an emulated H3.
	v.trustCert()
	v.client.Timeout = 3 * time.Minute
	v.login(adminPassword)
	v.putConfig(guestConfig(k.Port, "1001"))
	lab.Eventually(t, 60*time.Second, "Kamailio has 1001", func() error {
		ok, err := k.Registered("1001")
		if err == nil && !ok {
			err = fmt.Errorf("1001 not in the location table")
		}
		return err
	})
	registered := time.Since(v.started)
	t.Logf("registered at Kamailio %v after QEMU started", registered.Round(time.Millisecond))
	phase("registered from slot a")

	// A signed system to slot B: the board reboots into its trial, and
	// confirms it once healthy.
	priv := testKey(t)
	slot, err := os.ReadFile(ci.Slot)
	if err != nil {
		t.Fatal(err)
	}
	target := "sim/arm"
	good, err := update.Sign(priv, "qemutest-b", target, time.Now(), slot)
	if err != nil {
		t.Fatal(err)
	}
	v.upload(good)
	phase("slot b installed")
	v.waitCard(t, 8*time.Minute, "slot b confirmed", func(s cardState) bool { return s.Slot == "b" && !s.Trial })
	phase("slot b confirmed")
	if !strings.Contains(v.allConsole(), "loopstart: slot b on trial") {
		t.Error("the console does not show slot b's trial boot")
	}
	v.login(adminPassword)
	lab.Eventually(t, 60*time.Second, "1001 registered again from slot b", func() error {
		s, err := v.accountState("1")
		if err == nil && s != "registered" {
			err = fmt.Errorf("account 1 %s", s)
		}
		return err
	})

	// A signed system whose initramfs panics, to slot A: every trial boot
	// panics and reboots; with no tries left U-Boot goes back to B.
	bad, err := update.Sign(priv, "qemutest-bad", target, time.Now(), badSlot(t, slot))
	if err != nil {
		t.Fatal(err)
	}
	phase("registered from slot b")
	v.upload(bad)
	phase("panicking system installed in slot a")
	v.waitCard(t, 15*time.Minute, "fell back to slot b", func(s cardState) bool { return s.Slot == "b" && s.FellBack == "a" })
	con := v.allConsole()
	phase("fell back to slot b")
	t.Logf("rollback: %d power cycles after halted reboots", v.cycles)
	if n := strings.Count(con, "loopstart: slot a on trial"); n != card.TrialTries {
		t.Errorf("slot a had %d trial boots, want %d", n, card.TrialTries)
	}
	if !strings.Contains(con, "Kernel panic") {
		t.Error("no kernel panic on the console")
	}
}

// testKey is firmware/update's test signing key (trusted by cardImage).
func testKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	priv, err := update.ReadPrivateKeyFile(filepath.Join(repoRoot(t), "firmware", "update", "testdata", "test.key"))
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// cardState reads the boot state's card fields.
func (v *vm) cardState(t *testing.T) cardState {
	t.Helper()
	var st cardState
	lab.Eventually(t, 30*time.Second, "boot state", func() error {
		var err error
		st, err = v.readCardState()
		return err
	})
	return st
}

func (v *vm) readCardState() (cardState, error) {
	var st cardState
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + v.hooks + "/test/state")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return st, fmt.Errorf("state: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitCard waits, across reboots, for a boot state that satisfies ok.
func (v *cardVM) waitCard(t *testing.T, timeout time.Duration, what string, ok func(cardState) bool) {
	t.Helper()
	lab.Eventually(t, timeout, what, func() error {
		v.powerCycleIfHalted()
		if v.proc.Exited() {
			t.Fatalf("QEMU exited:\n%s\n%s", v.proc.Log(), tailLines(v.console(), 60))
		}
		st, err := v.readCardState()
		if err != nil {
			return err
		}
		if !ok(st) {
			return fmt.Errorf("boot state %+v", st)
		}
		return nil
	})
}

// upload installs a signed image through the web UI.
func (v *vm) upload(img []byte) {
	v.t.Helper()
	// The guest writes the system to its card and reads it back before
	// it answers: minutes under TCG.
	c := *v.client
	c.Timeout = 10 * time.Minute
	req, err := http.NewRequest("POST", "https://"+v.https+"/api/firmware?allow_downgrade=1", bytes.NewReader(img))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+v.token)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		v.t.Fatalf("POST /api/firmware: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		v.t.Fatalf("POST /api/firmware: %s %s", resp.Status, b)
	}
	v.t.Logf("firmware (%d bytes) installed in %v", len(img), time.Since(start).Round(time.Second))
}

// TestCardBootFigures measures the card image as docs/PERFORMANCE.md
// does the others: five boots, each of a fresh copy of the card whose
// data partition holds a config with two accounts at a fresh Kamailio
// on the host; times from QEMU's start to the web UI and to both
// accounts registered. LOOPSTART_BOOT_FIGURES=1 runs it.
func TestCardBootFigures(t *testing.T) {
	if os.Getenv("LOOPSTART_BOOT_FIGURES") != "1" {
		t.Skip("boot figures: set LOOPSTART_BOOT_FIGURES=1")
	}
	tg, ci := cardImage(t, "nanopi-neo")
	var ui, reg []time.Duration
	for i := range 5 {
		k := lab.StartKamailio(t, lab.KamailioOpts{})
		sd := filepath.Join(t.TempDir(), "sd.img")
		if err := buildroot.CopyCard(ci.Raw, sd); err != nil {
			t.Fatal(err)
		}
		seedCardData(t, sd, guestConfig(k.Port, "1001", "1002"))
		v := bootCard(t, tg, sd, "")
		u := v.waitUI(8 * time.Minute)
		var r time.Duration
		lab.Eventually(t, 3*time.Minute, "registered", func() error {
			for _, user := range []string{"1001", "1002"} {
				ok, err := k.Registered(user)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s not registered", user)
				}
			}
			r = time.Since(v.started)
			return nil
		})
		ui, reg = append(ui, u), append(reg, r)
		t.Logf("boot %d: web UI %v, registered %v", i+1, u.Round(time.Millisecond), r.Round(time.Millisecond))
		v.proc.Stop()
		k.Stop()
	}
	t.Logf("nanopi-neo card median of 5: web UI %v, registered %v", median(ui).Round(10*time.Millisecond), median(reg).Round(10*time.Millisecond))
}

// seedCardData remakes the data partition of the card image sd with
// config.xml in it (mke2fs -d at the partition's offset).
func seedCardData(t *testing.T, sd, configXML string) {
	t.Helper()
	seed := filepath.Join(t.TempDir(), "seed")
	if err := os.MkdirAll(seed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(seed, "config.xml"), []byte(configXML), 0o644); err != nil {
		t.Fatal(err)
	}
	d := card.Layout()[card.PartData-1]
	out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-L", "loopstart", "-m", "0", "-d", seed,
		"-E", fmt.Sprintf("offset=%d", d.Offset()), sd, fmt.Sprintf("%dk", d.Size()>>10)).CombinedOutput()
	if err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
}
