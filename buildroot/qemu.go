package buildroot

import (
	"bytes"
	"fmt"
	"io"
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
	// InitramfsXZ boots the xz initramfs, as a board's boot loader hands
	// it over, instead of the raw one (which the kernel need not
	// decompress under emulation, but holds twice while it unpacks).
	InitramfsXZ bool
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
	initrd := o.Image.Initramfs
	if o.InitramfsXZ {
		initrd = o.Image.InitramfsXZ
	}
	args := append([]string{}, t.Machine...)
	args = append(args, "-m", fmt.Sprint(mem), "-smp", "1", "-display", "none",
		"-kernel", o.Image.Kernel, "-initrd", initrd,
		"-append", strings.Join(strings.Fields("console="+t.Console+" quiet panic=-1 "+t.KernelArgs+" "+o.Append), " "))
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

// CardQEMUOptions configure CardQEMUArgs.
type CardQEMUOptions struct {
	// Target is a card target (Target.Card set).
	Target Target
	// Card is the card image the guest boots and writes (a copy of the
	// built image: U-Boot saves its environment there, Linux its data).
	Card string
	// Forwards are user-networking host forwards as in QEMUOptions.
	Forwards []string
	// Serial is "stdio" (make qemu) or a file path (tests).
	Serial string
}

// CardQEMUArgs returns the emulator's arguments for booting a card image
// as a board would: no -kernel, the SoC's boot ROM model loads U-Boot's
// SPL from the SD card, U-Boot the system from its slot. Software
// emulation (TCG); the H3 machine needs 1 GiB. The guest's network is
// the target's QEMUNet device on user networking (netdev n0); the
// kernel arguments a QEMU boot needs (CardSpec.QEMUArgs) go into the
// card's uboot.env (SetCardArgs).
func CardQEMUArgs(o CardQEMUOptions) []string {
	args := []string{"-M", o.Target.Card.QEMUBoard, "-m", "1G", "-display", "none",
		"-drive", "file=" + o.Card + ",if=sd,format=raw"}
	net := "user,id=n0"
	for _, f := range o.Forwards {
		net += ",hostfwd=" + f
	}
	args = append(args, "-nic", "none", "-netdev", net)
	args = append(args, o.Target.Card.QEMUNet...)
	switch o.Serial {
	case "", "stdio":
		args = append(args, "-serial", "mon:stdio")
	default:
		args = append(args, "-serial", "file:"+o.Serial, "-monitor", "none")
	}
	return args
}

// CopyCard copies the built card image src to dst for a guest to boot
// (sparse: the zero runs of the image are holes in the copy).
func CopyCard(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("card copy: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("card copy: %w", err)
	}
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("card copy: %w", err)
	}
	buf := make([]byte, 1<<20)
	zero := make([]byte, len(buf))
	var off int64
	for {
		n, rerr := io.ReadFull(in, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, err := out.WriteAt(buf[:n], off); err != nil {
				out.Close()
				return fmt.Errorf("card copy: %w", err)
			}
		}
		off += int64(n)
		if rerr != nil {
			break
		}
	}
	if err := out.Truncate(fi.Size()); err != nil {
		out.Close()
		return fmt.Errorf("card copy: %w", err)
	}
	return out.Close()
}
