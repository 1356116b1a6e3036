package card

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// File is one file of a FAT file system made by FormatFAT: its 8.3 name
// (lower case, e.g. "boot.scr") and contents.
type File struct {
	Name string
	Data []byte
}

// FAT16 geometry limits.
const (
	fatMinClusters = 4085
	fatMaxClusters = 65524
	rootEntries    = 512
	dirEntrySize   = 32
)

// shortName returns the 11-byte directory name of a lower-case 8.3 name,
// and the NT case flags that make Linux show it in lower case.
func shortName(name string) ([11]byte, byte, error) {
	var n [11]byte
	base, ext, _ := strings.Cut(name, ".")
	if base == "" || len(base) > 8 || len(ext) > 3 || strings.Contains(ext, ".") {
		return n, 0, fmt.Errorf("fat: %q is not an 8.3 name", name)
	}
	for i := range n {
		n[i] = ' '
	}
	for i, s := range []string{base, ext} {
		for j := 0; j < len(s); j++ {
			c := s[j]
			switch {
			case c >= 'a' && c <= 'z':
				c -= 'a' - 'A'
			case c >= '0' && c <= '9', c == '_', c == '-':
			default:
				return n, 0, fmt.Errorf("fat: %q: only a-z, 0-9, _ and - in names", name)
			}
			n[i*8+j] = c
		}
	}
	return n, 0x08 | 0x10, nil
}

// fatGeometry picks sectors per cluster and FAT size for a FAT16 of
// sectors sectors with 1 reserved sector, 2 FATs and 512 root entries.
func fatGeometry(sectors uint32) (spc, fatSectors uint32, clusters uint32, err error) {
	rootSectors := uint32(rootEntries * dirEntrySize / SectorSize)
	for spc = 1; spc <= 64; spc *= 2 {
		fatSectors = 1
		for range 8 { // converges in a couple of rounds
			data := sectors - 1 - 2*fatSectors - rootSectors
			clusters = data / spc
			need := (2*(clusters+2) + SectorSize - 1) / SectorSize
			if need == fatSectors {
				break
			}
			fatSectors = need
		}
		if clusters <= fatMaxClusters {
			if clusters < fatMinClusters {
				return 0, 0, 0, fmt.Errorf("fat: %d sectors is too small for FAT16", sectors)
			}
			return spc, fatSectors, clusters, nil
		}
	}
	return 0, 0, 0, fmt.Errorf("fat: %d sectors is too large for FAT16", sectors)
}

// FormatFAT returns a FAT16 file system of size bytes (a multiple of 512,
// 2 MiB to 2 GiB) holding files in its root directory, contiguously, with
// volume label label (up to 11 characters) and serial id. hidden is the
// partition's first LBA on the disk (recorded in the boot sector).
func FormatFAT(size int64, hidden uint32, label string, id uint32, files []File) ([]byte, error) {
	if size%SectorSize != 0 || size <= 0 || size > 2<<30 {
		return nil, fmt.Errorf("fat: size %d is not a positive multiple of 512 up to 2 GiB", size)
	}
	if len(files) > rootEntries-1 {
		return nil, fmt.Errorf("fat: %d files, at most %d", len(files), rootEntries-1)
	}
	sectors := uint32(size / SectorSize)
	spc, fatSectors, clusters, err := fatGeometry(sectors)
	if err != nil {
		return nil, err
	}
	img := make([]byte, size)
	bs := img[:SectorSize]
	copy(bs, []byte{0xeb, 0x3c, 0x90})
	copy(bs[3:11], "LOOPSTRT")
	le := binary.LittleEndian
	le.PutUint16(bs[11:], SectorSize)
	bs[13] = byte(spc)
	le.PutUint16(bs[14:], 1) // reserved sectors
	bs[16] = 2               // FATs
	le.PutUint16(bs[17:], rootEntries)
	if sectors < 65536 {
		le.PutUint16(bs[19:], uint16(sectors))
	} else {
		le.PutUint32(bs[32:], sectors)
	}
	bs[21] = 0xf8
	le.PutUint16(bs[22:], uint16(fatSectors))
	le.PutUint16(bs[24:], 63)  // sectors per track (unused)
	le.PutUint16(bs[26:], 255) // heads (unused)
	le.PutUint32(bs[28:], hidden)
	bs[36] = 0x80
	bs[38] = 0x29
	le.PutUint32(bs[39:], id)
	var lab [11]byte
	for i := range lab {
		lab[i] = ' '
	}
	copy(lab[:], strings.ToUpper(label))
	copy(bs[43:54], lab[:])
	copy(bs[54:62], "FAT16   ")
	bs[510], bs[511] = 0x55, 0xaa

	fat := make([]byte, fatSectors*SectorSize)
	le.PutUint16(fat[0:], 0xfff8)
	le.PutUint16(fat[2:], 0xffff)
	rootOff := int64(1+2*fatSectors) * SectorSize
	dataOff := rootOff + rootEntries*dirEntrySize
	clusterSize := int64(spc) * SectorSize
	root := img[rootOff:dataOff]
	copy(root[0:11], lab[:])
	root[11] = 0x08 // volume label
	next := uint32(2)
	seen := map[[11]byte]bool{}
	for i, f := range files {
		n, caseFlags, err := shortName(f.Name)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			return nil, fmt.Errorf("fat: %q twice", f.Name)
		}
		seen[n] = true
		if int64(len(f.Data)) > 1<<32-1 {
			return nil, fmt.Errorf("fat: %s: too large", f.Name)
		}
		need := uint32((int64(len(f.Data)) + clusterSize - 1) / clusterSize)
		if uint64(next)+uint64(need) > uint64(clusters)+2 {
			return nil, fmt.Errorf("fat: the files do not fit in %d bytes", size)
		}
		e := root[(i+1)*dirEntrySize:]
		copy(e[0:11], n[:])
		e[11] = 0x20 // archive
		e[12] = caseFlags
		// 2026-01-01 00:00 in FAT date/time (the date of the format).
		le.PutUint16(e[16:], uint16((2026-1980)<<9|1<<5|1))
		le.PutUint16(e[24:], uint16((2026-1980)<<9|1<<5|1))
		le.PutUint32(e[28:], uint32(len(f.Data)))
		if need == 0 {
			continue
		}
		le.PutUint16(e[26:], uint16(next))
		for c := next; c < next+need; c++ {
			v := uint16(c + 1)
			if c == next+need-1 {
				v = 0xffff
			}
			le.PutUint16(fat[2*c:], v)
		}
		copy(img[dataOff+int64(next-2)*clusterSize:], f.Data)
		next += need
	}
	copy(img[SectorSize:], fat)
	copy(img[SectorSize+int64(fatSectors)*SectorSize:], fat)
	return img, nil
}

