package hil

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hil/cuse"
	"github.com/loopstart/loopstart/board/hil/spidev"
	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/dsp"
)

func nosleep(time.Duration) {}

// spidevNoTrace is d's device again without a trace, for benchmarks.
func spidevNoTrace(d *Device) *spidev.Device {
	return spidev.New(spidev.Opts{Port: d.port, Framing: d.framing})
}

// TestRigGoldenThroughCUSE brings both qemu-hil chips up with the real
// drivers through the CUSE protocol (the fake kernel above plays
// fs/fuse and periph's spidev use of it): the register accesses the rig
// records equal the drivers' no-reset golden files, and no cycle breaks
// chip-select framing.
func TestRigGoldenThroughCUSE(t *testing.T) {
	r, err := New(board.QEMUHIL())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Devices {
		k := newKernel(t, &cuse.Server{Name: d.Name, Dev: d.Dev})
		c, err := connect(k, physic.Frequency(r.Def.SPIHz)*physic.Hertz, spi.Mode3)
		if err != nil {
			t.Fatal(err)
		}
		var golden string
		switch d.Chip {
		case board.ChipSi3215:
			golden = "../../drivers/si3215/testdata/init-noreset.golden"
			_, err = si3215.New(c, nil, nil, &si3215.Opts{Slot: 0, Name: "SPI0.0", Country: "us", RingHz: 20, Sleep: nosleep})
		case board.ChipSi3050:
			golden = "../../drivers/si3050/testdata/init-noreset.golden"
			_, err = si3050.New(c, nil, nil, &si3050.Opts{Slot: 1, Name: "SPI0.1/0", Country: "us", Sleep: nosleep})
		}
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		got := Describe(d.Chip, d.Dev.Trace())
		if got != string(want) {
			gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
			for i := range min(len(gl), len(wl)) {
				if gl[i] != wl[i] {
					t.Fatalf("%s: line %d: got %q, want %q", d.Name, i+1, gl[i], wl[i])
				}
			}
			t.Fatalf("%s: %d lines, golden %d", d.Name, len(gl), len(wl))
		}
		st := d.Dev.Stats()
		if st.Violations != 0 || st.Errors != 0 || len(d.violations()) != 0 {
			t.Errorf("%s: stats %+v, model violations %q", d.Name, st, d.violations())
		}
		t.Logf("%s: %d messages, %d transfers, %d ioctl rounds", d.Name, st.Messages, st.Transfers, k.rounds)
	}
}

// TestRigCSViolation: a two-byte cycle to the ProSLIC (chip select held
// over both bytes) is refused with EIO, counted as a framing violation
// and named in the description.
func TestRigCSViolation(t *testing.T) {
	r, err := New(board.QEMUHIL())
	if err != nil {
		t.Fatal(err)
	}
	d := r.Devices[0]
	k := newKernel(t, &cuse.Server{Name: d.Name, Dev: d.Dev})
	c, err := connect(k, physic.MegaHertz, spi.Mode3)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Tx([]byte{0x80, 0}, make([]byte, 2)); err == nil {
		t.Fatal("a two-byte cycle to the Si3215 went through")
	}
	if err := c.TxPackets([]spi.Packet{{W: []byte{0x80}, R: []byte{0}, KeepCS: true}, {W: []byte{0}, R: []byte{0}}}); err == nil {
		t.Fatal("chip select held between two bytes went through")
	}
	st := d.Dev.Stats()
	if st.Violations != 2 {
		t.Errorf("violations = %d, want 2 (%+v)", st.Violations, st)
	}
	if desc := Describe(d.Chip, d.Dev.Trace()); !strings.HasPrefix(desc, "! refused: ") {
		t.Errorf("description %q does not name the refused cycle", desc)
	}
	// The Si3050 frames by byte count: CS held across a frame is fine.
	d2 := r.Devices[1]
	k2 := newKernel(t, &cuse.Server{Name: d2.Name, Dev: d2.Dev})
	c2, err := connect(k2, physic.MegaHertz, spi.Mode3)
	if err != nil {
		t.Fatal(err)
	}
	rd := make([]byte, 3)
	if err := c2.Tx([]byte{0x60, 2, 0}, rd); err != nil {
		t.Fatal(err)
	}
	if rd[2] != 0x03 || d2.Dev.Stats().Violations != 0 {
		t.Errorf("Si3050 reg 2 read %#x (want 0x03), stats %+v", rd[2], d2.Dev.Stats())
	}
}

