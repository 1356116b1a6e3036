package si3050_test

import (
	"math"
	"testing"

	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3050/model"
)

// TestGainRegisters: whole dB and tenths, bit 4 for an attenuation.
func TestGainRegisters(t *testing.T) {
	for _, tc := range []struct {
		db            float64
		whole, tenths byte
		ok            bool
	}{
		{0, 0, 0, true}, {12, 12, 0, true}, {2.5, 2, 5, true}, {-3, 0x13, 0x10, true},
		{-15, 0x1F, 0x10, true}, {-0.7, 0x10, 0x17, true}, {6.04, 6, 0, true},
		{12.1, 0, 0, false}, {-15.5, 0, 0, false}, {math.NaN(), 0, 0, false},
	} {
		w, f, err := si3050.GainRegisters(tc.db)
		if (err == nil) != tc.ok || (tc.ok && (w != tc.whole || f != tc.tenths)) {
			t.Errorf("%v dB: %#x %#x %v, want %#x %#x ok %v", tc.db, w, f, err, tc.whole, tc.tenths, tc.ok)
		}
	}
}

// TestSetGains: the driver writes the four gain registers and the model
// scales the audio both ways by them; a gain out of range changes nothing.
func TestSetGains(t *testing.T) {
	for _, tc := range []struct {
		toLine, fromLine float64
	}{{0, 0}, {6, -6}, {-3.5, 2.5}, {12, -15}} {
		r := newRig(t, model.Opts{Hybrid: model.Hybrid{Off: true}}, si3050.Opts{}, false)
		if err := r.dev.SetGains(tc.toLine, tc.fromLine); err != nil {
			t.Fatal(err)
		}
		if err := r.dev.SetHook(true); err != nil {
			t.Fatal(err)
		}
		r.line.set(func(l *line) { l.tone = 1000 })
		for i := range r.tx[0] {
			r.tx[0][i] = 1000
		}
		r.run(2)
		want := func(db float64) int16 { return int16(1000 * math.Pow(10, db/20)) }
		if h, w := r.line.heard[5], want(tc.toLine); h < w-1 || h > w+1 {
			t.Errorf("%+v: the line heard %d, want %d", tc, h, w)
		}
		if c, w := r.rx[0][5], want(tc.fromLine); c < w-1 || c > w+1 {
			t.Errorf("%+v: the host captured %d, want %d", tc, c, w)
		}
	}
	r := newRig(t, model.Opts{}, si3050.Opts{}, false)
	if err := r.dev.SetGains(3, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.dev.SetGains(13, 0); err == nil {
		t.Error("13 dB accepted")
	}
	if err := r.dev.SetGains(0, -16); err == nil {
		t.Error("-16 dB accepted")
	}
	if v := r.chip.Reg(38); v != 3 {
		t.Errorf("reg38 %#x after refused gains, want 3", v)
	}
}