// fatVolume is a parsed FAT16 boot sector.
type fatVolume struct {
	dev                  io.ReaderAt
	base                 int64 // the file system's first byte on dev
	spc, reserved, nfats uint32
	fatSectors, entries  uint32
	rootOff, dataOff     int64
	clusters             uint32
}

// openFAT reads the boot sector of the FAT16 file system at base on dev.
func openFAT(dev io.ReaderAt, base int64) (*fatVolume, error) {
	bs := make([]byte, SectorSize)
	if _, err := dev.ReadAt(bs, base); err != nil {
		return nil, fmt.Errorf("fat: boot sector: %w", err)
	}
	le := binary.LittleEndian
	if bs[510] != 0x55 || bs[511] != 0xaa || le.Uint16(bs[11:]) != SectorSize {
		return nil, errors.New("fat: not a FAT file system with 512-byte sectors")
	}
	v := &fatVolume{dev: dev, base: base, spc: uint32(bs[13]), reserved: uint32(le.Uint16(bs[14:])), nfats: uint32(bs[16]),
		entries: uint32(le.Uint16(bs[17:])), fatSectors: uint32(le.Uint16(bs[22:]))}
	total := uint32(le.Uint16(bs[19:]))
	if total == 0 {
		total = le.Uint32(bs[32:])
	}
	if v.spc == 0 || v.spc&(v.spc-1) != 0 || v.reserved == 0 || v.nfats == 0 || v.nfats > 2 || v.fatSectors == 0 || v.entries == 0 {
		return nil, errors.New("fat: bad BPB")
	}
	rootSectors := (v.entries*dirEntrySize + SectorSize - 1) / SectorSize
	meta := uint64(v.reserved) + uint64(v.nfats)*uint64(v.fatSectors) + uint64(rootSectors)
	if meta >= uint64(total) {
		return nil, errors.New("fat: BPB leaves no data area")
	}
	v.clusters = uint32((uint64(total) - meta) / uint64(v.spc))
	if v.clusters < fatMinClusters || v.clusters > fatMaxClusters {
		return nil, fmt.Errorf("fat: %d clusters: not FAT16", v.clusters)
	}
	if uint64(v.fatSectors)*SectorSize/2 < uint64(v.clusters)+2 {
		return nil, errors.New("fat: FAT too small for its clusters")
	}
	v.rootOff = base + int64(v.reserved+v.nfats*v.fatSectors)*SectorSize
	v.dataOff = base + int64(meta)*SectorSize
	return v, nil
}