// BenchmarkHookPollThroughCUSE is the server side of one ProSLIC hook
// poll (two register reads, each one SPI_IOC_MESSAGE of two one-byte
// transfers in three CUSE rounds), without the kernel's part: request
// parsing, the spidev device, the model and the replies.
func BenchmarkHookPollThroughCUSE(b *testing.B) {
	r, err := New(board.QEMUHIL())
	if err != nil {
		b.Fatal(err)
	}
	d := r.Devices[0]
	d.Dev = spidevNoTrace(d)
	k := newKernel(b, &cuse.Server{Name: d.Name, Dev: d.Dev})
	c, err := connect(k, physic.MegaHertz, spi.Mode3)
	if err != nil {
		b.Fatal(err)
	}
	rd := []byte{0}
	b.ReportAllocs()
	for b.Loop() {
		for _, reg := range []byte{19, 68} {
			if err := c.TxPackets([]spi.Packet{{W: []byte{0x80 | reg}, R: []byte{0}}, {W: []byte{0}, R: rd}}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestRigOfficeLine: with the rig's frame clock ticking, the DAA brought
// up through the CUSE protocol sees the office battery (an idle line),
// and a loop once it seizes the line.
func TestRigOfficeLine(t *testing.T) {
	r, err := New(board.QEMUHIL())
	if err != nil {
		t.Fatal(err)
	}
	d := r.Devices[1]
	k := newKernel(t, &cuse.Server{Name: d.Name, Dev: d.Dev})
	c, err := connect(k, physic.MegaHertz, spi.Mode3)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := si3050.New(c, nil, nil, &si3050.Opts{Slot: 1, Country: "us", Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	clock := r.NewClock()
	var st si3050.Status
	for i := range 40 {
		clock.Tick(uint64(i))
		if st, err = dev.Poll(time.Duration(i) * 10 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if !st.Battery || st.LineVolts < OfficeVolts-5 {
		t.Fatalf("idle line: %+v", st)
	}
	if err := dev.SetHook(true); err != nil {
		t.Fatal(err)
	}
	for i := 40; i < 80; i++ {
		clock.Tick(uint64(i))
		if st, err = dev.Poll(time.Duration(i) * 10 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if !st.OffHook || st.LoopMA < OfficeLoopMA/2 {
		t.Fatalf("seized line: %+v", st)
	}
	if d.Dev.Stats().Violations != 0 {
		t.Errorf("stats %+v", d.Dev.Stats())
	}
}

// fakeHighway is the far side of the gateway's highway for the clock's
// PCM test: it sends a tone on slot 0 for frames frames, records what the
// chips send on slot 0, then blocks until the clock stops.
type fakeHighway struct {
	frames int
	fails  int // the first fails exchanges fail
	hz     float64
	n      int
	sent   []int16
	done   chan struct{}
}

func (f *fakeHighway) Slots() int   { return 2 }
func (f *fakeHighway) Close() error { return nil }

// Xruns is what the ALSA highway counts: the status passes it on.
func (f *fakeHighway) Xruns() (int, int) { return 1, 2 }
func (f *fakeHighway) Exchange(ctx context.Context, tx, rx [][]int16) (uint64, time.Duration, error) {
	if f.fails > 0 {
		f.fails--
		return uint64(f.n), 0, errors.New("broken pipe")
	}
	if f.n == f.frames {
		close(f.done)
		<-ctx.Done()
		return uint64(f.n), 0, ctx.Err()
	}
	f.sent = append(f.sent, tx[0]...)
	for i := range rx[0] {
		rx[0][i] = int16(8000 * math.Sin(2*math.Pi*f.hz*float64(f.n*pcm.FrameSamples+i)/pcm.SampleRate))
	}
	clear(rx[1])
	f.n++
	return uint64(f.n), 0, nil
}

// TestRigPCM: with the clock paced by a PCM highway, the phone on the
// Si3215 (brought up through the CUSE protocol) hears the tone the
// highway sends on the chip's slot, and its mouthpiece's tone comes back
// on the same slot; the status counts the frames.
func TestRigPCM(t *testing.T) {
	r, err := New(board.QEMUHIL())
	if err != nil {
		t.Fatal(err)
	}
	d := r.Devices[0]
	k := newKernel(t, &cuse.Server{Name: d.Name, Dev: d.Dev})
	c, err := connect(k, physic.MegaHertz, spi.Mode3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := si3215.New(c, nil, nil, &si3215.Opts{Slot: 0, Name: "SPI0.0", Country: "us", RingHz: 20, Sleep: nosleep}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetHook(1, true); err != nil {
		t.Fatal(err)
	}
	ph, err := r.Phone(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ph.Say([]float64{1000}, -12); err != nil {
		t.Fatal(err)
	}
	if err := ph.DialDTMF("5", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	h := &fakeHighway{frames: 100, fails: 3, hz: 600, done: make(chan struct{})}
	clock := r.NewClock()
	clock.StartPCM(h, "fake", nil)
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the clock did not run 100 frames in 30 s")
	}
	clock.Stop()
	st, err := r.PhoneState(1)
	if err != nil {
		t.Fatal(err)
	}
	if !hears(st.Hearing.TonesHz, 600) {
		t.Errorf("the phone hears %v (%.1f dBFS), want 600 Hz", st.Hearing.TonesHz, st.Hearing.LevelDBFS)
	}
	if got := dsp.DominantTones(h.sent[len(h.sent)-4000:], 4); !hears(got, 1000) {
		t.Errorf("the chip sends %v on slot 0, want 1000 Hz", got)
	}
	s := r.Status().PCM
	if s.Source != "fake" || s.Frames != 100 || s.Missed != 0 || s.Errors != 3 || s.LastError != "broken pipe" ||
		s.CaptureXruns != 1 || s.PlaybackXruns != 2 {
		t.Errorf("pcm status %+v, want 100 frames from fake after 3 errors, the highway's 1 and 2 xruns", s)
	}
	// Per slot: the phone's tone goes out on slot 0, the DAA (no driver:
	// PCM off) sends nothing on slot 1; the highway's 8000-peak sine
	// (−12.3 dBFS) comes in on slot 0, silence on slot 1.
	if len(s.ToGatewayDBFS) != 2 || s.ToGatewayDBFS[0] < -40 || s.ToGatewayDBFS[1] != SilentDBFS {
		t.Errorf("levels sent to the gateway %v dBFS, want the phone's tone on slot 0, silence on 1", s.ToGatewayDBFS)
	}
	if len(s.ToGatewayDigits) != 2 || s.ToGatewayDigits[0] != "5" || s.ToGatewayDigits[1] != "" {
		t.Errorf("digits sent to the gateway %q, want the key pressed, 5, on slot 0", s.ToGatewayDigits)
	}
	if len(s.FromGatewayDBFS) != 2 || math.Abs(s.FromGatewayDBFS[0]+12.3) > 0.2 || s.FromGatewayDBFS[1] != SilentDBFS {
		t.Errorf("levels from the gateway %v dBFS, want −12.3 on slot 0, silence on 1", s.FromGatewayDBFS)
	}
	if _, err := r.Phone(2); err == nil {
		t.Error("the FXO port has a phone")
	}
}

func hears(tones []float64, hz float64) bool {
	for _, f := range tones {
		if math.Abs(f-hz) < 20 {
			return true
		}
	}
	return false
}
