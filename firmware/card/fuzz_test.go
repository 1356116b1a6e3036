package card

import "testing"

func FuzzParseEnv(f *testing.F) {
	b, _ := EncodeEnv(Env{"a": "1", "ls_slot": "b"}, 64)
	f.Add(b)
	f.Add([]byte("\x00\x00\x00\x00a=b\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnv(b)
		if err != nil {
			return
		}
		out, err := EncodeEnv(e, len(b))
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		e2, err := ParseEnv(out)
		if err != nil || len(e2) > len(e) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseMBR(f *testing.F) {
	b, _ := MBR(7, Layout())
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseMBR(b) })
}

func FuzzParseScriptImage(f *testing.F) {
	b, _ := ScriptImage("x", "echo hi", 1)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseScriptImage(b) })
}

// FuzzFAT reads and rewrites a file on a mutated boot sector, FAT and
// root directory: never a panic, never a write outside the device.
func FuzzFAT(f *testing.F) {
	img, _ := FormatFAT(4<<20, 0, "X", 1, []File{{"uboot.env", make([]byte, 3000)}, {"b", []byte("hi")}})
	meta := img[:64<<10]
	f.Add(meta, uint16(0), byte(0))
	f.Add(meta, uint16(13), byte(0x80))
	f.Add(meta, uint16(512+6), byte(0x02))
	f.Fuzz(func(t *testing.T, head []byte, at uint16, v byte) {
		dev := memDev(make([]byte, 4<<20))
		copy(dev, img)
		copy(dev, head)
		if int(at) < len(dev) {
			dev[at] = v
		}
		if b, err := ReadFile(dev, 0, EnvFile); err == nil {
			_ = RewriteFile(dev, 0, EnvFile, b)
		}
	})
}