// find returns the root directory entry offset, first cluster and size of
// name.
func (v *fatVolume) find(name string) (entryOff int64, first, size uint32, err error) {
	n, _, err := shortName(name)
	if err != nil {
		return 0, 0, 0, err
	}
	root := make([]byte, int64(v.entries)*dirEntrySize)
	if _, err := v.dev.ReadAt(root, v.rootOff); err != nil {
		return 0, 0, 0, fmt.Errorf("fat: root directory: %w", err)
	}
	for i := 0; i < len(root); i += dirEntrySize {
		e := root[i : i+dirEntrySize]
		if e[0] == 0 {
			break
		}
		if e[0] == 0xe5 || e[11]&0x18 != 0 || e[11] == 0x0f {
			continue // deleted, label, directory, long-name part
		}
		if string(e[0:11]) == string(n[:]) {
			le := binary.LittleEndian
			return v.rootOff + int64(i), uint32(le.Uint16(e[26:])), le.Uint32(e[28:]), nil
		}
	}
	return 0, 0, 0, fmt.Errorf("fat: %s: %w", name, errNotFound)
}

var errNotFound = errors.New("no such file")

// chain returns the byte extents (offset on dev, length) of a file of
// size bytes starting at cluster first, following the first FAT.
func (v *fatVolume) chain(first, size uint32) ([][2]int64, error) {
	clusterSize := int64(v.spc) * SectorSize
	need := (int64(size) + clusterSize - 1) / clusterSize
	var out [][2]int64
	c := first
	left := int64(size)
	buf := make([]byte, 2)
	for range need {
		if c < 2 || c >= v.clusters+2 {
			return nil, fmt.Errorf("fat: cluster %d out of range", c)
		}
		n := min(left, clusterSize)
		out = append(out, [2]int64{v.dataOff + int64(c-2)*clusterSize, n})
		left -= n
		if _, err := v.dev.ReadAt(buf, v.base+int64(v.reserved)*SectorSize+int64(c)*2); err != nil {
			return nil, fmt.Errorf("fat: %w", err)
		}
		nc := uint32(binary.LittleEndian.Uint16(buf))
		if left > 0 {
			if nc >= 0xfff8 {
				return nil, errors.New("fat: cluster chain shorter than the file")
			}
			c = nc
		}
		if len(out) > int(v.clusters) {
			return nil, errors.New("fat: cluster chain loops")
		}
	}
	return out, nil
}

// ReadFile reads the root-directory file name of the FAT16 file system
// at offset base on dev.
func ReadFile(dev io.ReaderAt, base int64, name string) ([]byte, error) {
	v, err := openFAT(dev, base)
	if err != nil {
		return nil, err
	}
	_, first, size, err := v.find(name)
	if err != nil {
		return nil, err
	}
	if int64(size) > int64(v.clusters)*int64(v.spc)*SectorSize {
		return nil, fmt.Errorf("fat: %s: size %d larger than the volume", name, size)
	}
	ext, err := v.chain(first, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make([]byte, 0, size)
	for _, e := range ext {
		b := make([]byte, e[1])
		if _, err := dev.ReadAt(b, e[0]); err != nil {
			return nil, fmt.Errorf("fat: %s: %w", name, err)
		}
		out = append(out, b...)
	}
	return out, nil
}

// ReadWriterAt is a device both read and written at offsets (an *os.File).
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// RewriteFile overwrites the root-directory file name of the FAT16 file
// system at base on dev with data of exactly the file's size, in place
// (its clusters, whichever they are): no allocation, so a power cut
// leaves either file contents behind, never a damaged directory.
func RewriteFile(dev ReadWriterAt, base int64, name string, data []byte) error {
	v, err := openFAT(dev, base)
	if err != nil {
		return err
	}
	_, first, size, err := v.find(name)
	if err != nil {
		return err
	}
	if int64(size) != int64(len(data)) {
		return fmt.Errorf("fat: %s is %d bytes, not %d: not rewriting it in place", name, size, len(data))
	}
	ext, err := v.chain(first, size)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	off := int64(0)
	for _, e := range ext {
		if _, err := dev.WriteAt(data[off:off+e[1]], e[0]); err != nil {
			return fmt.Errorf("fat: %s: %w", name, err)
		}
		off += e[1]
	}
	return nil
}

// Trim returns a file system image without its trailing all-zero
// sectors: FormatFAT writes the metadata and the files at the start, so a
// slot's update payload needs only that part (the rest of the partition
// is free space, whatever it holds).
func Trim(img []byte) []byte {
	last := len(img) - 1
	for last >= 0 && img[last] == 0 {
		last--
	}
	n := (last + SectorSize) / SectorSize * SectorSize // up to a whole sector
	return img[:min(n, len(img))]
}
