package system

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// The ext4 file system FormatExt4 writes: 4 KiB blocks, 256-byte inodes,
// one group descriptor of 32 bytes per 32768-block group, a superblock
// backup in groups 0, 1 and the powers of 3, 5 and 7 (sparse_super),
// extent-mapped inodes, file types in directory entries, and an internal
// journal (inode 8) in one extent. No uninit_bg/metadata_csum (so no
// checksums to get right and the inode tables are written out whole),
// no resize inode (a data disk made on the board is not grown online; a
// card's data partition is made by the build's mke2fs and is).
const (
	ext4BlockSize      = 4096
	ext4InodeSize      = 256
	ext4BlocksPerGroup = 8 * ext4BlockSize
	ext4DescSize       = 32
	ext4FirstIno       = 11
	ext4RootIno        = 2
	ext4JournalIno     = 8
	ext4LostFoundIno   = 11
	// ext4BytesPerInode: one inode per 32 KiB (the data directory holds
	// few, mostly small files; fewer inodes mean less table to zero).
	ext4BytesPerInode = 32 << 10
	// ext4MinBlocks is the smallest file system made: 8 MiB (4 of them
	// journal).
	ext4MinBlocks = 2048

	ext4CompatHasJournal    = 0x4
	ext4IncompatFiletype    = 0x2
	ext4IncompatExtents     = 0x40
	ext4ROCompatSparseSuper = 0x1
	ext4ROCompatLargeFile   = 0x2
	ext4ROCompatExtraIsize  = 0x40

	ext4ExtentsFl   = 0x80000
	ext4ExtentMagic = 0xF30A
	ext4SuperMagic  = 0xEF53
	jbd2Magic       = 0xC03B3998
	jbd2SuperV2     = 4
	ext4ExtraIsize  = 32
)

// Ext4Options are the settings of FormatExt4.
type Ext4Options struct {
	// Label is the volume name (at most 16 bytes).
	Label string
	// Now stamps the superblock and the inodes (time.Now when zero).
	Now time.Time
	// UUID is the file system's UUID (random when zero).
	UUID [16]byte
}

// ext4Layout is where everything of a file system of a given size goes.
type ext4Layout struct {
	blocks, groups, inodesPerGroup, tableBlocks, gdtBlocks uint32
	journalBlocks, journalStart                            uint32
	rootBlock, lostFoundBlock                              uint32
}

// ext4HasSuper reports whether group g holds a superblock backup
// (sparse_super: groups 0, 1 and the powers of 3, 5 and 7).
func ext4HasSuper(g uint32) bool {
	if g <= 1 {
		return true
	}
	for _, b := range []uint32{3, 5, 7} {
		n := b
		for n < g {
			n *= b
		}
		if n == g {
			return true
		}
	}
	return false
}

// ext4JournalBlocks is the journal's size for a file system of n blocks,
// close to what mke2fs picks: 4 MiB up to 128 MiB, 16 MiB up to 1 GiB,
// 64 MiB beyond.
func ext4JournalBlocks(n uint32) uint32 {
	switch {
	case n < 32768:
		return 1024
	case n < 262144:
		return 4096
	default:
		return 16384
	}
}

// groupStart is group g's first block, groupBlocks its length.
func (l *ext4Layout) groupStart(g uint32) uint32 { return g * ext4BlocksPerGroup }

func (l *ext4Layout) groupBlocks(g uint32) uint32 {
	if g == l.groups-1 {
		return l.blocks - g*ext4BlocksPerGroup
	}
	return ext4BlocksPerGroup
}

// meta returns group g's block bitmap, inode bitmap and inode table
// blocks, and its first block after them.
func (l *ext4Layout) meta(g uint32) (bbitmap, ibitmap, table, free uint32) {
	b := l.groupStart(g)
	if ext4HasSuper(g) {
		b += 1 + l.gdtBlocks
	}
	return b, b + 1, b + 2, b + 2 + l.tableBlocks
}

