package factory

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/hw/hwtest"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	fxsmodel "github.com/loopstart/loopstart/drivers/si3215/model"
)

// newModelHost puts chip models where the Pi's devices would be.
func newModelHost(fxs fxsmodel.Opts) *hwtest.Host {
	return hwtest.New(board.RPiTDM400(), hwtest.Opts{FXS: map[int]fxsmodel.Opts{1: fxs}})
}

// devTree makes a fake device root holding files (paths under /dev).
func devTree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// piFiles are the device files of the rpi-tdm400 board.
var piFiles = []string{"/dev/spidev0.0", "/dev/spidev0.1", "/dev/gpiochip0", "/dev/snd/pcmC0D0p", "/dev/snd/pcmC0D0c"}

func nosleep(time.Duration) {}

// TestOpenRPiThroughFactory: the Pi board with chip models behind the host
// and a virtual highway comes up with both ports working; the highway
// runs before and after the media loop takes it; Close halts the chips.
func TestOpenRPiThroughFactory(t *testing.T) {
	h := newModelHost(fxsmodel.Opts{})
	hwy := simpcm.New(simpcm.Opts{Slots: 2, Clock: &simpcm.VirtualClock{}})
	b, err := Open("rpi-tdm400", Opts{DevRoot: devTree(t, piFiles...), Host: h, Highway: hwy, Sleep: nosleep, Country: "uk"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Sim != nil || b.PCMFault != nil || b.Name != "rpi-tdm400" || b.Def.Name != "rpi-tdm400" {
		t.Fatalf("board %q: sim %v, pcm fault %v", b.Name, b.Sim, b.PCMFault)
	}
	if len(b.Ports) != 2 || b.Ports[0].FXS == nil || b.Ports[1].FXO == nil {
		t.Fatalf("ports %+v", b.Ports)
	}
	for _, p := range b.Ports {
		if p.Fault != nil {
			t.Errorf("port %d: %v", p.N, p.Fault)
		}
	}
	if h.FXS[1].Reg(10) != 4 {
		t.Errorf("country not passed on: FXS reg10 %d", h.FXS[1].Reg(10))
	}
	// The pump ran frames during bring-up; the loop's frames follow on.
	var last uint64
	for i := range 3 {
		seq, _, err := b.Highway.Exchange(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && seq < 1 || i > 0 && seq != last+1 {
			t.Fatalf("frame %d: seq %d after %d", i, seq, last)
		}
		last = seq
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if h.FXS[1].Linefeed() != 0 || h.FXO[2].Reg(6)&0x10 == 0 {
		t.Error("Close did not halt the chips")
	}
	if _, _, err := hwy.Exchange(context.Background(), nil, nil); !errors.Is(err, simpcm.ErrClosed) {
		t.Errorf("highway not closed: %v", err)
	}
}

func TestOpenModelBoards(t *testing.T) {
	for _, name := range []string{"sim", "qemu"} {
		b, err := Open(name, Opts{Clock: &simpcm.VirtualClock{}, DevRoot: t.TempDir()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b.Sim == nil || b.Name != name || len(b.Ports) != 3 || b.Highway != b.Sim.Highway {
			t.Fatalf("%s: %+v", name, b)
		}
		for _, p := range b.Ports {
			if p.Fault != nil {
				t.Errorf("%s port %d: %v", name, p.N, p.Fault)
			}
		}
		if _, err := b.Sim.Phone(1); err != nil {
			t.Error(err)
		}
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	}
	if _, err := Open("nope", Opts{}); err == nil || !strings.Contains(err.Error(), "unknown board") {
		t.Errorf("unknown board: %v", err)
	}
}

func TestMissingDeviceFiles(t *testing.T) {
	noGPIO := board.RPiTDM400()
	noGPIO.Chips = append([]board.ChipDef(nil), noGPIO.Chips...)
	for i := range noGPIO.Chips {
		noGPIO.Chips[i].Reset, noGPIO.Chips[i].IRQ = "", ""
	}
	for _, tc := range []struct {
		name    string
		def     board.Definition
		present []string
		missing []string
	}{
		{"none", board.RPiTDM400(), nil, piFiles},
		{"all", board.RPiTDM400(), piFiles, nil},
		{"other gpiochip", board.RPiTDM400(), []string{"/dev/spidev0.0", "/dev/spidev0.1", "/dev/gpiochip4", "/dev/snd/pcmC0D0p", "/dev/snd/pcmC0D0c"}, nil},
		{"one spidev, no capture", board.RPiTDM400(), []string{"/dev/spidev0.1", "/dev/gpiochip0", "/dev/snd/pcmC0D0p"}, []string{"/dev/spidev0.0", "/dev/snd/pcmC0D0c"}},
		{"no GPIO named", noGPIO, nil, []string{"/dev/spidev0.0", "/dev/spidev0.1", "/dev/snd/pcmC0D0p", "/dev/snd/pcmC0D0c"}},
		{"models", board.Sim(), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := devTree(t, tc.present...)
			got, err := Missing(tc.def, root)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range tc.missing {
				want = append(want, filepath.Join(root, f))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("missing %q, want %q", got, want)
			}
		})
	}
}

// TestOpenMissingDevices: one error, one line, every missing file named.
func TestOpenMissingDevices(t *testing.T) {
	root := devTree(t, "/dev/null")
	_, err := Open("rpi-tdm400", Opts{DevRoot: root, Host: newModelHost(fxsmodel.Opts{})})
	var me *MissingError
	if !errors.As(err, &me) || me.Board != "rpi-tdm400" || len(me.Files) != len(piFiles) {
		t.Fatalf("error %v", err)
	}
	want := "board rpi-tdm400: missing device files: " + filepath.Join(root, "/dev/spidev0.0") + ", " +
		filepath.Join(root, "/dev/spidev0.1") + ", " + filepath.Join(root, "/dev/gpiochip0") + ", " +
		filepath.Join(root, "/dev/snd/pcmC0D0p") + ", " + filepath.Join(root, "/dev/snd/pcmC0D0c")
	if err.Error() != want || strings.Contains(err.Error(), "\n") {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	if (&MissingError{Board: "x", Files: []string{"/dev/spidev0.0", "/dev/gpiochip0"}}).Error() != "board x: missing device files: /dev/spidev0.0, /dev/gpiochip0" {
		t.Error("message format")
	}
}

// TestOpenSilentChip: the files are there but the FXS chip does not answer:
// no error, port 1 faulted, port 2 working.
func TestOpenSilentChip(t *testing.T) {
	h := newModelHost(fxsmodel.Opts{ID: 0x0F})
	hwy := simpcm.New(simpcm.Opts{Slots: 2, Clock: &simpcm.VirtualClock{}})
	b, err := Open("rpi-tdm400", Opts{DevRoot: devTree(t, piFiles...), Host: h, Highway: hwy, Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Ports[0].Fault == nil || b.Ports[0].FXS != nil {
		t.Errorf("silent chip: port 1 %+v", b.Ports[0])
	}
	if b.Ports[1].Fault != nil || b.Ports[1].FXO == nil {
		t.Errorf("port 2: %v", b.Ports[1].Fault)
	}
	if b.PCMFault != nil {
		t.Error(b.PCMFault)
	}
}

// blocked is a highway whose clock never runs.
type blocked struct{ closed chan struct{} }

func (b *blocked) Slots() int { return 2 }
func (b *blocked) Exchange(ctx context.Context, _, _ [][]int16) (uint64, time.Duration, error) {
	<-ctx.Done()
	return 0, 0, ctx.Err()
}
func (b *blocked) Close() error { close(b.closed); return nil }

// failing is a highway whose first exchange fails.
type failing struct{ blocked }

func (f *failing) Exchange(context.Context, [][]int16, [][]int16) (uint64, time.Duration, error) {
	return 0, 0, errors.New("dma stuck")
}

// TestOpenPCMDown: a highway that does not open, gives no frame or fails
// leaves the board running with every port faulted for that reason, on a
// stand-in highway the media loop can use; the chips are not touched.
func TestOpenPCMDown(t *testing.T) {
	noCard := board.RPiTDM400()
	noCard.Name, noCard.Highway = "no-card", "alsa:hw:31,7"
	silent := &blocked{closed: make(chan struct{})}
	bad := &failing{blocked{closed: make(chan struct{})}}
	for _, tc := range []struct {
		name    string
		def     board.Definition
		hwy     pcm.Highway
		reason  string
		closed  chan struct{}
		present []string
	}{
		{"silent", board.RPiTDM400(), silent, "silent", silent.closed, piFiles},
		{"failing", board.RPiTDM400(), bad, "dma stuck", bad.closed, piFiles},
		{"few slots", board.RPiTDM400(), simpcm.New(simpcm.Opts{Slots: 1}), "slots", nil, piFiles},
		{"no card", noCard, nil, "pcmC31D7", nil, []string{"/dev/spidev0.0", "/dev/spidev0.1", "/dev/gpiochip0", "/dev/snd/pcmC31D7p", "/dev/snd/pcmC31D7c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newModelHost(fxsmodel.Opts{})
			b, err := OpenDefinition(tc.def, Opts{DevRoot: devTree(t, tc.present...), Host: h, Highway: tc.hwy,
				PCMTimeout: 50 * time.Millisecond, Clock: &simpcm.VirtualClock{}, Sleep: nosleep})
			if err != nil {
				t.Fatal(err)
			}
			if b.PCMFault == nil || !strings.Contains(b.PCMFault.Error(), tc.reason) {
				t.Fatalf("pcm fault %v, want %q", b.PCMFault, tc.reason)
			}
			t.Log(b.PCMFault)
			if len(b.Ports) != 2 {
				t.Fatalf("%d ports", len(b.Ports))
			}
			for _, p := range b.Ports {
				if !errors.Is(p.Fault, b.PCMFault) || p.FXS != nil || p.FXO != nil || p.Slot != p.N-1 {
					t.Errorf("port %+v", p)
				}
			}
			if h.FXS[1].Reg(10) != 0 {
				t.Error("the chips were brought up without a highway")
			}
			if _, _, err := b.Highway.Exchange(context.Background(), nil, nil); err != nil {
				t.Fatalf("stand-in highway: %v", err)
			}
			if b.Highway.Slots() != tc.def.Slots {
				t.Errorf("stand-in has %d slots", b.Highway.Slots())
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if tc.closed != nil {
				select {
				case <-tc.closed:
				case <-time.After(5 * time.Second):
					t.Error("the dead highway was never closed")
				}
			}
		})
	}
}

func TestALSADevice(t *testing.T) {
	for _, tc := range []struct {
		in        string
		card, dev uint
		ok        bool
	}{
		{"alsa:hw:0,0", 0, 0, true},
		{"alsa:hw:1", 1, 0, true},
		{"alsa:hw:2,3", 2, 3, true},
		{"alsa:hw:255,12", 255, 12, true},
		{"alsa:hw:256,0", 0, 0, false},
		{"alsa:hw:01,0", 0, 0, false},
		{"alsa:hw:-1,0", 0, 0, false},
		{"alsa:hw:1,", 0, 0, false},
		{"alsa:hw:,1", 0, 0, false},
		{"alsa:default", 0, 0, false},
		{"sim", 0, 0, false},
		{"alsa:hw:1,2,3", 0, 0, false},
	} {
		c, d, err := ALSADevice(tc.in)
		if (err == nil) != tc.ok || c != tc.card || d != tc.dev {
			t.Errorf("%q: %d,%d %v", tc.in, c, d, err)
		}
	}
}

func FuzzALSADevice(f *testing.F) {
	for _, s := range []string{"alsa:hw:0,0", "alsa:hw:1", "alsa:hw:01,2", "alsa:default", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, d, err := ALSADevice(s)
		if err != nil {
			return
		}
		want := "alsa:hw:" + itoa(c)
		if strings.Count(s, ",") == 1 {
			want += "," + itoa(d)
		} else if d != 0 {
			t.Fatalf("%q: device %d without a device field", s, d)
		}
		if s != want {
			t.Fatalf("%q parsed as %d,%d", s, c, d)
		}
	})
}

func itoa(n uint) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
