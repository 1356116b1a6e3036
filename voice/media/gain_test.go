package media

import (
	"math"
	"testing"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// TestGain: the Q12 gain scales by the dB figure, rounds, saturates and
// clamps its range; 0 dB leaves samples untouched.
func TestGain(t *testing.T) {
	tests := []struct {
		db   float64
		in   []int16
		want []int16
	}{
		{0, []int16{0, 1, -1, 32767, -32768}, []int16{0, 1, -1, 32767, -32768}},
		{6.0206, []int16{1000, -1000, 20000, -20000}, []int16{2000, -2000, 32767, -32768}},
		{-6.0206, []int16{1000, -1000, 3}, []int16{500, -500, 2}},
		{-12, []int16{10000}, []int16{2512}},
		{12, []int16{1000}, []int16{3981}},
		{40, []int16{1000}, []int16{3981}},         // clamped to +12
		{-40, []int16{10000}, []int16{2512}},       // clamped to -12
		{math.NaN(), []int16{1234}, []int16{1234}}, // NaN is 0 dB
	}
	for _, tc := range tests {
		x := append([]int16(nil), tc.in...)
		newGain(tc.db).apply(x)
		for i := range x {
			if d := int(x[i]) - int(tc.want[i]); d < -1 || d > 1 {
				t.Errorf("%v dB: %d -> %d, want %d", tc.db, tc.in[i], x[i], tc.want[i])
			}
		}
	}
}

func TestCheckGain(t *testing.T) {
	for _, tc := range []struct {
		db float64
		ok bool
	}{{0, true}, {-12, true}, {12, true}, {12.5, false}, {-12.1, false}, {math.NaN(), false}} {
		if err := CheckGain(tc.db); (err == nil) != tc.ok {
			t.Errorf("CheckGain(%v) = %v", tc.db, err)
		}
	}
}

func TestGainNoAllocs(t *testing.T) {
	g, x := newGain(3), make([]int16, 160)
	if a := testing.AllocsPerRun(100, func() { g.apply(x) }); a != 0 {
		t.Fatalf("%.1f allocations", a)
	}
}

// TestStreamGains: a's TX gain and b's RX gain both act on the tone a
// sends to b (PCMU, in real time); b's tone to a passes both streams'
// other gains.
func TestStreamGains(t *testing.T) {
	tests := []struct {
		name               string
		aTX, aRX, bTX, bRX float64
	}{
		{"none", 0, 0, 0, 0},
		{"a tx +6", 6, 0, 0, 0},
		{"b rx -9", 0, 0, 0, -9},
		{"both ways", 3, -6, -4.5, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := bindPair(t, StreamOpts{})
			off := EchoOpts{Off: true}
			a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU, Echo: off, TXGainDB: tc.aTX, RXGainDB: tc.aRX})
			b.Start(Session{Remote: a.LocalAddr(), Codec: PCMU, Echo: off, TXGainDB: tc.bTX, RXGainDB: tc.bRX})
			capA, heardA, heardB := talkBothWays(a, b, 80, 4000)
			sent := dsp.LevelDBFS(capA)
			for _, c := range []struct {
				name  string
				heard []int16
				want  float64
			}{{"b", heardB, sent + tc.aTX + tc.bRX}, {"a", heardA, sent + tc.bTX + tc.aRX}} {
				if got := dsp.LevelDBFS(c.heard[len(c.heard)-3200:]); math.Abs(got-c.want) > 0.5 {
					t.Errorf("%s heard %.2f dBFS, want %.2f ± 0.5", c.name, got, c.want)
				}
			}
		})
	}
}

func BenchmarkGainFrame(b *testing.B) {
	g, x := newGain(-3.5), make([]int16, pcm.FrameSamples)
	for i := range x {
		x[i] = int16(i * 300)
	}
	for b.Loop() {
		g.apply(x)
	}
}
