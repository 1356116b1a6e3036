package system

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestProbeFS(t *testing.T) {
	dir := t.TempDir()
	blank := filepath.Join(dir, "blank.img")
	if err := os.WriteFile(blank, make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 2<<20)
	junk[600000] = 1 // anything non-zero in the first MiB
	junkPath := filepath.Join(dir, "junk.img")
	os.WriteFile(junkPath, junk, 0o644)
	short := filepath.Join(dir, "short.img")
	os.WriteFile(short, []byte{0, 0, 0}, 0o644)
	magic := make([]byte, 4096)
	magic[1080], magic[1081] = 0x53, 0xEF
	magicPath := filepath.Join(dir, "magic.img")
	os.WriteFile(magicPath, magic, 0o644)

	cases := []struct{ path, want string }{
		{blank, ProbeBlank}, {junkPath, ProbeUnknown}, {short, ProbeBlank}, {magicPath, ProbeExt},
	}
	// A real ext4 image, when e2fsprogs is installed (install-peers.sh).
	if mkfs, err := exec.LookPath("mkfs.ext4"); err == nil {
		real := filepath.Join(dir, "real.img")
		os.WriteFile(real, nil, 0o644)
		os.Truncate(real, 16<<20)
		if out, err := exec.Command(mkfs, "-q", "-F", real).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.ext4: %v\n%s", err, out)
		}
		cases = append(cases, struct{ path, want string }{real, ProbeExt})
	}
	for _, c := range cases {
		f, err := os.Open(c.path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ProbeFS(f)
		f.Close()
		if err != nil || got != c.want {
			t.Errorf("ProbeFS(%s) = %q, %v; want %q", filepath.Base(c.path), got, err, c.want)
		}
	}
}
