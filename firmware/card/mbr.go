package card

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SectorSize is the card's logical sector size.
const SectorSize = 512

// Partition types in the MBR.
const (
	// TypeFAT16 is a FAT16 partition of 32 MiB or more (type 0x0e, FAT16 LBA).
	TypeFAT16 = 0x0e
	// TypeLinux is a Linux file system (0x83).
	TypeLinux = 0x83
)

// Partition is one primary MBR partition, in sectors.
type Partition struct {
	// Bootable sets the active flag (U-Boot's "0:auto" picks the first
	// bootable partition for uboot.env, and distro boot scans it).
	Bootable bool
	// Type is the partition type byte.
	Type byte
	// Start and Sectors are the first LBA and the length.
	Start, Sectors uint32
}

// Offset is the partition's first byte.
func (p Partition) Offset() int64 { return int64(p.Start) * SectorSize }

// Size is the partition's length in bytes.
func (p Partition) Size() int64 { return int64(p.Sectors) * SectorSize }

// MBR encodes a master boot record with up to four primary partitions and
// the disk signature sig. Bytes 0..445 (boot code) are zero: the SoC's boot
// ROM reads the SPL at 8 KiB, not the MBR's code.
func MBR(sig uint32, parts []Partition) ([]byte, error) {
	if len(parts) > 4 {
		return nil, fmt.Errorf("mbr: %d partitions, at most 4 primary", len(parts))
	}
	b := make([]byte, SectorSize)
	binary.LittleEndian.PutUint32(b[440:], sig)
	for i, p := range parts {
		if p.Sectors == 0 || p.Start == 0 {
			return nil, fmt.Errorf("mbr: partition %d is empty or starts at the MBR", i+1)
		}
		if uint64(p.Start)+uint64(p.Sectors) > 1<<32 {
			return nil, fmt.Errorf("mbr: partition %d ends past 2 TiB", i+1)
		}
		e := b[446+16*i:]
		if p.Bootable {
			e[0] = 0x80
		}
		// CHS fields: the "too large" marker; everything reads the LBA.
		copy(e[1:4], []byte{0xfe, 0xff, 0xff})
		e[4] = p.Type
		copy(e[5:8], []byte{0xfe, 0xff, 0xff})
		binary.LittleEndian.PutUint32(e[8:], p.Start)
		binary.LittleEndian.PutUint32(e[12:], p.Sectors)
	}
	b[510], b[511] = 0x55, 0xaa
	return b, nil
}

// ParseMBR decodes the four primary entries of an MBR (empty entries have
// Type 0). It refuses a sector without the 55 AA signature, a protective
// GPT entry and entries that overlap.
func ParseMBR(b []byte) ([4]Partition, error) {
	var parts [4]Partition
	if len(b) < SectorSize {
		return parts, errors.New("mbr: short sector")
	}
	if b[510] != 0x55 || b[511] != 0xaa {
		return parts, errors.New("mbr: no 55 aa signature")
	}
	for i := range parts {
		e := b[446+16*i:]
		if e[0] != 0 && e[0] != 0x80 {
			return parts, fmt.Errorf("mbr: partition %d: bad boot flag %#x", i+1, e[0])
		}
		p := Partition{Bootable: e[0] == 0x80, Type: e[4], Start: binary.LittleEndian.Uint32(e[8:]), Sectors: binary.LittleEndian.Uint32(e[12:])}
		if p.Type == 0xee {
			return parts, errors.New("mbr: protective MBR of a GPT disk")
		}
		if p.Type != 0 && (p.Start == 0 || p.Sectors == 0) {
			return parts, fmt.Errorf("mbr: partition %d is empty or starts at the MBR", i+1)
		}
		parts[i] = p
	}
	for i := range parts {
		for j := i + 1; j < len(parts); j++ {
			a, c := parts[i], parts[j]
			if a.Type == 0 || c.Type == 0 {
				continue
			}
			if uint64(a.Start) < uint64(c.Start)+uint64(c.Sectors) && uint64(c.Start) < uint64(a.Start)+uint64(a.Sectors) {
				return parts, fmt.Errorf("mbr: partitions %d and %d overlap", i+1, j+1)
			}
		}
	}
	return parts, nil
}

// GrowLast returns mbr with partition number part (1-4) extended to the
// end of a disk of diskSectors sectors, and whether it changed. The
// partition must be the last one on the disk; one that already reaches
// the end (or past it: a disk smaller than the image) is left alone.
func GrowLast(mbr []byte, part int, diskSectors uint64) ([]byte, bool, error) {
	parts, err := ParseMBR(mbr)
	if err != nil {
		return nil, false, err
	}
	if part < 1 || part > 4 || parts[part-1].Type == 0 {
		return nil, false, fmt.Errorf("mbr: no partition %d", part)
	}
	p := parts[part-1]
	end := uint64(p.Start) + uint64(p.Sectors)
	for i, o := range parts {
		if i != part-1 && o.Type != 0 && uint64(o.Start) >= end {
			return nil, false, fmt.Errorf("mbr: partition %d is not the last one (partition %d follows it)", part, i+1)
		}
	}
	limit := min(diskSectors, 1<<32-1)
	if end >= limit {
		return mbr, false, nil
	}
	out := append([]byte(nil), mbr[:SectorSize]...)
	binary.LittleEndian.PutUint32(out[446+16*(part-1)+12:], uint32(limit-uint64(p.Start)))
	return out, true, nil
}
