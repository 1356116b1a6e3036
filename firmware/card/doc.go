// Package card lays out and maintains the SD-card image of the boards
// that boot from a card through U-Boot (the NanoPi NEO target): an MBR
// partition table (U-Boot with its SPL sits at 8 KiB, where a GPT would
// be), FAT16 file systems written without root or loop devices, the
// U-Boot environment file (uboot.env) with its CRC32, and U-Boot's
// legacy script image (boot.scr).
//
// The card holds four primary partitions:
//
//	1  boot   FAT16, bootable: boot.scr, uboot.env
//	2  slot A FAT16: zimage, neo.dtb, initrd.xz (kernel, device tree, initramfs)
//	3  slot B FAT16: the same files, for the other system
//	4  data   ext4, grown to the end of the card on first boot
//
// The boot script decides the slot before Linux runs from three variables
// it keeps in uboot.env (see BootScript): the slot, a trial flag and the
// tries left. Linux confirms a trial by rewriting uboot.env in place
// (RewriteFile on the raw boot partition), and the firmware update writes
// a whole slot file system into the inactive slot's partition and marks
// it for trial (SetTrial).
//
// Everything here is the standard library only, so the image builder
// (buildroot) and the firmware on the board share it.
package card
