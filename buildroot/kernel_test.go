package buildroot

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeModule writes a minimal ELF64 relocatable with a .modinfo section
// holding depends=deps.
func fakeModule(t *testing.T, path, deps string) {
	t.Helper()
	modinfo := []byte("license=GPL\x00depends=" + deps + "\x00vermagic=6.1.0 SMP\x00")
	shstr := []byte("\x00.modinfo\x00.shstrtab\x00")
	var b bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 64)
	copy(hdr, "\x7fELF\x02\x01\x01")
	le.PutUint16(hdr[16:], 1)  // ET_REL
	le.PutUint16(hdr[18:], 62) // x86-64
	le.PutUint32(hdr[20:], 1)
	dataOff := 64
	strOff := dataOff + len(modinfo)
	shOff := strOff + len(shstr)
	le.PutUint64(hdr[40:], uint64(shOff))
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[58:], 64)
	le.PutUint16(hdr[60:], 3) // null, .modinfo, .shstrtab
	le.PutUint16(hdr[62:], 2)
	b.Write(hdr)
	b.Write(modinfo)
	b.Write(shstr)
	sh := func(name, typ uint32, off, size int) {
		s := make([]byte, 64)
		le.PutUint32(s[0:], name)
		le.PutUint32(s[4:], typ)
		le.PutUint64(s[24:], uint64(off))
		le.PutUint64(s[32:], uint64(size))
		le.PutUint64(s[48:], 1)
		b.Write(s)
	}
	sh(0, 0, 0, 0)
	sh(1, 1, dataOff, len(modinfo)) // PROGBITS
	sh(10, 3, strOff, len(shstr))   // STRTAB
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModuleOrder(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "kernel")
	for name, deps := range map[string]string{
		"drivers/virtio/virtio_ring.ko":           "",
		"drivers/virtio/virtio.ko":                "",
		"drivers/virtio/virtio_pci.ko":            "virtio_pci_modern_dev,virtio,virtio_ring",
		"drivers/virtio/virtio_pci_modern_dev.ko": "",
		"drivers/net/virtio_net.ko":               "net_failover,virtio,virtio_ring",
		"drivers/net/net_failover.ko":             "failover",
		"net/core/failover.ko":                    "",
		"fs/ext4/ext4.ko":                         "mbcache,jbd2,crc16",
		"fs/jbd2/jbd2.ko":                         "",
		"fs/mbcache.ko":                           "",
		"lib/crc16.ko":                            "",
		"x/cyc-a.ko":                              "cyc_b",
		"x/cyc_b.ko":                              "cyc_a",
		"x/needs_missing.ko":                      "nowhere",
		"x/needs_builtin.ko":                      "af_packet",
	} {
		fakeModule(t, filepath.Join(k, name), deps)
	}
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/net/packet/af_packet.ko\n"), 0o644)

	names := func(ms []Module) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Name)
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		wanted  []string
		want    string
		wantErr string
	}{
		{wanted: []string{"virtio_net"}, want: "failover net_failover virtio virtio_ring virtio_net"},
		{wanted: []string{"virtio_pci", "virtio_net", "ext4"},
			want: "virtio_pci_modern_dev virtio virtio_ring virtio_pci failover net_failover virtio_net mbcache jbd2 crc16 ext4"},
		{wanted: []string{"ext4", "ext4", "jbd2"}, want: "mbcache jbd2 crc16 ext4"},
		{wanted: []string{"cyc-a"}, wantErr: "cycle"},
		{wanted: []string{"needs_missing"}, wantErr: "nowhere not found"},
		{wanted: []string{"needs_builtin"}, want: "needs_builtin"},
		{wanted: []string{"af_packet"}, want: ""},
	} {
		got, err := ModuleOrder(dir, c.wanted)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ModuleOrder(%v) = %s, %v; want error %q", c.wanted, names(got), err, c.wantErr)
			}
			continue
		}
		if err != nil || names(got) != c.want {
			t.Errorf("ModuleOrder(%v) = %q, %v; want %q", c.wanted, names(got), err, c.want)
		}
	}
}