func newExt4Layout(size int64) (*ext4Layout, error) {
	n := size / ext4BlockSize
	if n < ext4MinBlocks {
		return nil, fmt.Errorf("ext4: %d bytes is too small (at least %d MiB)", size, ext4MinBlocks*ext4BlockSize>>20)
	}
	if n > 1<<32-1 {
		return nil, fmt.Errorf("ext4: %d bytes is too large (at most 16 TiB)", size)
	}
	l := &ext4Layout{blocks: uint32(n)}
	for {
		l.groups = (l.blocks + ext4BlocksPerGroup - 1) / ext4BlocksPerGroup
		ipg := uint64(ext4BlocksPerGroup) * ext4BlockSize / ext4BytesPerInode
		if l.groups == 1 {
			ipg = uint64(l.blocks) * ext4BlockSize / ext4BytesPerInode
		}
		perBlock := uint64(ext4BlockSize / ext4InodeSize)
		ipg = (ipg + perBlock - 1) / perBlock * perBlock
		if ipg < 32 {
			ipg = 32
		}
		l.inodesPerGroup = uint32(ipg)
		l.tableBlocks = uint32(ipg / perBlock)
		l.gdtBlocks = (l.groups*ext4DescSize + ext4BlockSize - 1) / ext4BlockSize
		// A last group too small for its own metadata and some data is
		// left out, as mke2fs does.
		last := l.groups - 1
		_, _, _, free := l.meta(last)
		if l.groups > 1 && free+64 > l.groupStart(last)+l.groupBlocks(last) {
			l.blocks = l.groupStart(last)
			continue
		}
		break
	}
	_, _, _, free := l.meta(0)
	l.rootBlock, l.lostFoundBlock = free, free+1
	l.journalStart = free + 2
	l.journalBlocks = ext4JournalBlocks(l.blocks)
	if end := l.groupStart(0) + l.groupBlocks(0); l.journalStart+l.journalBlocks > end {
		return nil, fmt.Errorf("ext4: %d blocks leave no room for a %d-block journal", l.blocks, l.journalBlocks)
	}
	return l, nil
}

