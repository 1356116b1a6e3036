package alsa

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

func TestInterleave(t *testing.T) {
	tx := [][]int16{{1, 2, 3}, nil, {7, 8, 9}}
	buf := make([]int16, 9)
	Interleave(buf, tx, 3)
	want := []int16{1, 0, 7, 2, 0, 8, 3, 0, 9}
	for i := range want {
		if buf[i] != want[i] {
			t.Fatalf("interleaved %v, want %v", buf, want)
		}
	}
	rx := [][]int16{make([]int16, 3), nil, make([]int16, 3)}
	Deinterleave(rx, buf, 3)
	if rx[0][2] != 3 || rx[2][1] != 8 {
		t.Fatalf("deinterleaved %v", rx)
	}
	n := testing.AllocsPerRun(100, func() {
		Interleave(buf, tx, 3)
		Deinterleave(rx, buf, 3)
	})
	if n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// loopbackCard returns the card number of snd-aloop's "Loopback" card.
func loopbackCard() (uint, bool) {
	f, err := os.Open("/proc/asound/cards")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && strings.Contains(sc.Text(), "Loopback") {
			n, err := strconv.Atoi(fields[0])
			if err == nil {
				return uint(n), true
			}
		}
	}
	return 0, false
}

// TestLoopback runs the highway on snd-aloop: playback on device 0 comes
// back as capture on device 1. It needs the snd-aloop kernel module and
// skips on machines without it. The real test of this package runs inside
// the QEMU image, which make test boots: buildroot/qemutest TestBootALSA
// loads snd-aloop and runs `loopstart pcm-selftest` (4 slots, a tone each,
// bit-exact loopback, tones, levels, xruns, pacing).
func TestLoopback(t *testing.T) {
	card, ok := loopbackCard()
	if !ok {
		t.Skip("no snd-aloop Loopback card here (/proc/asound/cards; `modprobe snd-aloop` to run it); " +
			"the real-kernel test is buildroot/qemutest TestBootALSA, in make test")
	}
	one := uint(0)
	h, err := Open(Opts{Card: card, Device: 1, PlaybackDevice: &one, Slots: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	tx := [][]int16{make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)}
	rx := [][]int16{make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)}
	for i := range tx[0] {
		tx[0][i], tx[1][i] = 1000, -2000
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 50 {
		if _, _, err := h.Exchange(ctx, tx, rx); err != nil {
			t.Fatal(err)
		}
		if rx[0][40] == 1000 && rx[1][40] == -2000 {
			return
		}
	}
	t.Fatalf("slots never came back: %d %d", rx[0][40], rx[1][40])
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Opts{Slots: 0}); err == nil {
		t.Error("0 slots accepted")
	}
	for _, o := range []Opts{{Slots: 2, Periods: 4, Prime: 4}, {Slots: 2, Periods: 1}, {Slots: 2, Prime: -1}} {
		if _, err := Open(o); err == nil || !strings.Contains(err.Error(), "primed") {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, err := Open(Opts{Card: 99, Slots: 2}); err == nil || !strings.Contains(err.Error(), "hw:99,0") {
		t.Errorf("missing card: %v", err)
	}
}