func TestUnpackKernel(t *testing.T) {
	elfImg := append([]byte("\x7fELF"), make([]byte, 100)...)
	if out, err := UnpackKernel(elfImg); err != nil || !bytes.Equal(out, elfImg) {
		t.Errorf("ELF passed through: %v", err)
	}
	arm := make([]byte, 0x100)
	copy(arm[0x38:], "ARM\x64")
	if out, err := UnpackKernel(arm); err != nil || !bytes.Equal(out, arm) {
		t.Errorf("arm64 Image passed through: %v", err)
	}
	if _, err := UnpackKernel([]byte("MZ not a kernel")); err == nil {
		t.Error("garbage unpacked")
	}
	// A bzImage-like file: a header, then an xz stream of an ELF, then trailing data.
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	payload := append([]byte("\x7fELF"), bytes.Repeat([]byte("vmlinux"), 1000)...)
	cmd := exec.Command("xz", "-c", "--check=crc32")
	cmd.Stdin = bytes.NewReader(payload)
	xzData, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	bz := append(append([]byte("boot sector and setup code"), xzData...), []byte("trailing size and junk")...)
	out, err := UnpackKernel(bz)
	if err != nil || !bytes.Equal(out, payload) {
		t.Errorf("bzImage: %d bytes, %v", len(out), err)
	}
	cmd = exec.Command("xz", "-c")
	cmd.Stdin = strings.NewReader("not an elf")
	notELF, _ := cmd.Output()
	if _, err := UnpackKernel(notELF); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("xz of non-ELF: %v", err)
	}
}

func TestELFClosure(t *testing.T) {
	// The host's own mke2fs (or any dynamic binary) as the sysroot "/".
	bin := "usr/sbin/mke2fs"
	if _, err := os.Stat("/" + bin); err != nil {
		t.Skip("no /usr/sbin/mke2fs on this host")
	}
	files, err := ELFClosure("/", bin)
	if err != nil {
		t.Fatal(err)
	}
	var dsts []string
	srcs := map[string]bool{}
	for _, f := range files {
		dsts = append(dsts, f.Dst)
		if srcs[f.Src] {
			t.Errorf("%s listed twice (u-root refuses duplicates)", f.Src)
		}
		srcs[f.Src] = true
	}
	all := strings.Join(dsts, " ")
	for _, w := range []string{bin, "libext2fs.so.2", "libc.so.6", "ld-linux"} {
		if !strings.Contains(all, w) {
			t.Errorf("closure lacks %s: %s", w, all)
		}
	}
}

// TestSoundTestModulesOrder resolves SoundTestModules against a Debian
// module tree the image build has cached (skips without one): snd-aloop
// comes last, after the ALSA core in dependency order.
func TestSoundTestModulesOrder(t *testing.T) {
	dirs, _ := filepath.Glob("../.cache/image/apt-*/unpacked/linux-image-*/lib/modules/*")
	if len(dirs) == 0 {
		t.Skip("no cached kernel in .cache/image (make image fetches one)")
	}
	for _, dir := range dirs {
		// The modules of the target this kernel's architecture is for
		// (armhf: the NanoPi NEO card, not a QEMU virtio machine).
		base := qemuModules
		for _, tg := range Targets {
			if strings.Contains(dir, "/apt-"+tg.DebArch+"/") {
				base = tg.Modules
			}
		}
		mods, err := ModuleOrder(dir, append(append([]string(nil), base...), SoundTestModules...))
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		pos := map[string]int{}
		for i, m := range mods {
			pos[m.Name] = i + 1
		}
		prev := 0
		for _, m := range []string{"soundcore", "snd", "snd_timer", "snd_pcm", "snd_aloop"} {
			if pos[m] <= prev {
				t.Errorf("%s: %s at %d, want after %d: %v", filepath.Base(dir), m, pos[m], prev, mods)
			}
			prev = pos[m]
		}
		if last := mods[len(mods)-1].Name; last != "snd_aloop" {
			t.Errorf("%s: last module %s", filepath.Base(dir), last)
		}
	}
}
