package card

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Card layout, in MiB. The image is a power of two in size (QEMU's SD
// card model needs that); the data partition takes what is left and is
// grown to the real card's end on first boot.
const (
	// ImageMiB is the image's size.
	ImageMiB = 256
	// BootStartMiB is where the boot partition starts (U-Boot's SPL at
	// 8 KiB and U-Boot proper end well before it).
	BootStartMiB = 1
	// BootMiB is the boot partition's size.
	BootMiB = 16
	// SlotMiB is each system slot's size.
	SlotMiB = 64
	// UBootOffset is where the SoC's boot ROM looks for the SPL.
	UBootOffset = 8 << 10
)

// Partition numbers (1-based, as in /dev/mmcblk0pN and U-Boot's mmc 0:N).
const (
	PartBoot  = 1
	PartSlotA = 2
	PartSlotB = 3
	PartData  = 4
)

// Names of the files on the card.
const (
	// BootScriptFile and EnvFile are on the boot partition.
	BootScriptFile = "boot.scr"
	EnvFile        = "uboot.env"
	// KernelFile, DTBFile and InitrdFile are on each slot.
	KernelFile = "zimage"
	DTBFile    = "neo.dtb"
	InitrdFile = "initrd.xz"
)

// Layout returns the MBR partitions of a card image of ImageMiB.
func Layout() []Partition {
	const mib = 1 << 20 / SectorSize
	boot := Partition{Bootable: true, Type: TypeFAT16, Start: BootStartMiB * mib, Sectors: BootMiB * mib}
	a := Partition{Type: TypeFAT16, Start: boot.Start + boot.Sectors, Sectors: SlotMiB * mib}
	b := Partition{Type: TypeFAT16, Start: a.Start + a.Sectors, Sectors: SlotMiB * mib}
	d := Partition{Type: TypeLinux, Start: b.Start + b.Sectors}
	d.Sectors = ImageMiB*mib - d.Start
	return []Partition{boot, a, b, d}
}

// SlotPart returns the partition number of slot "a" or "b".
func SlotPart(slot string) (int, error) {
	switch slot {
	case "a":
		return PartSlotA, nil
	case "b":
		return PartSlotB, nil
	}
	return 0, fmt.Errorf("card: no slot %q (a or b)", slot)
}

// Environment variables the boot script keeps in uboot.env.
const (
	// VarSlot is the slot to boot: "a" or "b".
	VarSlot = "ls_slot"
	// VarTrial is "1" while the slot is on trial (not yet confirmed).
	VarTrial = "ls_trial"
	// VarTries is how many more trial boots the slot gets (0-9).
	VarTries = "ls_tries"
	// VarFellBack is set to the slot given up on when the boot script
	// fell back; Linux reports and clears it.
	VarFellBack = "ls_fellback"
	// VarArgs are extra kernel command line words (loopstart.* settings).
	VarArgs = "ls_args"
)

// TrialTries is how many boots a trial slot gets before U-Boot falls
// back to the other slot.
const TrialTries = 3

// BootScript is the U-Boot script (boot.scr's source) that picks the
// slot: a trial slot's tries are counted down and saved before each of
// its boots; when none are left it falls back to the other slot. A slot
// whose files do not load counts as a failed trial (or, when it is not on
// trial, the other slot is tried once). console is the kernel's console
// (ttyS0,115200 on the H3's UART0).
func BootScript(console string) string {
	return `# loopstart: A/B system slots, decided here before Linux runs.
if test -z "${ls_slot}"; then setenv ls_slot a; setenv ls_trial 0; setenv ls_tries 0; saveenv; fi
if test "${ls_trial}" = 1; then
  if test "${ls_tries}" -gt 0; then
    setexpr ls_tries ${ls_tries} - 1
    echo "loopstart: slot ${ls_slot} on trial, ${ls_tries} tries left after this one"
  else
    echo "loopstart: slot ${ls_slot} never confirmed a boot; falling back"
    setenv ls_fellback ${ls_slot}
    if test "${ls_slot}" = a; then setenv ls_slot b; else setenv ls_slot a; fi
    setenv ls_trial 0
  fi
  saveenv
fi
if test "${ls_slot}" = b; then setenv ls_part 3; else setenv ls_part 2; fi
echo "loopstart: booting slot ${ls_slot} (mmc ${devnum}:${ls_part})"
setenv bootargs "console=` + console + ` panic=5 quiet loopstart.slot=${ls_slot} loopstart.trial=${ls_trial} loopstart.data=/dev/mmcblk0p4 loopstart.boot=/dev/mmcblk0p1 ${ls_args}"
if load mmc ${devnum}:${ls_part} ${kernel_addr_r} ` + KernelFile + ` && load mmc ${devnum}:${ls_part} ${fdt_addr_r} ` + DTBFile + ` && load mmc ${devnum}:${ls_part} ${ramdisk_addr_r} ` + InitrdFile + `; then
  bootz ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}
fi
echo "loopstart: slot ${ls_slot} does not boot"
if test "${ls_trial}" = 1; then setenv ls_tries 0; saveenv; reset; fi
if test -z "${ls_fellback}"; then
  setenv ls_fellback ${ls_slot}
  if test "${ls_slot}" = a; then setenv ls_slot b; else setenv ls_slot a; fi
  saveenv
  reset
fi
`
}

// State is the A/B state kept in uboot.env.
type State struct {
	// Slot is the slot U-Boot boots.
	Slot string
	// Trial is true while Slot is not yet confirmed; Tries are the trial
	// boots left.
	Trial bool
	Tries int
	// FellBack is the slot U-Boot gave up on, "" when it did not.
	FellBack string
}

// StateOf reads the A/B state from an environment.
func StateOf(e Env) State {
	s := State{Slot: e[VarSlot], Trial: e[VarTrial] == "1", FellBack: e[VarFellBack]}
	if s.Slot != "b" {
		s.Slot = "a"
	}
	// setexpr counts in hex: "a" to "f" never occur below 10 tries.
	if n, err := strconv.ParseInt(e[VarTries], 16, 32); err == nil {
		s.Tries = int(n)
	}
	return s
}

// BootEnv is uboot.env on a boot partition (a raw device or image file,
// the FAT16 file system at Base).
type BootEnv struct {
	// Dev is the boot partition's device (e.g. /dev/mmcblk0p1).
	Dev string
	// Base is the file system's offset on Dev (0 for a partition device).
	Base int64
}

// Read returns the environment and its size.
func (b BootEnv) Read() (Env, int, error) {
	f, err := os.Open(b.Dev)
	if err != nil {
		return nil, 0, fmt.Errorf("uboot env: %w", err)
	}
	defer f.Close()
	raw, err := ReadFile(f, b.Base, EnvFile)
	if err != nil {
		return nil, 0, fmt.Errorf("uboot env: %w", err)
	}
	e, err := ParseEnv(raw)
	if err != nil {
		return nil, 0, err
	}
	return e, len(raw), nil
}

// Update reads the environment, applies change and writes it back in
// place (same size, its CRC recomputed), then syncs the device. A change
// that fails leaves the file as it was.
func (b BootEnv) Update(change func(Env) error) error {
	e, size, err := b.Read()
	if err != nil {
		return err
	}
	if err := change(e); err != nil {
		return err
	}
	raw, err := EncodeEnv(e, size)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(b.Dev, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("uboot env: %w", err)
	}
	if err := RewriteFile(f, b.Base, EnvFile, raw); err != nil {
		f.Close()
		return fmt.Errorf("uboot env: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("uboot env: %w", err)
	}
	return f.Close()
}

// ErrNotTrial means there is no trial to confirm.
var ErrNotTrial = errors.New("card: the booted slot is not on trial")

// Confirm marks the trial of slot (the one running) as good: U-Boot
// keeps booting it. It also clears a fell-back note. It returns
// ErrNotTrial, changing nothing else, when slot is not on trial.
func (b BootEnv) Confirm(slot string) error {
	var notTrial bool
	err := b.Update(func(e Env) error {
		s := StateOf(e)
		if s.Slot != slot {
			return fmt.Errorf("card: U-Boot's slot is %s, not the running %s", s.Slot, slot)
		}
		if !s.Trial {
			notTrial = true
		}
		e[VarTrial], e[VarTries] = "0", "0"
		delete(e, VarFellBack)
		return nil
	})
	if err == nil && notTrial {
		return ErrNotTrial
	}
	return err
}

// SetTrial points U-Boot at slot on trial with TrialTries boots.
func (b BootEnv) SetTrial(slot string) error {
	if _, err := SlotPart(slot); err != nil {
		return err
	}
	return b.Update(func(e Env) error {
		e[VarSlot], e[VarTrial], e[VarTries] = slot, "1", strconv.Itoa(TrialTries)
		delete(e, VarFellBack)
		return nil
	})
}
