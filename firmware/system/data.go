package system

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// Mke2fs is Debian's mke2fs, which the image ships with its libraries.
const Mke2fs = "/sbin/mke2fs"

// MountData mounts the data partition dev (ext4) on dir. A blank device
// (first MiB all zeros: a new board or a new QEMU disk) is formatted first
// with mkfs (Mke2fs); a device holding anything else is never formatted
// over, so a wrong loopstart.data= destroys nothing. It waits up to wait for
// the device node to appear. formatted tells whether it formatted.
//
// Why ext4 and not vfat: the journal survives the power cuts an ATA sees
// (it is unplugged, not shut down), and the stores in the data directory
// rely on POSIX semantics vfat lacks (hard links for create-once files,
// 0600 permissions for secrets, rename over an existing file). The price
// is mke2fs and its libraries in the image (about 1 MiB xz).
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
		out, err := exec.Command(mkfs, "-q", "-t", "ext4", "-L", "loopstart", "-m", "0", dev).CombinedOutput()
		if err != nil {
			return false, fmt.Errorf("data partition %s: mke2fs: %w: %s", dev, err, out)
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
