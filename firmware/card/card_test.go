package card

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type memDev []byte

func (m memDev) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, errors.New("out of range")
	}
	return copy(p, m[off:]), nil
}

func (m memDev) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, errors.New("out of range")
	}
	return copy(m[off:], p), nil
}

func TestMBRRoundTrip(t *testing.T) {
	parts := Layout()
	b, err := MBR(0x1234abcd, parts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseMBR(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		if got[i] != p {
			t.Errorf("partition %d = %+v, want %+v", i+1, got[i], p)
		}
	}
	if binary.LittleEndian.Uint32(b[440:]) != 0x1234abcd {
		t.Error("disk signature not written")
	}
	// The layout fills the image exactly and leaves U-Boot its room.
	last := parts[3]
	if int64(last.Start+last.Sectors)*SectorSize != ImageMiB<<20 {
		t.Errorf("layout ends at %d sectors, image is %d MiB", last.Start+last.Sectors, ImageMiB)
	}
	if parts[0].Offset() < UBootOffset+1<<19 || !parts[0].Bootable {
		t.Errorf("boot partition %+v: must be bootable and leave 512 KiB for U-Boot at 8 KiB", parts[0])
	}
}

func TestMBRErrors(t *testing.T) {
	good, _ := MBR(1, Layout())
	for _, tc := range []struct {
		name string
		mut  func([]byte)
		want string
	}{
		{"no signature", func(b []byte) { b[511] = 0 }, "signature"},
		{"gpt", func(b []byte) { b[446+4] = 0xee }, "GPT"},
		{"bad flag", func(b []byte) { b[446] = 0x12 }, "boot flag"},
		{"overlap", func(b []byte) { binary.LittleEndian.PutUint32(b[446+16+8:], 2048) }, "overlap"},
		{"empty", func(b []byte) { binary.LittleEndian.PutUint32(b[446+12:], 0) }, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(good)
			tc.mut(b)
			if _, err := ParseMBR(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := MBR(1, make([]Partition, 5)); err == nil {
		t.Error("five partitions accepted")
	}
}

func TestFATRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 70000) // > 1 MiB, many clusters
	for _, tc := range []struct {
		name  string
		size  int64
		files []File
	}{
		{"boot 16 MiB", BootMiB << 20, []File{{"boot.scr", []byte("script")}, {"uboot.env", make([]byte, EnvSize)}}},
		{"slot 64 MiB", SlotMiB << 20, []File{{"zimage", big}, {"neo.dtb", []byte{1, 2, 3}}, {"initrd.xz", big[:12345]}, {"empty", nil}}},
		{"small 4 MiB", 4 << 20, []File{{"a.b", []byte("x")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := FormatFAT(tc.size, 2048, "TEST", 42, tc.files)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(img)) != tc.size {
				t.Fatalf("image is %d bytes, want %d", len(img), tc.size)
			}
			dev := memDev(append(make([]byte, 4096), img...)) // the file system at an offset
			for _, f := range tc.files {
				got, err := ReadFile(dev, 4096, f.Name)
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				if !bytes.Equal(got, f.Data) {
					t.Fatalf("%s: read %d bytes back, not what was written", f.Name, len(got))
				}
			}
			f := tc.files[0]
			repl := bytes.Repeat([]byte{0x5a}, len(f.Data))
			if err := RewriteFile(dev, 4096, f.Name, repl); err != nil {
				t.Fatal(err)
			}
			if got, _ := ReadFile(dev, 4096, f.Name); !bytes.Equal(got, repl) {
				t.Fatal("rewrite not read back")
			}
			if len(tc.files) > 1 {
				if got, _ := ReadFile(dev, 4096, tc.files[1].Name); !bytes.Equal(got, tc.files[1].Data) {
					t.Fatal("rewriting one file changed another")
				}
			}
			if err := RewriteFile(dev, 4096, f.Name, append(repl, 0)); err == nil {
				t.Error("a rewrite of another size was accepted")
			}
			if _, err := ReadFile(dev, 4096, "nothere"); !errors.Is(err, errNotFound) {
				t.Errorf("missing file: %v", err)
			}
			// The boot sector says FAT16 and the total fits the image.
			if string(img[54:62]) != "FAT16   " || img[510] != 0x55 {
				t.Error("boot sector not FAT16")
			}
		})
	}
}

func TestFATErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int64
		files []File
		want  string
	}{
		{"too small", 1 << 20, nil, "too small"},
		{"odd size", 4<<20 + 1, nil, "multiple of 512"},
		{"long name", 4 << 20, []File{{"toolongname.txt", nil}}, "8.3"},
		{"bad char", 4 << 20, []File{{"a b", nil}}, "only"},
		{"twice", 4 << 20, []File{{"a", nil}, {"a", nil}}, "twice"},
		{"no room", 4 << 20, []File{{"a", make([]byte, 5<<20)}}, "do not fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FormatFAT(tc.size, 0, "X", 1, tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEnvRoundTrip(t *testing.T) {
	e := Env{"bootcmd": "run distro_bootcmd", "ls_slot": "b", "empty": "", "args": "a=b c"}
	b, err := EncodeEnv(e, EnvSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != EnvSize || binary.LittleEndian.Uint32(b) != crc32.ChecksumIEEE(b[4:]) {
		t.Fatal("size or CRC wrong")
	}
	if !bytes.HasPrefix(b[4:], []byte("args=a=b c\x00bootcmd=run distro_bootcmd\x00empty=\x00ls_slot=b\x00\x00")) {
		t.Errorf("layout: %q", b[4:80])
	}
	got, err := ParseEnv(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(e) {
		t.Fatalf("got %v", got)
	}
	for k, v := range e {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	b[100] ^= 1
	if _, err := ParseEnv(b); !errors.Is(err, ErrEnvCRC) {
		t.Errorf("flipped bit: %v", err)
	}
	for _, bad := range []Env{{"a=b": "x"}, {"": "x"}, {"a": "x\x00y"}, {"big": strings.Repeat("x", 100)}} {
		if _, err := EncodeEnv(bad, 64); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDefaultEnv(t *testing.T) {
	bin := []byte("\x7fELF junk\x01\x02\x00arch=arm\x00baudrate=115200\x00bootcmd=run distro_bootcmd\x00fdt_addr_r=0x43000000\x00" +
		"kernel_addr_r=0x42000000\x00ramdisk_addr_r=0x43300000\x00\x00more junk")
	e, err := DefaultEnv(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := Env{"arch": "arm", "baudrate": "115200", "bootcmd": "run distro_bootcmd", "fdt_addr_r": "0x43000000",
		"kernel_addr_r": "0x42000000", "ramdisk_addr_r": "0x43300000"}
	if len(e) != len(want) {
		t.Fatalf("got %v", e)
	}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("%s = %q, want %q", k, e[k], v)
		}
	}
	if _, err := DefaultEnv([]byte("nothing")); err == nil {
		t.Error("no environment accepted")
	}
	if _, err := DefaultEnv([]byte("\x00bootcmd=x\x00\x00")); err == nil {
		t.Error("environment without load addresses accepted")
	}
}

// TestDefaultEnvDebian reads the environment of Debian's NanoPi NEO U-Boot
// when the image build has fetched it (LOOPSTART_UBOOT names the file).
func TestDefaultEnvDebian(t *testing.T) {
	p := os.Getenv("LOOPSTART_UBOOT")
	if p == "" {
		t.Skip("LOOPSTART_UBOOT not set (the u-boot-sunxi-with-spl.bin the image build fetched)")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	e, err := DefaultEnv(b)
	if err != nil {
		t.Fatal(err)
	}
	if e["fdtfile"] != "sun8i-h3-nanopi-neo.dtb" || e["bootcmd"] != "run distro_bootcmd" {
		t.Errorf("fdtfile %q bootcmd %q", e["fdtfile"], e["bootcmd"])
	}
}

func TestScriptImage(t *testing.T) {
	s := BootScript("ttyS0,115200")
	b, err := ScriptImage("loopstart A/B", s, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseScriptImage(b)
	if err != nil || got != s {
		t.Fatalf("round trip: %v", err)
	}
	// Header fields as mkimage -A arm -O linux -T script -C none sets them.
	if binary.BigEndian.Uint32(b) != 0x27051956 || b[28] != 5 || b[29] != 2 || b[30] != 6 || b[31] != 0 {
		t.Errorf("header % x", b[:32])
	}
	for i, mut := range []func([]byte){func(b []byte) { b[70] ^= 1 }, func(b []byte) { b[8] ^= 1 }, func(b []byte) { b[30] = 2 }} {
		c := bytes.Clone(b)
		mut(c)
		if _, err := ParseScriptImage(c); err == nil {
			t.Errorf("mutation %d accepted", i)
		}
	}
	if _, err := ScriptImage(strings.Repeat("n", 33), "", 0); err == nil {
		t.Error("long name accepted")
	}
}

func TestBootScriptNames(t *testing.T) {
	s := BootScript("ttyS0,115200")
	for _, want := range []string{KernelFile, DTBFile, InitrdFile, "saveenv", "setexpr ls_tries ${ls_tries} - 1",
		"console=ttyS0,115200", "loopstart.slot=${ls_slot}", "${ls_args}", "bootz"} {
		if !strings.Contains(s, want) {
			t.Errorf("boot script lacks %q", want)
		}
	}
}

func TestStateOf(t *testing.T) {
	for _, tc := range []struct {
		env  Env
		want State
	}{
		{Env{}, State{Slot: "a"}},
		{Env{VarSlot: "b", VarTrial: "1", VarTries: "3"}, State{Slot: "b", Trial: true, Tries: 3}},
		{Env{VarSlot: "x", VarTrial: "0", VarTries: "junk", VarFellBack: "b"}, State{Slot: "a", FellBack: "b"}},
	} {
		if got := StateOf(tc.env); got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.env, got, tc.want)
		}
	}
}

// bootImage writes a boot partition file system with env to a file.
func bootImage(t *testing.T, env Env) string {
	t.Helper()
	raw, err := EncodeEnv(env, EnvSize)
	if err != nil {
		t.Fatal(err)
	}
	img, err := FormatFAT(BootMiB<<20, 2048, "LOOPSTART", 1, []File{{BootScriptFile, []byte("x")}, {EnvFile, raw}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "boot.img")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBootEnvTrialConfirm(t *testing.T) {
	be := BootEnv{Dev: bootImage(t, Env{"bootcmd": "run distro_bootcmd", VarSlot: "a", VarTrial: "0", VarTries: "0"})}
	if err := be.SetTrial("c"); err == nil {
		t.Fatal("slot c accepted")
	}
	if err := be.SetTrial("b"); err != nil {
		t.Fatal(err)
	}
	e, size, err := be.Read()
	if err != nil || size != EnvSize {
		t.Fatal(err, size)
	}
	if s := StateOf(e); s != (State{Slot: "b", Trial: true, Tries: TrialTries}) || e["bootcmd"] != "run distro_bootcmd" {
		t.Fatalf("after SetTrial: %+v %q", s, e["bootcmd"])
	}
	if err := be.Confirm("a"); err == nil {
		t.Fatal("confirmed the slot U-Boot does not boot")
	}
	if err := be.Confirm("b"); err != nil {
		t.Fatal(err)
	}
	e, _, _ = be.Read()
	if s := StateOf(e); s != (State{Slot: "b"}) {
		t.Fatalf("after Confirm: %+v", s)
	}
	if err := be.Confirm("b"); !errors.Is(err, ErrNotTrial) {
		t.Errorf("second confirm: %v", err)
	}
	// A damaged environment is refused and left alone.
	f, _ := os.OpenFile(be.Dev, os.O_RDWR, 0)
	v, _ := openFAT(f, 0)
	off, first, _, _ := v.find(EnvFile)
	_ = off
	ext, _ := v.chain(first, EnvSize)
	f.WriteAt([]byte{0xff}, ext[0][0]+10)
	f.Close()
	if err := be.SetTrial("a"); !errors.Is(err, ErrEnvCRC) {
		t.Errorf("damaged env: %v", err)
	}
}

func TestGrowLast(t *testing.T) {
	mbr, _ := MBR(1, Layout())
	imgSectors := uint64(ImageMiB << 20 / SectorSize)
	for _, tc := range []struct {
		name    string
		part    int
		disk    uint64
		changed bool
		want    string
	}{
		{"same size", 4, imgSectors, false, ""},
		{"smaller disk", 4, imgSectors - 100, false, ""},
		{"8 GB card", 4, 15523840, true, ""},
		{"not last", 2, 15523840, false, "not the last"},
		{"no such", 5, 15523840, false, "no partition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, changed, err := GrowLast(mbr, tc.part, tc.disk)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil || changed != tc.changed {
				t.Fatalf("changed %v err %v", changed, err)
			}
			parts, err := ParseMBR(out)
			if err != nil {
				t.Fatal(err)
			}
			end := uint64(parts[3].Start) + uint64(parts[3].Sectors)
			if tc.changed && end != tc.disk || !tc.changed && end != imgSectors {
				t.Errorf("partition 4 ends at %d (disk %d)", end, tc.disk)
			}
			if parts[0] != Layout()[0] || parts[2] != Layout()[2] {
				t.Error("other partitions changed")
			}
		})
	}
}

func TestTrim(t *testing.T) {
	img, err := FormatFAT(SlotMiB<<20, 0, "X", 1, []File{{"zimage", bytes.Repeat([]byte{7}, 100000)}})
	if err != nil {
		t.Fatal(err)
	}
	tr := Trim(img)
	if len(tr)%SectorSize != 0 || len(tr) > 100000+1<<20 || len(tr) < 100000 {
		t.Fatalf("trimmed to %d bytes", len(tr))
	}
	// The trimmed image over old data reads the same files.
	dev := memDev(bytes.Repeat([]byte{0x5a}, SlotMiB<<20))
	copy(dev, tr)
	if b, err := ReadFile(dev, 0, "zimage"); err != nil || !bytes.Equal(b, bytes.Repeat([]byte{7}, 100000)) {
		t.Fatalf("read after trim: %v", err)
	}
	for _, tc := range []struct {
		in   []byte
		want int
	}{{nil, 0}, {make([]byte, 1024), 0}, {append(make([]byte, 512), 1), 513}, {append(make([]byte, 1000), 1, 0, 0), 1003}, {append(make([]byte, 1000), append([]byte{1}, make([]byte, 100)...)...), 1024}} {
		if got := len(Trim(tc.in)); got != tc.want {
			t.Errorf("Trim(%d bytes) = %d, want %d", len(tc.in), got, tc.want)
		}
	}
}
