package system

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/loopstart/loopstart/firmware/card"
)

// SplitPartition returns the disk and partition number of a partition
// device: /dev/mmcblk0p4 -> /dev/mmcblk0, 4; /dev/sda4 -> /dev/sda, 4.
func SplitPartition(dev string) (disk string, part int, err error) {
	i := len(dev)
	for i > 0 && dev[i-1] >= '0' && dev[i-1] <= '9' {
		i--
	}
	if i == len(dev) || i == 0 {
		return "", 0, fmt.Errorf("%s: not a partition device", dev)
	}
	part, _ = strconv.Atoi(dev[i:])
	disk = dev[:i]
	if strings.HasSuffix(disk, "p") && len(disk) > 1 && disk[len(disk)-2] >= '0' && disk[len(disk)-2] <= '9' {
		disk = disk[:len(disk)-1]
	}
	if part < 1 || part > 4 {
		return "", 0, fmt.Errorf("%s: partition %d is not a primary MBR partition", dev, part)
	}
	return disk, part, nil
}

// sysfsSectors reads a block device's size in 512-byte sectors from sysfs.
func sysfsSectors(dev string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(dev), "size"))
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// GrowPartition extends the data partition dev, the last one of an MBR
// card, to the end of its disk: it rewrites the MBR entry and tells the
// kernel the new size (BLKPG, which works while other partitions of the
// disk are in use). It reports whether it grew the partition; a
// partition that already ends at the disk's end is left alone.
func GrowPartition(dev string) (bool, error) {
	disk, part, err := SplitPartition(dev)
	if err != nil {
		return false, err
	}
	sectors, err := sysfsSectors(disk)
	if err != nil {
		return false, fmt.Errorf("grow %s: %w", dev, err)
	}
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Errorf("grow %s: %w", dev, err)
	}
	defer f.Close()
	mbr := make([]byte, card.SectorSize)
	if _, err := f.ReadAt(mbr, 0); err != nil {
		return false, fmt.Errorf("grow %s: %w", dev, err)
	}
	out, changed, err := card.GrowLast(mbr, part, sectors)
	if err != nil || !changed {
		return false, err
	}
	parts, _ := card.ParseMBR(out)
	p := parts[part-1]
	if _, err := f.WriteAt(out, 0); err != nil {
		return false, fmt.Errorf("grow %s: %w", dev, err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("grow %s: %w", dev, err)
	}
	bp := unix.BlkpgPartition{Start: p.Offset(), Length: p.Size(), Pno: int32(part)}
	arg := unix.BlkpgIoctlArg{Op: unix.BLKPG_RESIZE_PARTITION, Datalen: int32(unsafe.Sizeof(bp)), Data: (*byte)(unsafe.Pointer(&bp))}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKPG, uintptr(unsafe.Pointer(&arg))); e != 0 {
		return true, fmt.Errorf("grow %s: the MBR says %d MiB, the kernel keeps the old size until a reboot: %w", dev, p.Size()>>20, e)
	}
	return true, nil
}

// ext4IocResizeFS is EXT4_IOC_RESIZE_FS, _IOW('f', 16, __u64).
const ext4IocResizeFS = 0x40086610

// GrowExt4 grows the ext4 file system mounted on dir to fill its device
// dev (online). It reports the new size in bytes, 0 when it already
// filled the device.
func GrowExt4(dev, dir string) (int64, error) {
	sectors, err := sysfsSectors(dev)
	if err != nil {
		return 0, fmt.Errorf("grow ext4 on %s: %w", dir, err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("grow ext4 on %s: %w", dir, err)
	}
	if st.Bsize <= 0 {
		return 0, fmt.Errorf("grow ext4 on %s: block size %d", dir, st.Bsize)
	}
	bs := uint64(st.Bsize)
	want := sectors * 512 / bs
	// Statfs counts blocks less the overhead; compare with the size the
	// superblock records instead.
	have, err := ext4Blocks(dev)
	if err != nil {
		return 0, err
	}
	if want <= have {
		return 0, nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return 0, fmt.Errorf("grow ext4 on %s: %w", dir, err)
	}
	defer d.Close()
	n := want
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, d.Fd(), ext4IocResizeFS, uintptr(unsafe.Pointer(&n))); e != 0 {
		return 0, fmt.Errorf("grow ext4 on %s to %d blocks: %w", dir, want, e)
	}
	return int64(want * bs), nil
}

// ext4Blocks reads the block count from an ext4 superblock on dev.
func ext4Blocks(dev string) (uint64, error) {
	f, err := os.Open(dev)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sb := make([]byte, 1024)
	if _, err := f.ReadAt(sb, 1024); err != nil {
		return 0, fmt.Errorf("ext4 superblock on %s: %w", dev, err)
	}
	if sb[0x38] != 0x53 || sb[0x39] != 0xef {
		return 0, fmt.Errorf("%s: no ext4 superblock", dev)
	}
	le := func(b []byte) uint64 { return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 }
	n := le(sb[4:])
	const incompat64bit = 0x80
	if le(sb[0x60:])&incompat64bit != 0 {
		n |= le(sb[0x150:]) << 32
	}
	return n, nil
}

// cardBoot handles a board booted from a card by U-Boot
// (loopstart.boot= names the boot partition): the note of a fallback
// U-Boot made is reported and kept until a confirm clears it.
func (b *booter) cardBoot() {
	if b.set.BootDev == "" {
		return
	}
	b.waitDev(b.set.BootDev, 3*time.Second)
	e, _, err := card.BootEnv{Dev: b.set.BootDev}.Read()
	if err != nil {
		b.problem(fmt.Errorf("card: %w", err))
		return
	}
	st := card.StateOf(e)
	b.stMu.Lock()
	b.st.Slot = st.Slot
	b.st.Trial = st.Trial
	b.st.FellBack = st.FellBack
	b.stMu.Unlock()
	b.log.Info("card", "slot", b.set.Slot, "uboot_slot", st.Slot, "trial", st.Trial, "tries_left", st.Tries)
	if st.FellBack != "" {
		b.problem(fmt.Errorf("U-Boot gave up on slot %s (it never confirmed a boot) and booted slot %s", st.FellBack, st.Slot))
	}
}

// cardHealthy confirms a trial slot once the gateway is healthy: U-Boot
// then keeps booting it.
func (b *booter) cardHealthy() {
	if b.set.BootDev == "" || !b.set.Trial || b.cardConfirmed {
		return
	}
	b.cardConfirmed = true
	err := card.BootEnv{Dev: b.set.BootDev}.Confirm(b.set.Slot)
	if err != nil && !errors.Is(err, card.ErrNotTrial) {
		b.problem(fmt.Errorf("card: confirming slot %s: %w", b.set.Slot, err))
		return
	}
	b.stMu.Lock()
	b.st.Trial = false
	b.stMu.Unlock()
	b.log.Info("card: slot confirmed", "slot", b.set.Slot)
}

// waitDev waits up to d for a device node to appear (the SD card is
// probed while the network comes up).
func (b *booter) waitDev(dev string, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(dev); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
