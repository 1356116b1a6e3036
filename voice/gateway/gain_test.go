package gateway_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	simboard "github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/board/simapi"
	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// heardLevel waits until what hearing reports holds hz, then for the
// hearing window (500 ms) to hold nothing else, and returns the median
// level of readings over the next half second.
func (r *rig) heardLevel(what string, hz float64, hearing func() simapi.Hearing) float64 {
	r.t.Helper()
	// RTP runs in real time: so must the frames, for steady levels.
	r.realtime.Store(true)
	defer r.realtime.Store(false)
	near := func(tones []float64) bool {
		return slices.ContainsFunc(tones, func(f float64) bool { return math.Abs(f-hz) < 15 })
	}
	r.eventually(what, func() error {
		if h := hearing(); !near(h.TonesHz) {
			return fmt.Errorf("hearing %v", h.TonesHz)
		}
		return nil
	})
	time.Sleep(700 * time.Millisecond)
	var levels []float64
	for range 11 {
		h := hearing()
		if !near(h.TonesHz) {
			r.t.Fatalf("%s: hearing %v", what, h.TonesHz)
		}
		levels = append(levels, h.LevelDBFS)
		time.Sleep(50 * time.Millisecond)
	}
	slices.Sort(levels)
	return levels[len(levels)/2]
}

// TestPortGains: a port's TX gain changes what the far end hears of its
// line and its RX gain what its line hears of the far end, on an FXS to
// FXS call and on the FXO trunk, against the same calls without gains.
func TestPortGains(t *testing.T) {
	type levels struct{ fxs2, fxs1, co, phone float64 }
	measure := func(t *testing.T, g1, g2, g3 [2]float64) levels {
		r := newRigWith(t, []sip.Account{{ID: "1", User: "101"}, {ID: "2", User: "102"}, {ID: "3", User: "103"}},
			[]gateway.PortConfig{
				{N: 1, Account: "1", DigitMap: "(1xx)", Extension: "101", TXGain: g1[0], RXGain: g1[1]},
				{N: 2, Account: "2", DigitMap: "(1xx)", Extension: "102", TXGain: g2[0], RXGain: g2[1]},
				{N: simboard.FXOPort, Account: "3", Extension: "103", TXGain: g3[0], RXGain: g3[1], FXO: gateway.FXOConfig{PSTNTo: "101"}}})
		var l levels
		// Phone 1 calls phone 2.
		p1, p2 := r.phone(1), r.phone(2)
		r.phone1CallsPhone2()
		// One way at a time: the level is the window's, whatever it holds.
		must(t, p1.Say([]float64{1000}, -20))
		l.fxs2 = r.heardLevel("phone 2 hears phone 1", 1000, func() simapi.Hearing { return p2.State().Hearing })
		must(t, p1.Say(nil, 0))
		must(t, p2.Say([]float64{700}, -20))
		l.fxs1 = r.heardLevel("phone 1 hears phone 2", 700, func() simapi.Hearing { return p1.State().Hearing })
		must(t, p2.Say(nil, 0))
		must(t, p1.SetHook("on"))
		must(t, p2.SetHook("on"))
		r.waitState(1, "idle")
		r.waitState(2, "idle")
		// The office calls phone 1 through the trunk.
		co, err := r.board.Line(simboard.FXOPort)
		if err != nil {
			t.Fatal(err)
		}
		must(t, co.PSTN("ring", nil))
		r.waitState(1, "ringing")
		must(t, p1.SetHook("off"))
		r.lineState(co, "connected")
		must(t, co.Say([]float64{1300}, -20))
		l.phone = r.heardLevel("phone 1 hears the office", 1300, func() simapi.Hearing { return p1.State().Hearing })
		must(t, co.Say(nil, 0))
		must(t, p1.Say([]float64{500}, -20))
		l.co = r.heardLevel("the office hears phone 1", 500, func() simapi.Hearing { return co.State().Hearing })
		return l
	}
	base := measure(t, [2]float64{}, [2]float64{}, [2]float64{})
	t.Logf("without gains: %+v", base)
	for _, tc := range []struct {
		name       string
		g1, g2, g3 [2]float64 // tx, rx of ports 1, 2, 3
		want       levels     // change against base, dB
	}{
		{"fxs tx +6, rx -3", [2]float64{6, 0}, [2]float64{0, -3}, [2]float64{}, levels{fxs2: 3, co: 6}},
		{"fxo tx -6, rx +4", [2]float64{}, [2]float64{}, [2]float64{-6, 4}, levels{phone: -6, co: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := measure(t, tc.g1, tc.g2, tc.g3)
			got := levels{l.fxs2 - base.fxs2, l.fxs1 - base.fxs1, l.co - base.co, l.phone - base.phone}
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"phone 2 hears phone 1", got.fxs2, tc.want.fxs2}, {"phone 1 hears phone 2", got.fxs1, tc.want.fxs1},
				{"the office hears phone 1", got.co, tc.want.co}, {"phone 1 hears the office", got.phone, tc.want.phone}} {
				if math.Abs(c.got-c.want) > 1.5 {
					t.Errorf("%s: %+.1f dB, want %+.1f", c.name, c.got, c.want)
				}
			}
		})
	}
}

// TestPortGainRange: a gain out of range stops the gateway with an error
// naming the port.
func TestPortGainRange(t *testing.T) {
	b, err := simboard.New(simboard.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, pc := range []gateway.PortConfig{{N: 1, Account: "1", TXGain: 12.5}, {N: 1, Account: "1", RXGain: -13}, {N: 3, Account: "1", TXGain: 20}} {
		_, err := gateway.New(gateway.Config{Board: &b.Board, SIP: sip.Config{Listen: freeUDP(t), Accounts: []sip.Account{{ID: "1", User: "101"}}},
			Ports: []gateway.PortConfig{pc}})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d", pc.N)) || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%+v: %v", pc, err)
		}
	}
}
