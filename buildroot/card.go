package buildroot

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/loopstart/loopstart/firmware/card"
)

// CardImage is a built SD-card image.
type CardImage struct {
	Image
	// Raw is the card image (loopstart-TARGET.img), XZ its compressed
	// form and SHA256 the file holding XZ's hash (sha256sum format).
	Raw, XZ, SHA256 string
	// Slot is one system slot's FAT file system (kernel, device tree,
	// initramfs) without its trailing free space: the payload of a
	// firmware update for the card.
	Slot string
}

// CardPaths returns where BuildCard puts target's files in out.
func CardPaths(t Target, out string) CardImage {
	base := filepath.Join(out, "loopstart-"+t.Name+".img")
	return CardImage{Image: Paths(t, out), Raw: base, XZ: base + ".xz", SHA256: base + ".xz.sha256",
		Slot: filepath.Join(out, "slot.img")}
}

// BuildCard builds a card target: the kernel and initramfs (Build), then
// the card image laid out as firmware/card describes, without root or
// loop devices: U-Boot with its SPL at 8 KiB, the MBR, the boot
// partition (boot.scr, uboot.env from U-Boot's default environment plus
// the slot variables), slot A holding the system, an empty slot B, and
// an ext4 data partition made by the host's mke2fs at its offset. It
// also writes the slot file system alone (the update payload), the image
// compressed with xz, and its SHA-256.
func BuildCard(t Target, o BuildOptions) (CardImage, error) {
	ci := CardPaths(t, o.Out)
	if t.Card == nil {
		return ci, fmt.Errorf("card image: target %s boots from QEMU's -kernel, not a card", t.Name)
	}
	// Refuse before building anything when the user's firmware is missing.
	fw, err := ReadFirmware(t, o.Firmware)
	if err != nil {
		return ci, err
	}
	img, err := Build(t, o)
	if err != nil {
		return ci, err
	}
	ci.Image = img
	log := o.Log
	// The device tree built with the board kernel, else the one in
	// Debian's kernel package.
	dtbPath := img.DTB
	if dtbPath == "" {
		k, err := FetchKernel(t, o.Cache, log)
		if err != nil {
			return ci, err
		}
		dtbPath = filepath.Join(k.Root, "usr", "lib", "linux-image-"+k.Release, t.Card.DTB)
	}
	dtb, err := os.ReadFile(dtbPath)
	if err != nil {
		return ci, fmt.Errorf("card image: device tree: %w", err)
	}
	uboot, err := FetchUBoot(t, o.Cache, log)
	if err != nil {
		return ci, err
	}
	kernel, err := os.ReadFile(img.Kernel)
	if err != nil {
		return ci, err
	}
	initrd, err := os.ReadFile(img.InitramfsXZ)
	if err != nil {
		return ci, err
	}
	now := time.Now()
	parts := card.Layout()
	slotFiles := []card.File{{Name: card.KernelFile, Data: kernel}, {Name: card.DTBFile, Data: dtb}, {Name: card.InitrdFile, Data: initrd}}
	slotA, err := card.FormatFAT(parts[1].Size(), parts[1].Start, "LOOPSTART-A", uint32(now.Unix()), slotFiles)
	if err != nil {
		return ci, fmt.Errorf("card image: slot: %w", err)
	}
	if err := os.WriteFile(ci.Slot, card.Trim(slotA), 0o644); err != nil {
		return ci, err
	}
	slotB, err := card.FormatFAT(parts[2].Size(), parts[2].Start, "LOOPSTART-B", uint32(now.Unix())+1, nil)
	if err != nil {
		return ci, err
	}
	bootFiles, err := BootFiles(t, uboot, dtb, fw, uint32(now.Unix()))
	if err != nil {
		return ci, err
	}
	boot, err := card.FormatFAT(parts[0].Size(), parts[0].Start, "LOOPSTART", uint32(now.Unix())+2, bootFiles)
	if err != nil {
		return ci, fmt.Errorf("card image: boot partition: %w", err)
	}
	mbr, err := card.MBR(uint32(now.Unix()), parts)
	if err != nil {
		return ci, err
	}
	rawUBoot := uboot
	if t.Card.UBootFile != "" {
		rawUBoot = nil // on the boot partition instead
	}
	if card.UBootOffset+int64(len(rawUBoot)) > parts[0].Offset() {
		return ci, fmt.Errorf("card image: U-Boot (%d bytes) runs into the boot partition", len(uboot))
	}
	tmp := ci.Raw + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return ci, err
	}
	defer os.Remove(tmp)
	err = f.Truncate(card.ImageMiB << 20)
	for _, w := range []struct {
		b   []byte
		off int64
	}{{mbr, 0}, {rawUBoot, card.UBootOffset}, {boot, parts[0].Offset()}, {slotA, parts[1].Offset()}, {slotB, parts[2].Offset()}} {
		if err == nil {
			_, err = f.WriteAt(w.b, w.off)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ci, fmt.Errorf("card image: %w", err)
	}
	// The data partition: ext4 made here, grown to the card on first boot.
	d := parts[3]
	if err := run(o.Repo, os.Environ(), log, "mke2fs", "-q", "-F", "-t", "ext4", "-L", "loopstart", "-m", "0",
		"-E", "offset="+strconv.FormatInt(d.Offset(), 10), tmp, strconv.FormatInt(d.Size()>>10, 10)+"k"); err != nil {
		return ci, fmt.Errorf("card image: data partition: %w (apt-get install e2fsprogs)", err)
	}
	if err := os.Rename(tmp, ci.Raw); err != nil {
		return ci, err
	}
	if err := xzFile(ci.Raw, ci.XZ, log); err != nil {
		return ci, err
	}
	sum, err := sha256File(ci.XZ)
	if err != nil {
		return ci, err
	}
	if err := os.WriteFile(ci.SHA256, []byte(sum+"  "+filepath.Base(ci.XZ)+"\n"), 0o644); err != nil {
		return ci, err
	}
	where := "at 8 KiB"
	if t.Card.UBootFile != "" {
		where = "as " + t.Card.UBootFile
	}
	fmt.Fprintf(log, "card %s: U-Boot %s (%d KiB %s), zImage %.1f MiB, %s, initramfs %.2f MiB xz\n", t.Name,
		t.Card.UBootPackage, len(uboot)>>10, where, mib(int64(len(kernel))), t.Card.DTB, mib(int64(len(initrd))))
	fmt.Fprintf(log, "card %s: %s (%d MiB), %s (%.1f MiB), sha256 %s\n", t.Name, ci.Raw, card.ImageMiB, ci.XZ, mib(fileSize(ci.XZ)), sum)
	return ci, nil
}

