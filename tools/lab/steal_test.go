package lab

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSteal(t *testing.T) {
	a, err := Steal()
	if err != nil {
		t.Skipf("no /proc/stat here: %v", err)
	}
	b, err := Steal()
	if err != nil || b < a {
		t.Fatalf("steal went from %v to %v (%v)", a, b, err)
	}
}

// TestLatenessLedger: late frames count as the host's only in intervals
// the host stole from or a witness stalled in.
func TestLatenessLedger(t *testing.T) {
	t0 := time.Now()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 500 * time.Millisecond) }
	l := &LatenessLedger{}
	for i, s := range []struct {
		bad   uint64
		steal time.Duration
		stall time.Duration
	}{
		{10, 100 * time.Millisecond, 0},                     // the baseline: nothing booked
		{10, 100 * time.Millisecond, 0},                     // quiet
		{12, 100 * time.Millisecond, 0},                     // 2 late, no steal: ours
		{12, 130 * time.Millisecond, 0},                     // steal, no late frame
		{15, 170 * time.Millisecond, 0},                     // 3 late while the host stole 40 ms
		{16, 170 * time.Millisecond, 0},                     // 1 late, no steal: ours
		{16, 170 * time.Millisecond, 20 * time.Millisecond}, // a stall, no late frame
		{18, 170 * time.Millisecond, 23 * time.Millisecond}, // 2 late beside a 23 ms stall
		{19, 170 * time.Millisecond, 4 * time.Millisecond},  // a witness 4 ms late is no stall: ours
	} {
		l.add(s.bad, at(i), machineReading{steal: s.steal, stalls: stallsOf(at(i), s.stall)})
	}
	if l.Own != 4 || l.Host != 5 || l.Stalled != 2 || l.Longest != 23*time.Millisecond ||
		l.Stolen != 40*time.Millisecond || l.Total != 70*time.Millisecond || l.StallTotal != 47*time.Millisecond {
		t.Errorf("own %d host %d stalled %d longest %v stolen %v total %v stalls %v, want 4, 5, 2, 23ms, 40ms, 70ms, 47ms",
			l.Own, l.Host, l.Stalled, l.Longest, l.Stolen, l.Total, l.StallTotal)
	}
	if l.Excuses(10 * time.Millisecond) {
		t.Error("a loss excused although the loop was late on its own")
	}
	h := &LatenessLedger{}
	h.add(0, at(0), machineReading{})
	h.add(2, at(1), machineReading{steal: 50 * time.Millisecond})
	if !h.Excuses(30*time.Millisecond) || h.Excuses(60*time.Millisecond) {
		t.Errorf("host-only window with 50ms stolen: excuses 30ms %v, 60ms %v", h.Excuses(30*time.Millisecond), h.Excuses(60*time.Millisecond))
	}
	w := &LatenessLedger{}
	w.add(0, at(0), machineReading{})
	w.add(3, at(1), machineReading{stalls: stallsOf(at(1), 25*time.Millisecond)})
	if w.Own != 0 || w.Stalled != 3 || !w.Excuses(20*time.Millisecond) || w.Excuses(40*time.Millisecond) {
		t.Errorf("stall-only window: own %d stalled %d, excuses 20ms %v, 40ms %v", w.Own, w.Stalled, w.Excuses(20*time.Millisecond), w.Excuses(40*time.Millisecond))
	}
	// Without a steal reading or a witness every late frame is the gateway's.
	u := &LatenessLedger{}
	u.add(0, at(0), machineReading{})
	u.add(4, at(1), machineReading{stealErr: errors.New("no /proc"), stalls: stallsOf(at(1), time.Second), stallErr: errors.New("not root")})
	if u.Own != 4 || u.StealErr == nil || u.StallErr == nil || u.Excuses(time.Millisecond) {
		t.Errorf("unreadable steal and no witness: own %d errs %v, %v", u.Own, u.StealErr, u.StallErr)
	}
}

// stallsOf is one witness stall of late ending at, none for 0.
func stallsOf(at time.Time, late time.Duration) []stall {
	if late == 0 {
		return nil
	}
	return []stall{{at: at, late: late}}
}

// TestStallWitness holds one CPU with a real-time thread above the
// witnesses' priority for 30 ms, as a host stopping that virtual CPU
// would, and wants the witness pinned there to book a stall.
func TestStallWitness(t *testing.T) {
	w := machineWitness()
	if w.err != nil {
		if os.Geteuid() != 0 && os.Getenv("CI") == "" {
			t.Skipf("no witness without root: %v", w.err)
		}
		t.Fatal(w.err)
	}
	cpus, err := processCPUs()
	if err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	time.Sleep(20 * time.Millisecond) // the witnesses are running
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the real-time thread ends with the goroutine
		var set unix.CPUSet
		set.Set(cpus[0])
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			errc <- err
			return
		}
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: witnessPriority + 10}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			errc <- err
			return
		}
		for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	var longest time.Duration
	for range 50 { // the witness books its stall when it wakes: wait a bounded while
		time.Sleep(10 * time.Millisecond)
		stalls, _ := w.list(from)
		for _, s := range stalls {
			longest = max(longest, s.late)
		}
		if longest >= witnessStall {
			break
		}
	}
	if longest < witnessStall {
		t.Fatalf("a CPU held for 30 ms: the longest stall booked is %v, want ≥ %v", longest, witnessStall)
	}
	t.Logf("a CPU held for 30 ms: the witness booked a stall of %v", longest)
}
