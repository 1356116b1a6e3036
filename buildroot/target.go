// Package buildroot builds the bootable images: a Debian kernel fetched by
// the build (a private apt state in the cache directory, nothing installed
// on the host), unpacked for a fast boot, the kernel modules the target
// needs in dependency order, and a u-root initramfs whose init runs
// `loopstart boot`. It also knows how to start each image in QEMU (make
// qemu and the boot test in buildroot/qemutest).
package buildroot

import (
	"fmt"
	"sort"
)

// Target is one image target.
type Target struct {
	// Name is the make TARGET= value, e.g. qemu-amd64.
	Name string
	// GOARCH (and GOARM) of the image's binaries.
	GOARCH, GOARM string
	// DebArch is Debian's architecture name; KernelMeta the kernel
	// metapackage resolved to a versioned image package.
	DebArch, KernelMeta string
	// Modules are the kernel modules the image loads (their dependencies
	// are added in order).
	Modules []string
	// Console is the kernel console for QEMU.
	Console string
	// KernelArgs are kernel command-line arguments every QEMU boot of
	// the target passes (QEMUArgs).
	KernelArgs string
	// QEMU is the emulator binary and Machine its -M/-cpu arguments.
	QEMU    string
	Machine []string
	// Board is the --board the gateway runs on.
	Board string
	// Card, when set, makes the target an SD-card image (see CardSpec)
	// booted by U-Boot; the kernel is then used as Debian ships it.
	Card *CardSpec
}

// CardSpec describes a card image target's boot chain, all from
// Debian's main archive.
type CardSpec struct {
	// UBootPackage is the package holding UBoot, the U-Boot binary with
	// its SPL written at 8 KiB.
	UBootPackage, UBoot string
	// DTB is the board's device tree in the kernel package
	// (usr/lib/linux-image-RELEASE/DTB).
	DTB string
	// QEMUBoard is QEMU's machine for the same SoC.
	QEMUBoard string
	// QEMUNet are the QEMU arguments of the guest's network device (the
	// user network is netdev n0), and QEMUArgs the kernel command line
	// words a QEMU boot adds (the boot script's ls_args).
	QEMUNet  []string
	QEMUArgs string
	// UBootFile, when set, puts U-Boot on the boot partition under this
	// name (the Raspberry Pi's firmware loads it from there) instead of
	// raw at 8 KiB.
	UBootFile string
	// EnvSize is U-Boot's environment size (uboot.env), 0 for
	// card.EnvSize.
	EnvSize int
	// BootTargets, when set, replaces U-Boot's boot_targets.
	BootTargets string
	// Firmware are closed boot firmware files the user supplies
	// (BuildOptions.Firmware), FirmwareHelp says where to get them, and
	// ConfigTxt is the firmware's config.txt written beside them.
	Firmware     []string
	FirmwareHelp string
	ConfigTxt    string
	// BootDTB, when set, is the 8.3 name under which DTB also goes on
	// the boot partition (the Pi's firmware hands it to U-Boot).
	BootDTB string
}

// qemuModules are what a QEMU guest needs: virtio PCI, the NIC, the disk,
// ext4 (with the crc32c its journal checksums ask the crypto API for) and
// the i6300esb watchdog.
var qemuModules = []string{"virtio_pci", "virtio_net", "virtio_blk", "crc32c_generic", "ext4", "i6300esb"}

// Targets are the known targets by name.
var Targets = map[string]Target{
	"qemu-amd64": {
		Name: "qemu-amd64", GOARCH: "amd64", DebArch: "amd64", KernelMeta: "linux-image-amd64",
		Modules: qemuModules, Console: "ttyS0", Board: "sim",
		// The local APIC timer is calibrated against the PIT over 25 ticks
		// at boot, which under TCG took 0.2–0.4 s of a 2.5 s boot
		// (docs/PERFORMANCE.md); the emulated PIT (or, on Debian's
		// kernel, the HPET) drives the timer events instead.
		KernelArgs: "noapictimer",
		QEMU:       "qemu-system-x86_64", Machine: []string{"-M", "pc", "-cpu", "max"},
	},
	"qemu-arm64": {
		Name: "qemu-arm64", GOARCH: "arm64", DebArch: "arm64", KernelMeta: "linux-image-arm64",
		Modules: qemuModules, Console: "ttyAMA0", Board: "sim",
		QEMU: "qemu-system-aarch64", Machine: []string{"-M", "virt", "-cpu", "cortex-a72"},
	},
	// The NanoPi NEO (Allwinner H3): Debian's armmp kernel with its
	// sun8i-h3-nanopi-neo device tree, booted from the SD card by Debian's
	// u-boot-sunxi; QEMU's orangepi-pc machine emulates the same SoC
	// (no SPI or I2S there: the board comes up with its ports faulted).
	"nanopi-neo": {
		Name: "nanopi-neo", GOARCH: "arm", GOARM: "7", DebArch: "armhf", KernelMeta: "linux-image-armmp",
		Modules: nanopiModules, Console: "ttyS0,115200", Board: "nanopi-neo",
		QEMU: "qemu-system-arm", Machine: []string{"-M", "orangepi-pc"},
		Card: &CardSpec{UBootPackage: "u-boot-sunxi", UBoot: "usr/lib/u-boot/nanopi_neo/u-boot-sunxi-with-spl.bin",
			DTB: "sun8i-h3-nanopi-neo.dtb", QEMUBoard: "orangepi-pc", BootTargets: "mmc0",
			// Debian 6.1's dwmac-sun8i oopses in its DMA interrupt on QEMU
			// 7.2's EMAC model at the first packet (IPv6 MLD), so in QEMU
			// the module is refused (module_blacklist; initcall_blacklist
			// for the board kernel, where it is built in) and the guest talks
			// through a USB network adapter on the H3's fourth USB host
			// (its OHCI: usb-net is a full-speed device), the NEO's USB-A
			// port. One CPU: four TCG vCPUs on a loaded host stall RCU.
			QEMUNet:  []string{"-device", "usb-net,netdev=n0,bus=usb-bus.7"},
			QEMUArgs: "maxcpus=1 module_blacklist=dwmac_sun8i initcall_blacklist=sun8i_dwmac_driver_init"},
	},
}

// nanopiModules are the H3's SD host (and the MMC block driver), its
// Ethernet MAC, ext4 with crc32c, the watchdog (whose restart handler
// resets the board after a panic), the SPI and I2S controllers the
// SLIC/DAA modules hang on, and the USB host with CDC Ethernet (a USB
// network adapter on the NEO's USB-A port; QEMU's guest network).
var nanopiModules = []string{"sunxi_mmc", "mmc_block", "dwmac_sun8i", "crc32c_generic", "ext4", "sunxi_wdt", "spi_sun6i", "spidev", "sun4i_i2s",
	"phy_sun4i_usb", "ehci_platform", "ohci_platform", "cdc_ether"}

// Lookup returns the named target or an error naming the known ones.
func Lookup(name string) (Target, error) {
	t, ok := Targets[name]
	if !ok {
		var names []string
		for n := range Targets {
			names = append(names, n)
		}
		sort.Strings(names)
		return Target{}, fmt.Errorf("unknown target %q (known: %v)", name, names)
	}
	return t, nil
}