// BootFiles are the files of a card's boot partition: the A/B boot
// script, uboot.env (U-Boot's default environment from the binary uboot
// plus the slot variables) and, for a target booted by closed firmware
// (the Raspberry Pi), that firmware, its config.txt, U-Boot as a file
// and the device tree the firmware hands to U-Boot.
func BootFiles(t Target, uboot, dtb []byte, firmware []card.File, created uint32) ([]card.File, error) {
	if t.Card == nil {
		return nil, fmt.Errorf("card image: target %s boots from QEMU's -kernel, not a card", t.Name)
	}
	env, err := card.DefaultEnv(uboot)
	if err != nil {
		return nil, fmt.Errorf("card image: %s: %w", t.Card.UBoot, err)
	}
	env[card.VarSlot], env[card.VarTrial], env[card.VarTries] = "a", "0", "0"
	// Boot straight from the card: no 2 s countdown (a key on the
	// console still stops it), and where the target says so no USB scan
	// first.
	env["bootdelay"] = "0"
	if t.Card.BootTargets != "" {
		env["boot_targets"] = t.Card.BootTargets
	}
	delete(env, "preboot")
	size := t.Card.EnvSize
	if size == 0 {
		size = card.EnvSize
	}
	envRaw, err := card.EncodeEnv(env, size)
	if err != nil {
		return nil, err
	}
	scr, err := card.ScriptImage("loopstart A/B", card.BootScript(t.Console), created)
	if err != nil {
		return nil, err
	}
	files := []card.File{{Name: card.BootScriptFile, Data: scr}, {Name: card.EnvFile, Data: envRaw}}
	if t.Card.UBootFile != "" {
		files = append(files, card.File{Name: t.Card.UBootFile, Data: uboot})
	}
	if t.Card.ConfigTxt != "" {
		files = append(files, card.File{Name: "config.txt", Data: []byte(t.Card.ConfigTxt)})
	}
	if t.Card.BootDTB != "" {
		files = append(files, card.File{Name: t.Card.BootDTB, Data: dtb})
	}
	return append(files, firmware...), nil
}

// FetchUBoot returns target's U-Boot binary (with SPL) from its Debian
// package, fetched into cache like the kernel.
func FetchUBoot(t Target, cache string, log io.Writer) ([]byte, error) {
	a, err := aptFor(t, cache, log)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(a.root, "unpacked", t.Card.UBootPackage)
	p := filepath.Join(root, t.Card.UBoot)
	if _, err := os.Stat(p); err != nil {
		if err := a.install(root, t.Card.UBootPackage); err != nil {
			return nil, err
		}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("u-boot: %w", err)
	}
	return b, nil
}

func xzFile(src, dst string, log io.Writer) error {
	out, err := os.Create(dst + ".tmp")
	if err != nil {
		return err
	}
	cmd := exec.Command("xz", "-6", "--check=crc32", "-T2", "-c", src)
	cmd.Stdout, cmd.Stderr = out, log
	err = cmd.Run()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst + ".tmp")
		return fmt.Errorf("xz %s: %w", src, err)
	}
	return os.Rename(dst+".tmp", dst)
}

func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// SetCardArgs sets the extra kernel command line (the boot script's
// ls_args, loopstart.* settings) in the uboot.env of a card image file.
func SetCardArgs(img, args string) error {
	parts := card.Layout()
	return card.BootEnv{Dev: img, Base: parts[0].Offset()}.Update(func(e card.Env) error {
		if args == "" {
			delete(e, card.VarArgs)
		} else {
			e[card.VarArgs] = args
		}
		return nil
	})
}