// FormatExt4 writes a new, empty ext4 file system (a root directory, an
// empty lost+found and a journal) over the first size bytes of dev. Every
// block of metadata is written, the inode tables and the journal
// included, so whatever dev held before cannot show through; the data
// blocks are left as they are. The result passes e2fsck -f and mounts
// read-write with Linux's ext4 driver.
func FormatExt4(dev io.WriterAt, size int64, o Ext4Options) error {
	l, err := newExt4Layout(size)
	if err != nil {
		return err
	}
	if len(o.Label) > 16 {
		return fmt.Errorf("ext4: label %q is longer than 16 bytes", o.Label)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if o.UUID == ([16]byte{}) {
		if _, err := rand.Read(o.UUID[:]); err != nil {
			return fmt.Errorf("ext4: uuid: %w", err)
		}
		o.UUID[6] = o.UUID[6]&0x0f | 0x40
		o.UUID[8] = o.UUID[8]&0x3f | 0x80
	}
	ts := uint32(now.Unix())
	le := binary.LittleEndian
	w := func(block uint32, b []byte) error {
		if _, err := dev.WriteAt(b, int64(block)*ext4BlockSize); err != nil {
			return fmt.Errorf("ext4: write block %d: %w", block, err)
		}
		return nil
	}

	// Used blocks and inodes per group, for the bitmaps and the counts.
	usedDirs := make([]uint16, l.groups)
	usedDirs[0] = 2
	var freeBlocks, freeInodes uint64
	desc := make([]byte, l.gdtBlocks*ext4BlockSize)
	bitmaps := make([][]byte, l.groups)
	for g := uint32(0); g < l.groups; g++ {
		bb, ib, table, free := l.meta(g)
		bm := make([]byte, ext4BlockSize)
		used := free - l.groupStart(g)
		if g == 0 {
			used = l.journalStart + l.journalBlocks - l.groupStart(0)
		}
		setBits(bm, 0, used)
		setBits(bm, l.groupBlocks(g), ext4BlocksPerGroup) // past the end
		bitmaps[g] = bm
		fb := l.groupBlocks(g) - used
		fi := l.inodesPerGroup
		if g == 0 {
			fi -= ext4FirstIno
		}
		freeBlocks += uint64(fb)
		freeInodes += uint64(fi)
		d := desc[g*ext4DescSize:]
		le.PutUint32(d[0:], bb)
		le.PutUint32(d[4:], ib)
		le.PutUint32(d[8:], table)
		le.PutUint16(d[12:], uint16(fb))
		le.PutUint16(d[14:], uint16(fi))
		le.PutUint16(d[16:], usedDirs[g])
	}

	sb := make([]byte, 1024)
	le.PutUint32(sb[0x00:], l.inodesPerGroup*l.groups)
	le.PutUint32(sb[0x04:], l.blocks)
	le.PutUint32(sb[0x0C:], uint32(freeBlocks))
	le.PutUint32(sb[0x10:], uint32(freeInodes))
	le.PutUint32(sb[0x14:], 0)                    // first data block (4 KiB blocks)
	le.PutUint32(sb[0x18:], 2)                    // log2(block size) - 10
	le.PutUint32(sb[0x1C:], 2)                    // cluster size = block size
	le.PutUint32(sb[0x20:], ext4BlocksPerGroup)   // blocks per group
	le.PutUint32(sb[0x24:], ext4BlocksPerGroup)   // clusters per group
	le.PutUint32(sb[0x28:], l.inodesPerGroup)     //
	le.PutUint32(sb[0x30:], ts)                   // write time
	le.PutUint16(sb[0x36:], 0xFFFF)               // max mount count: no forced checks
	le.PutUint16(sb[0x38:], ext4SuperMagic)       //
	le.PutUint16(sb[0x3A:], 1)                    // state: clean
	le.PutUint16(sb[0x3C:], 1)                    // errors: continue
	le.PutUint32(sb[0x40:], ts)                   // last check
	le.PutUint32(sb[0x4C:], 1)                    // dynamic revision
	le.PutUint32(sb[0x54:], ext4FirstIno)         //
	le.PutUint16(sb[0x58:], ext4InodeSize)        //
	le.PutUint32(sb[0x5C:], ext4CompatHasJournal) //
	le.PutUint32(sb[0x60:], ext4IncompatFiletype|ext4IncompatExtents)
	le.PutUint32(sb[0x64:], ext4ROCompatSparseSuper|ext4ROCompatLargeFile|ext4ROCompatExtraIsize)
	copy(sb[0x68:0x78], o.UUID[:])
	copy(sb[0x78:0x88], o.Label)
	le.PutUint32(sb[0xE0:], ext4JournalIno)
	le.PutUint32(sb[0x108:], ts)             // mkfs time
	le.PutUint16(sb[0x15C:], ext4ExtraIsize) // min extra isize
	le.PutUint16(sb[0x15E:], ext4ExtraIsize) // want extra isize

	// Inodes 2 (root), 8 (journal), 11 (lost+found) in group 0's table.
	tbl := make([]byte, ext4BlockSize) // inodes 1..16
	inode := func(ino uint32, mode uint16, links uint16, start, n uint32) {
		b := tbl[(ino-1)*ext4InodeSize:][:ext4InodeSize]
		le.PutUint16(b[0x00:], mode)
		size := uint64(n) * ext4BlockSize
		le.PutUint32(b[0x04:], uint32(size))
		le.PutUint32(b[0x6C:], uint32(size>>32))
		for _, o := range []int{0x08, 0x0C, 0x10} { // atime, ctime, mtime
			le.PutUint32(b[o:], ts)
		}
		le.PutUint16(b[0x1A:], links)
		le.PutUint32(b[0x1C:], n*(ext4BlockSize/512))
		le.PutUint32(b[0x20:], ext4ExtentsFl)
		e := b[0x28:]
		le.PutUint16(e[0:], ext4ExtentMagic)
		le.PutUint16(e[2:], 1) // entries
		le.PutUint16(e[4:], 4) // max entries in the inode
		le.PutUint32(e[12:], 0)
		le.PutUint16(e[16:], uint16(n))
		le.PutUint32(e[20:], start)
		le.PutUint16(b[0x80:], ext4ExtraIsize)
		le.PutUint32(b[0x90:], ts) // creation time
	}
	inode(ext4RootIno, 0o040755, 3, l.rootBlock, 1)
	inode(ext4JournalIno, 0o100600, 1, l.journalStart, l.journalBlocks)
	inode(ext4LostFoundIno, 0o040700, 2, l.lostFoundBlock, 1)
	// The superblocks keep a copy of the journal inode's block map
	// (s_jnl_blocks, type 1) for e2fsck to rebuild it from.
	j := tbl[(ext4JournalIno-1)*ext4InodeSize:]
	copy(sb[0x10C:0x148], j[0x28:0x64])
	copy(sb[0x148:0x14C], j[0x6C:0x70])
	copy(sb[0x14C:0x150], j[0x04:0x08])
	sb[0xFD] = 1

	// Group metadata: superblock and descriptor copies, bitmaps, zeroed
	// inode tables.
	zero := make([]byte, 64*ext4BlockSize)
	writeZero := func(start, n uint32) error {
		for n > 0 {
			k := min(n, uint32(len(zero)/ext4BlockSize))
			if err := w(start, zero[:k*ext4BlockSize]); err != nil {
				return err
			}
			start, n = start+k, n-k
		}
		return nil
	}
	for g := uint32(0); g < l.groups; g++ {
		bb, ib, table, _ := l.meta(g)
		if ext4HasSuper(g) {
			blk := make([]byte, ext4BlockSize)
			s := append([]byte(nil), sb...)
			le.PutUint16(s[0x5A:], uint16(g))
			off := 0
			if g == 0 {
				off = 1024 // the primary superblock is at byte 1024 of block 0
			}
			copy(blk[off:], s)
			if err := w(l.groupStart(g), blk); err != nil {
				return err
			}
			if err := w(l.groupStart(g)+1, desc); err != nil {
				return err
			}
		}
		if err := w(bb, bitmaps[g]); err != nil {
			return err
		}
		im := make([]byte, ext4BlockSize)
		if g == 0 {
			setBits(im, 0, ext4FirstIno)
		}
		setBits(im, l.inodesPerGroup, ext4BlockSize*8)
		if err := w(ib, im); err != nil {
			return err
		}
		if err := writeZero(table, l.tableBlocks); err != nil {
			return err
		}
	}

	_, _, table0, _ := l.meta(0)
	if err := w(table0, tbl); err != nil {
		return err
	}

	// The two directories.
	dir := func(entries ...dirEntry) []byte {
		b := make([]byte, ext4BlockSize)
		off := 0
		for i, e := range entries {
			rec := 8 + (len(e.name)+3)/4*4
			if i == len(entries)-1 {
				rec = ext4BlockSize - off
			}
			le.PutUint32(b[off:], e.ino)
			le.PutUint16(b[off+4:], uint16(rec))
			b[off+6] = byte(len(e.name))
			b[off+7] = 2 // directory
			copy(b[off+8:], e.name)
			off += rec
		}
		return b
	}
	if err := w(l.rootBlock, dir(dirEntry{ext4RootIno, "."}, dirEntry{ext4RootIno, ".."}, dirEntry{ext4LostFoundIno, "lost+found"})); err != nil {
		return err
	}
	if err := w(l.lostFoundBlock, dir(dirEntry{ext4LostFoundIno, "."}, dirEntry{ext4RootIno, ".."})); err != nil {
		return err
	}

	// The journal: zeroed, then its superblock (big-endian, empty: start
	// 0, first transaction 1).
	if err := writeZero(l.journalStart, l.journalBlocks); err != nil {
		return err
	}
	js := make([]byte, ext4BlockSize)
	be := binary.BigEndian
	be.PutUint32(js[0x00:], jbd2Magic)
	be.PutUint32(js[0x04:], jbd2SuperV2)
	be.PutUint32(js[0x0C:], ext4BlockSize)
	be.PutUint32(js[0x10:], l.journalBlocks)
	be.PutUint32(js[0x14:], 1) // first log block
	be.PutUint32(js[0x18:], 1) // first expected transaction
	copy(js[0x30:0x40], o.UUID[:])
	be.PutUint32(js[0x40:], 1) // users
	if err := w(l.journalStart, js); err != nil {
		return err
	}
	return nil
}

type dirEntry struct {
	ino  uint32
	name string
}

// setBits sets bits [from, to) of the bitmap b.
func setBits(b []byte, from, to uint32) {
	for i := from; i < to && i/8 < uint32(len(b)); i++ {
		b[i/8] |= 1 << (i % 8)
	}
}
