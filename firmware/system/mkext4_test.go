package system

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFormatExt4 formats files of several sizes (one partial group, many
// groups with sparse superblock backups, a last group too small to keep)
// over old contents and has e2fsprogs judge the result: e2fsck -fn finds
// nothing to fix, dumpe2fs reads the features and the journal, debugfs
// writes a file into it (its allocator accepts the bitmaps) and e2fsck
// is still content afterwards.
func TestFormatExt4(t *testing.T) {
	for _, tool := range []string{"e2fsck", "dumpe2fs", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/sbin/" + tool); err != nil {
				t.Skipf("%s not installed (apt-get install e2fsprogs)", tool)
			}
		}
	}
	for _, tc := range []struct {
		name          string
		size          int64
		groups        int
		journalBlocks int
	}{
		{"8 MiB", 8 << 20, 1, 1024},
		{"64 MiB", 64 << 20, 1, 1024},
		{"129 MiB, the second group too small to keep", 129 << 20, 1, 4096},
		{"300 MiB", 300 << 20, 3, 4096},
		{"last group dropped", 4*ext4BlocksPerGroup*ext4BlockSize + 100*ext4BlockSize, 4, 4096},
		{"1.1 GiB, backups in groups 1, 3, 5, 7", 1100 << 20, 9, 16384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "fs.img")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Old contents the metadata must cover.
			junk := bytes.Repeat([]byte{0xA5}, 4<<20)
			if _, err := f.WriteAt(junk, 0); err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(tc.size); err != nil {
				t.Fatal(err)
			}
			now := time.Now().Add(-time.Minute)
			if err := FormatExt4(f, tc.size, Ext4Options{Label: "loopstart", Now: now}); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			fsck := func(when string) {
				out, err := exec.Command(e2tool("e2fsck"), "-fn", p).CombinedOutput()
				if err != nil {
					t.Fatalf("e2fsck -fn %s: %v\n%s", when, err, out)
				}
			}
			fsck("after formatting")
			out, err := exec.Command(e2tool("dumpe2fs"), "-h", p).CombinedOutput()
			if err != nil {
				t.Fatalf("dumpe2fs: %v\n%s", err, out)
			}
			h := string(out)
			for _, want := range []string{"Filesystem volume name:   loopstart", "has_journal", "extent", "filetype",
				"sparse_super", "Filesystem state:         clean", "Block size:               4096",
				"Journal backup:           inode blocks"} {
				if !strings.Contains(h, want) {
					t.Errorf("dumpe2fs -h lacks %q:\n%s", want, h)
				}
			}
			if want := "Total journal blocks:     " + itoa(tc.journalBlocks); !strings.Contains(h, want) {
				t.Errorf("dumpe2fs -h lacks %q:\n%s", want, h)
			}
			out, err = exec.Command(e2tool("dumpe2fs"), p).CombinedOutput()
			if err != nil {
				t.Fatalf("dumpe2fs: %v\n%s", err, out)
			}
			if n := len(regexp.MustCompile(`(?m)^Group \d+:`).FindAllString(string(out), -1)); n != tc.groups {
				t.Errorf("%d groups, want %d", n, tc.groups)
			}
			src := filepath.Join(t.TempDir(), "config.xml")
			if err := os.WriteFile(src, bytes.Repeat([]byte("<config/>\n"), 5000), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err = exec.Command(e2tool("debugfs"), "-w", "-R", "write "+src+" config.xml", p).CombinedOutput()
			if err != nil {
				t.Fatalf("debugfs write: %v\n%s", err, out)
			}
			out, err = exec.Command(e2tool("debugfs"), "-R", "ls -l /", p).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "lost+found") || !strings.Contains(string(out), "config.xml") {
				t.Errorf("debugfs ls: %v\n%s", err, out)
			}
			fsck("after writing a file")
			kind, err := ProbeFS(f)
			if err != nil || kind != ProbeExt {
				t.Errorf("ProbeFS = %q, %v; want %q", kind, err, ProbeExt)
			}
		})
	}
}

func TestFormatExt4Refuses(t *testing.T) {
	for _, tc := range []struct {
		name, label, want string
		size              int64
	}{
		{"too small", "x", "too small", 4 << 20},
		{"too large", "x", "too large", 17 << 40},
		{"long label", "a-label-of-17-chr", "longer than 16", 64 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w nopWriterAt
			err := FormatExt4(&w, tc.size, Ext4Options{Label: tc.label})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if w.n != 0 {
				t.Errorf("%d writes before refusing", w.n)
			}
		})
	}
}

type nopWriterAt struct{ n int }

func (w *nopWriterAt) WriteAt(b []byte, off int64) (int, error) { w.n++; return len(b), nil }

func e2tool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/sbin/" + name
}

func itoa(n int) string { return strconv.Itoa(n) }
