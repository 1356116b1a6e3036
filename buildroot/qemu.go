package buildroot

import (
	"fmt"
	"os"
	"strings"
)

// QEMUOptions configure QEMUArgs.
type QEMUOptions struct {
	// Image is the built image.
	Image Image
	// Data is the raw data disk (virtio, /dev/vda in the guest); empty for
	// none.
	Data string
	// Forwards are user-networking host forwards, e.g.
	// "tcp:127.0.0.1:8080-:80" or "udp:127.0.0.1:5060-:5060".
	Forwards []string
	// Serial is where the guest console goes: "stdio" (make qemu) or a
	// file path (tests).
	Serial string
	// Append is added to the kernel command line (loopstart.* settings).
	Append string
	// MemMiB is the guest memory (default 256).
	MemMiB int
	// WatchdogAction is QEMU's -watchdog-action (default reset).
	WatchdogAction string
}

// QEMUArgs returns the emulator's arguments (without the binary, which is
// Image.Target.QEMU). Software emulation only (TCG): no KVM here.
func QEMUArgs(o QEMUOptions) []string {
	t := o.Image.Target
	mem := o.MemMiB
	if mem == 0 {
		mem = 256
	}
	wd := o.WatchdogAction
	if wd == "" {
		wd = "reset"
	}
	args := append([]string{}, t.Machine...)
	args = append(args, "-m", fmt.Sprint(mem), "-smp", "1", "-display", "none",
		"-kernel", o.Image.Kernel, "-initrd", o.Image.Initramfs,
		"-append", strings.TrimSpace("console="+t.Console+" quiet panic=-1 "+o.Append))
	if t.GOARCH == "amd64" {
		args = append(args, "-vga", "none")
	}
	net := "user,id=n0"
	for _, f := range o.Forwards {
		net += ",hostfwd=" + f
	}
	args = append(args, "-netdev", net, "-device", "virtio-net-pci,netdev=n0,romfile=")
	if o.Data != "" {
		args = append(args, "-drive", "file="+o.Data+",if=none,id=d0,format=raw", "-device", "virtio-blk-pci,drive=d0")
	}
	args = append(args, "-device", "i6300esb", "-watchdog-action", wd)
	switch o.Serial {
	case "", "stdio":
		args = append(args, "-serial", "mon:stdio")
	default:
		args = append(args, "-serial", "file:"+o.Serial, "-monitor", "none")
	}
	return args
}

// EnsureDataDisk creates path as a blank sparse disk of sizeMiB when it
// does not exist; the guest formats a blank disk on first boot.
func EnsureDataDisk(path string, sizeMiB int) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("data disk: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(sizeMiB) << 20); err != nil {
		return fmt.Errorf("data disk: %w", err)
	}
	return nil
}
