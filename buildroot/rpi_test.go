package buildroot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/firmware/card"
)

// TestRPiFirmwareRefusal: without the Pi's firmware the build refuses,
// naming every missing file and where to get them; a target that needs
// none reads nothing.
func TestRPiFirmwareRefusal(t *testing.T) {
	tg, err := Lookup("rpi")
	if err != nil {
		t.Fatal(err)
	}
	partial := t.TempDir()
	if err := os.WriteFile(filepath.Join(partial, "bootcode.bin"), []byte("boot"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "fixup.dat"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir string
		want      []string
	}{
		{"no directory", "", []string{"bootcode.bin", "start.elf", "fixup.dat", "github.com/raspberrypi/firmware", "RPI_FIRMWARE="}},
		{"empty directory", t.TempDir(), []string{"lacks bootcode.bin, start.elf, fixup.dat", "raspi-firmware"}},
		{"partial", partial, []string{"lacks start.elf, fixup.dat (empty)", "github.com/raspberrypi/firmware"}},
		{"missing directory", filepath.Join(partial, "nope"), []string{"lacks bootcode.bin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files, err := ReadFirmware(tg, tc.dir)
			if err == nil {
				t.Fatalf("read %d firmware files, want a refusal", len(files))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	// BuildCard refuses before it builds anything (no apt, no go build).
	if _, err := BuildCard(tg, BuildOptions{Out: t.TempDir(), Log: &bytes.Buffer{}}); err == nil || !strings.Contains(err.Error(), "start.elf") {
		t.Errorf("BuildCard without firmware: %v, want the refusal", err)
	}
	neo, _ := Lookup("nanopi-neo")
	if files, err := ReadFirmware(neo, ""); err != nil || files != nil {
		t.Errorf("nanopi-neo firmware: %v %v, want none", files, err)
	}
}

// fakeUBoot is a U-Boot binary's bytes around a default environment.
func fakeUBoot(extra string) []byte {
	env := "\x00arch=arm\x00bootcmd=run distro_bootcmd\x00boot_targets=mmc0 mmc1 usb0 pxe dhcp\x00kernel_addr_r=0x00080000\x00" +
		"fdt_addr_r=0x02600000\x00ramdisk_addr_r=0x02700000\x00preboot=usb start\x00\x00"
	return append(append(bytes.Repeat([]byte{0xEA}, 4096), env...), extra...)
}

// TestBootFilesLayout lays out the boot partition of the Pi's card with
// dummy firmware files (and the NanoPi NEO's for comparison) and reads
// every file back from the FAT file system.
func TestBootFilesLayout(t *testing.T) {
	fwDir := t.TempDir()
	for _, n := range RPiFirmware {
		if err := os.WriteFile(filepath.Join(fwDir, n), []byte("dummy "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dtb := []byte("\xd0\x0d\xfe\xed dummy device tree")
	for _, tc := range []struct {
		target   string
		envSize  int
		want     []string
		absent   []string
		targets  string
		firmware bool
	}{
		{"rpi", 0x4000, []string{"boot.scr", "uboot.env", "u-boot.bin", "config.txt", "rpi3b.dtb", "bootcode.bin", "start.elf", "fixup.dat"},
			nil, "mmc0 mmc1 usb0 pxe dhcp", true},
		{"nanopi-neo", card.EnvSize, []string{"boot.scr", "uboot.env"}, []string{"u-boot.bin", "config.txt", "bootcode.bin"}, "mmc0", false},
	} {
		t.Run(tc.target, func(t *testing.T) {
			tg, err := Lookup(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			dir := ""
			if tc.firmware {
				dir = fwDir
			}
			fw, err := ReadFirmware(tg, dir)
			if err != nil {
				t.Fatal(err)
			}
			uboot := fakeUBoot("u-boot code")
			files, err := BootFiles(tg, uboot, dtb, fw, 1)
			if err != nil {
				t.Fatal(err)
			}
			parts := card.Layout()
			boot, err := card.FormatFAT(parts[0].Size(), parts[0].Start, "LOOPSTART", 1, files)
			if err != nil {
				t.Fatal(err)
			}
			r := bytes.NewReader(boot)
			for _, n := range tc.want {
				b, err := card.ReadFile(r, 0, n)
				if err != nil {
					t.Errorf("%s: %v", n, err)
					continue
				}
				switch n {
				case "u-boot.bin":
					if !bytes.Equal(b, uboot) {
						t.Errorf("u-boot.bin differs from the package's binary")
					}
				case "rpi3b.dtb":
					if !bytes.Equal(b, dtb) {
						t.Errorf("rpi3b.dtb differs from the kernel's DTB")
					}
				case "config.txt":
					for _, w := range []string{"kernel=u-boot.bin", "device_tree=rpi3b.dtb", "enable_uart=1"} {
						if !strings.Contains(string(b), w) {
							t.Errorf("config.txt lacks %q:\n%s", w, b)
						}
					}
				case "uboot.env":
					if len(b) != tc.envSize {
						t.Errorf("uboot.env is %d bytes, want %d", len(b), tc.envSize)
					}
					e, err := card.ParseEnv(b)
					if err != nil {
						t.Fatal(err)
					}
					if e[card.VarSlot] != "a" || e["bootdelay"] != "0" || e["preboot"] != "" || e["boot_targets"] != tc.targets {
						t.Errorf("environment %v", e)
					}
				case "boot.scr":
					s, err := card.ParseScriptImage(b)
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(s, "console="+tg.Console) {
						t.Errorf("boot script without console=%s", tg.Console)
					}
				default:
					if string(b) != "dummy "+n {
						t.Errorf("%s holds %q", n, b)
					}
				}
			}
			for _, n := range tc.absent {
				if _, err := card.ReadFile(r, 0, n); err == nil {
					t.Errorf("%s on the %s boot partition", n, tc.target)
				}
			}
		})
	}
}

// TestRPiModules resolves the Pi's modules against the armhf kernel the
// image build cached (skips without one).
func TestRPiModules(t *testing.T) {
	dirs, _ := filepath.Glob("../.cache/image/apt-armhf/unpacked/linux-image-*/lib/modules/*")
	if len(dirs) == 0 {
		t.Skip("no cached armhf kernel in .cache/image (make image TARGET=nanopi-neo fetches one)")
	}
	for _, dir := range dirs {
		mods, err := ModuleOrder(dir, rpiModules)
		if err != nil {
			t.Fatal(err)
		}
		if len(mods) < len(rpiModules) {
			t.Errorf("%d modules for %d wanted", len(mods), len(rpiModules))
		}
	}
}
