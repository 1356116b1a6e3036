package media

import (
	"runtime"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// TestRealtimeReader runs a call through streams whose readers wait for
// packets in the kernel on their own SCHED_FIFO threads (StreamOpts.Priority):
// audio arrives, and a steady call allocates nothing. Without CAP_SYS_NICE
// the readers fall back to the ordinary one and the test says so.
func TestRealtimeReader(t *testing.T) {
	a, err := NewStreamWith(loopback, StreamOpts{Priority: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewStreamWith(loopback, StreamOpts{Priority: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU})
	b.Start(Session{Remote: a.LocalAddr(), Codec: PCMU})
	deadline := time.Now().Add(time.Second)
	for !a.RealtimeReader() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !a.RealtimeReader() {
		t.Log("no real-time reader (no CAP_SYS_NICE?): testing the fallback reader")
	}
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	var heard []int16
	tick := time.NewTicker(pcm.FrameDuration)
	defer tick.Stop()
	for range 60 {
		<-tick.C
		sine(frame, 900, 8000, &ph)
		a.Send(frame)
		b.Receive(out)
		heard = append(heard, out...)
	}
	if tones := dsp.DominantTones(heard[len(heard)-2400:], 2); len(tones) != 1 || tones[0] < 895 || tones[0] > 905 {
		t.Fatalf("heard %v, want 900 Hz", tones)
	}
	step := func() {
		a.Send(frame)
		b.Send(frame)
		runtime.Gosched()
		time.Sleep(50 * time.Microsecond) // the reader threads wake in the kernel
		a.Receive(out)
		b.Receive(out)
	}
	for range 100 {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Fatalf("%v allocations per frame with real-time readers", n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
