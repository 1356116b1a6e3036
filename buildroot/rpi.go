package buildroot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/loopstart/loopstart/firmware/card"
)

// RPiFirmware are the Raspberry Pi 3's closed boot firmware files, which
// are not in Debian's main archive: the GPU's second-stage loader, its
// firmware and the firmware's memory-split table. The user downloads them
// (RPiFirmwareHelp) and passes their directory to the build.
var RPiFirmware = []string{"bootcode.bin", "start.elf", "fixup.dat"}

// RPiFirmwareHelp says where the Pi's firmware files come from.
const RPiFirmwareHelp = "download them from the boot/ directory of https://github.com/raspberrypi/firmware " +
	"(or copy them from Debian's non-free-firmware package raspi-firmware, /usr/lib/raspi-firmware) " +
	"into a directory and pass it: make image TARGET=rpi RPI_FIRMWARE=DIR"

// rpiConfigTxt is the Pi firmware's config.txt: start U-Boot (which runs
// the same A/B boot script as every card target) in 32-bit mode with the
// UART on the header, handing it Debian's device tree.
const rpiConfigTxt = `# loopstart: the firmware starts U-Boot; its boot.scr picks system slot A or B.
kernel=u-boot.bin
arm_64bit=0
enable_uart=1
device_tree=rpi3b.dtb
dtparam=spi=on
dtparam=i2s=on
`

// rpiModules are the Pi 3's SD host controllers and the MMC block
// driver, its USB host and the LAN9514's Ethernet (smsc95xx), ext4 with
// crc32c, the watchdog, SPI and I2S.
var rpiModules = []string{"bcm2835", "sdhci_iproc", "mmc_block", "dwc2", "smsc95xx", "crc32c_generic", "ext4", "bcm2835_wdt",
	"spi_bcm2835", "spidev", "snd_soc_bcm2835_i2s"}

func init() {
	// The Raspberry Pi 3 Model B in 32-bit mode: Debian's armmp kernel
	// and u-boot-rpi (rpi_3_32b, loaded by the Pi's own firmware from the
	// boot partition, so nothing raw at 8 KiB); its environment is 16 KiB.
	Targets["rpi"] = Target{
		Name: "rpi", GOARCH: "arm", GOARM: "7", DebArch: "armhf", KernelMeta: "linux-image-armmp",
		Modules: rpiModules, Console: "ttyS1,115200", Board: "rpi",
		QEMU: "qemu-system-arm",
		Card: &CardSpec{UBootPackage: "u-boot-rpi", UBoot: "usr/lib/u-boot/rpi_3_32b/u-boot.bin", UBootFile: "u-boot.bin",
			DTB: "bcm2837-rpi-3-b.dtb", BootDTB: "rpi3b.dtb", EnvSize: 0x4000,
			Firmware: RPiFirmware, FirmwareHelp: RPiFirmwareHelp, ConfigTxt: rpiConfigTxt},
	}
}

// ReadFirmware reads a card target's closed boot firmware files from dir
// (nil for a target that needs none). It refuses, naming every missing
// file and where to get them, when dir is empty or lacks one.
func ReadFirmware(t Target, dir string) ([]card.File, error) {
	if t.Card == nil || len(t.Card.Firmware) == 0 {
		return nil, nil
	}
	need := strings.Join(t.Card.Firmware, ", ")
	if dir == "" {
		return nil, fmt.Errorf("card image %s: needs the board's boot firmware (%s), which Debian's main archive does not have: %s",
			t.Name, need, t.Card.FirmwareHelp)
	}
	var files []card.File
	var missing []string
	for _, n := range t.Card.Firmware {
		b, err := os.ReadFile(filepath.Join(dir, n))
		switch {
		case err != nil:
			missing = append(missing, n)
		case len(b) == 0:
			missing = append(missing, n+" (empty)")
		default:
			files = append(files, card.File{Name: n, Data: b})
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("card image %s: %s lacks %s of the board's boot firmware (%s): %s",
			t.Name, dir, strings.Join(missing, ", "), need, t.Card.FirmwareHelp)
	}
	return files, nil
}
