package system

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// Mke2fs is where an image may ship Debian's mke2fs. The product images
// do not (it and its libraries were 1.1 MiB of the xz initramfs): a blank
// data partition is formatted by FormatExt4 instead.
const Mke2fs = "/sbin/mke2fs"

// MountData mounts the data partition dev (ext4) on dir. A blank device
// (first MiB all zeros: a new board or a new QEMU disk) is formatted first:
// with mkfs (Mke2fs) when the image has it, else with FormatExt4 in Go; a
// device holding anything else is never formatted over, so a wrong
// loopstart.data= destroys nothing. It waits up to wait for the device node
// to appear. formatted tells whether it formatted.
//
// Why ext4 and not vfat: the journal survives the power cuts an ATA sees
// (it is unplugged, not shut down), and the stores in the data directory
// rely on POSIX semantics vfat lacks (hard links for create-once files,
// 0600 permissions for secrets, rename over an existing file).
func MountData(dev, dir, mkfs string, wait time.Duration) (formatted bool, err error) {
	deadline := time.Now().Add(wait)
	for {
		if _, err = os.Stat(dev); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("data partition %s: %w", dev, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("data partition: %w", err)
	}
	f, err := os.Open(dev)
	if err != nil {
		return false, fmt.Errorf("data partition %s: %w", dev, err)
	}
	kind, err := ProbeFS(f)
	f.Close()
	if err != nil {
		return false, fmt.Errorf("data partition %s: %w", dev, err)
	}
	switch kind {
	case ProbeUnknown:
		return false, fmt.Errorf("data partition %s holds something that is not ext4; not formatting it", dev)
	case ProbeBlank:
		if err := formatData(dev, mkfs); err != nil {
			return false, fmt.Errorf("data partition %s: %w", dev, err)
		}
		formatted = true
	}
	if err := unix.Mount(dev, dir, "ext4", unix.MS_NOATIME|unix.MS_NODEV|unix.MS_NOSUID, "data=ordered"); err != nil {
		return formatted, fmt.Errorf("mount %s on %s: %w", dev, dir, err)
	}
	return formatted, nil
}

// MountTmpData mounts a tmpfs on dir, the fallback when there is no data
// partition: the gateway runs, nothing persists.
func MountTmpData(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NODEV|unix.MS_NOSUID, "mode=0755,size=16m"); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("tmpfs on %s: %w", dir, err)
	}
	return nil
}

// formatData makes an ext4 file system labelled loopstart on the blank
// device dev: with the mkfs binary when it exists, else FormatExt4.
func formatData(dev, mkfs string) error {
	if _, err := os.Stat(mkfs); mkfs != "" && err == nil {
		out, err := exec.Command(mkfs, "-q", "-t", "ext4", "-L", "loopstart", "-m", "0", dev).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mke2fs: %w: %s", err, out)
		}
		return nil
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("format: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("format: size: %w", err)
	}
	if err := FormatExt4(f, size, Ext4Options{Label: "loopstart"}); err != nil {
		return fmt.Errorf("format: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("format: %w", err)
	}
	return f.Close()
}
