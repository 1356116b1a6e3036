package app

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/loopstart/loopstart/firmware/card"
	"github.com/loopstart/loopstart/firmware/system"
	"github.com/loopstart/loopstart/firmware/update"
)

// openCardFirmware returns the card firmware backend when U-Boot booted
// this system from a card (the kernel command line in cmdline names the
// boot partition, loopstart.boot=, and the slot, loopstart.slot=), nil
// otherwise: then the binary slots in the data directory are the update
// path.
func openCardFirmware(cmdline, board, keyFile string, log *slog.Logger) (*update.CardSlots, error) {
	b, err := os.ReadFile(cmdline)
	if err != nil {
		return nil, nil // not Linux, or no /proc: no card
	}
	set, _ := system.ParseCmdline(string(b))
	if set.BootDev == "" || set.Slot == "" {
		return nil, nil
	}
	disk, _, err := system.SplitPartition(set.BootDev)
	if err != nil {
		return nil, fmt.Errorf("card firmware: %w", err)
	}
	keys, err := trustedKeys(keyFile)
	if err != nil {
		return nil, err
	}
	sep := ""
	if strings.HasSuffix(disk, "0") || strings.ContainsAny(disk[len(disk)-1:], "123456789") {
		sep = "p" // mmcblk0p2, not mmcblk02
	}
	return update.OpenCard(update.CardOptions{Boot: set.BootDev, Running: set.Slot, Keys: keys,
		Target: firmwareTarget(board), Logger: log.With("part", "firmware"),
		SlotDev: func(slot string) string {
			n, _ := card.SlotPart(slot)
			return fmt.Sprintf("%s%s%d", disk, sep, n)
		}})
}

// rebootBoard asks the boot process to reboot the board (a card's new
// system starts from U-Boot).
func rebootBoard(string) error {
	_, err := system.Request(system.ControlSocket, "reboot")
	return err
}
