package playback

import (
	"os"
	"path/filepath"
	"testing"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

func TestPacketConn(t *testing.T) {
	ops := []conntest.IO{{W: []byte{1}}, {W: []byte{2, 3}}}
	for _, tc := range []struct {
		name    string
		oneByte bool
		pk      []spi.Packet
		ok      bool
	}{
		{"packets", false, []spi.Packet{{W: []byte{1}}, {W: []byte{2, 3}}}, true},
		{"keep cs", false, []spi.Packet{{W: []byte{1}, KeepCS: true}}, false},
		{"one byte refuses two", true, []spi.Packet{{W: []byte{1}}, {W: []byte{2, 3}}}, false},
		{"wrong bytes", false, []spi.Packet{{W: []byte{9}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, c, err := Replay(ops, physic.MegaHertz, spi.Mode3)
			if err != nil {
				t.Fatal(err)
			}
			err = PacketConn{Conn: c, OneByte: tc.oneByte}.TxPackets(tc.pk)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok {
				if err := p.Close(); err != nil {
					t.Errorf("not consumed: %v", err)
				}
			}
		})
	}
}

// tb records Fatalf instead of stopping the test.
type tb struct {
	testing.TB
	failed bool
}

func (t *tb) Helper()               {}
func (t *tb) Fatal(...any)          { t.failed = true }
func (t *tb) Fatalf(string, ...any) { t.failed = true }

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	for _, tc := range []struct {
		name   string
		got    string
		update bool
		fail   bool
	}{
		{"missing", "a\n", false, true},
		{"update writes", "a\nb\n", true, false},
		{"same", "a\nb\n", false, false},
		{"line differs", "a\nc\n", false, true},
		{"longer", "a\nb\nc\n", false, true},
	} {
		r := &tb{TB: t}
		Golden(r, path, tc.got, tc.update)
		if r.failed != tc.fail {
			t.Errorf("%s: failed = %v, want %v", tc.name, r.failed, tc.fail)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "a\nb\n" {
		t.Errorf("golden file %q", b)
	}
}
