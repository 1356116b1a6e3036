package lab

import (
	"errors"
	"testing"
	"time"
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
// the host stole from.
func TestLatenessLedger(t *testing.T) {
	l := &LatenessLedger{}
	for _, s := range []struct {
		bad   uint64
		steal time.Duration
	}{
		{10, 100 * time.Millisecond}, // the baseline: nothing booked
		{10, 100 * time.Millisecond}, // quiet
		{12, 100 * time.Millisecond}, // 2 late, no steal: ours
		{12, 130 * time.Millisecond}, // steal, no late frame
		{15, 170 * time.Millisecond}, // 3 late while the host stole 40 ms
		{16, 170 * time.Millisecond}, // 1 late, no steal: ours
	} {
		l.add(s.bad, s.steal, nil)
	}
	if l.Own != 3 || l.Host != 3 || l.Stolen != 40*time.Millisecond || l.Total != 70*time.Millisecond {
		t.Errorf("own %d host %d stolen %v total %v, want 3, 3, 40ms, 70ms", l.Own, l.Host, l.Stolen, l.Total)
	}
	if l.Excuses(10 * time.Millisecond) {
		t.Error("a loss excused although the loop was late on its own")
	}
	h := &LatenessLedger{}
	h.add(0, 0, nil)
	h.add(2, 50*time.Millisecond, nil)
	if !h.Excuses(30*time.Millisecond) || h.Excuses(60*time.Millisecond) {
		t.Errorf("host-only window with 50ms stolen: excuses 30ms %v, 60ms %v", h.Excuses(30*time.Millisecond), h.Excuses(60*time.Millisecond))
	}
	// Without a steal reading every late frame is the gateway's.
	u := &LatenessLedger{}
	u.add(0, 0, nil)
	u.add(4, 0, errors.New("no /proc"))
	if u.Own != 4 || u.StealErr == nil {
		t.Errorf("unreadable steal: own %d err %v", u.Own, u.StealErr)
	}
}
