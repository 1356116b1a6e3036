package alsa

import (
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

func TestFrameClock(t *testing.T) {
	ms := time.Millisecond
	type read struct {
		at        time.Duration // after the first read
		restarted bool
		seq       uint64
		late      time.Duration
	}
	for _, c := range []struct {
		name  string
		reads []read
	}{
		{"on time", []read{{0, false, 1, 0}, {10 * ms, false, 2, 0}, {20 * ms, false, 3, 0}}},
		{"early reads are not negative", []read{{0, false, 1, 0}, {5 * ms, false, 2, 0}}},
		{"an early read moves the origin back", []read{
			// The first read came 6 ms late: frame 2 on time shows it.
			{0, false, 1, 0}, {4 * ms, false, 2, 0},
			{14 * ms, false, 3, 0}, {30 * ms, false, 4, 6 * ms},
		}},
		{"late without an overrun", []read{{0, false, 1, 0}, {10 * ms, false, 2, 0}, {35 * ms, false, 3, 15 * ms}, {40 * ms, false, 4, 10*ms - originCreep}}},
		{"an overrun skips the lost frames and re-bases", []read{
			{0, false, 1, 0}, {10 * ms, false, 2, 0},
			// Stalled 8 s: frames 3.. were due from 20 ms on.
			{8020 * ms, true, 803, 0},
			{8030 * ms, false, 804, 0},
			{8045 * ms, false, 805, 5 * ms},
			{8055 * ms, false, 806, 5*ms - originCreep},
		}},
		{"a restart on time skips nothing", []read{{0, false, 1, 0}, {10 * ms, true, 2, 0}, {20 * ms, false, 3, 0}}},
		{"a restart as the first read", []read{{0, true, 1, 0}, {10 * ms, false, 2, 0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var fc frameClock
			t0 := time.Unix(1000, 0)
			for i, r := range c.reads {
				seq, late := fc.tick(t0.Add(r.at), r.restarted)
				if seq != r.seq || late != r.late {
					t.Errorf("read %d at %v (restarted %v): seq %d late %v, want %d and %v", i, r.at, r.restarted, seq, late, r.seq, r.late)
				}
			}
		})
	}
}

// TestFrameClockSkew: a card clock 0.3 % slower than the system's (what
// snd-aloop measured under QEMU) reads a little later every frame; over
// ten minutes of frames the lateness stays below a tenth of a frame,
// while a 30 ms stall in the middle still shows as 30 ms.
func TestFrameClockSkew(t *testing.T) {
	var fc frameClock
	t0 := time.Unix(1000, 0)
	period := pcm.FrameDuration * 1003 / 1000
	var worst, stall time.Duration
	for i := range 60000 {
		at := time.Duration(i) * period
		if i == 30000 {
			at += 30 * time.Millisecond
		}
		_, late := fc.tick(t0.Add(at), false)
		if i == 30000 {
			stall = late
		} else if i > 30000+400 || i < 30000 {
			worst = max(worst, late)
		}
	}
	if worst > pcm.FrameDuration/10 {
		t.Errorf("skew shows as %v of lateness", worst)
	}
	if stall < 29*time.Millisecond {
		t.Errorf("a 30 ms stall shows as %v", stall)
	}
}
