package gateway_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// TestPhoneToPhoneTonesBothWays: two ports of the sim board in a call with
// each other, each line's echo canceller on, each phone sending a pure
// tone — one way, the other way, then both at once. Each phone keeps
// hearing the other's tone at the level it heard in single talk: the
// cancellers, each with the other's residual of its own phone's tone as
// its reference, neither cancel their own phone (the listener would hear
// the level drop or nothing) nor make the call sing (it would rise).
func TestPhoneToPhoneTonesBothWays(t *testing.T) {
	r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}},
		[]gateway.PortConfig{
			{N: 1, Account: "1", DigitMap: "(1xx)", Extension: "101"},
			{N: 2, Account: "2", DigitMap: "(1xx)", Extension: "102"}})
	p1, p2 := r.phone(1), r.phone(2)
	r.phone1CallsPhone2()

	const hz1, hz2 = 1000.0, 700.0
	must(t, p1.Say([]float64{hz1}, -20))
	alone2 := r.heardLevel("phone 2 hears phone 1", hz1, func() simapi.Hearing { return p2.State().Hearing })
	must(t, p1.Say(nil, 0))
	must(t, p2.Say([]float64{hz2}, -20))
	alone1 := r.heardLevel("phone 1 hears phone 2", hz2, func() simapi.Hearing { return p1.State().Hearing })

	// Both at once, for three seconds after the first second.
	must(t, p1.Say([]float64{hz1}, -20))
	r.realtime.Store(true)
	defer r.realtime.Store(false)
	time.Sleep(time.Second)
	near := func(tones []float64, hz float64) bool {
		return slices.ContainsFunc(tones, func(f float64) bool { return math.Abs(f-hz) < 15 })
	}
	// A level may dip a little while both talk (the cancellers' double
	// talk handling ducks by up to about 3.6 dB here, 1 reading in 8
	// runs) but never rise: 4.5 dB down, 3 dB up.
	off := func(level, alone float64) bool { return level < alone-4.5 || level > alone+3 }
	var bad []string
	for i := range 30 {
		h1, h2 := p1.State().Hearing, p2.State().Hearing
		if !near(h2.TonesHz, hz1) || off(h2.LevelDBFS, alone2) {
			bad = append(bad, fmt.Sprintf("%d ms: phone 2 hears %v at %.1f dBFS", i*100, h2.TonesHz, h2.LevelDBFS))
		}
		if !near(h1.TonesHz, hz2) || off(h1.LevelDBFS, alone1) {
			bad = append(bad, fmt.Sprintf("%d ms: phone 1 hears %v at %.1f dBFS", i*100, h1.TonesHz, h1.LevelDBFS))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(bad) > 0 {
		t.Errorf("both talking (alone: phone 1 heard %.1f dBFS, phone 2 %.1f): %d of 60 readings more than 4.5 dB down, 3 dB up or without the far tone:\n%v",
			alone1, alone2, len(bad), bad)
	}
}
