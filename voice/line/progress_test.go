package line

import (
	"testing"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// TestToneDetector: a country's busy tone is recognised by its cadence
// within three runs, also under a steady sound as loud or louder (a far
// party's continuous tone, an uncancelled echo); its dial tone, ringback,
// silence and a steady tone alone are not busy.
func TestToneDetector(t *testing.T) {
	us, err := dsp.LookupProfile("us")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		play    *dsp.Tone
		under   []float64 // a steady tone under it
		underDB float64   // its level, dBFS
		want    bool
	}{
		{"busy", &us.Busy, nil, 0, true},
		{"dial", &us.Dial, nil, 0, false},
		{"ringback", &us.Ringback, nil, 0, false},
		{"silence", nil, nil, 0, false},
		{"busy under a louder 1 kHz tone", &us.Busy, []float64{1000}, -18, true},
		{"busy under a steady two-tone sound", &us.Busy, []float64{900, 1400}, -20, true},
		{"busy under a steady dial tone", &us.Busy, []float64{350, 440}, -22, true},
		{"a steady 1 kHz tone alone", nil, []float64{1000}, -18, false},
		{"a steady tone at the busy frequencies", nil, []float64{480, 620}, -22, false},
		{"ringback under a steady 1 kHz tone", &us.Ringback, []float64{1000}, -18, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g, under dsp.ToneGen
			g.Play(tc.play)
			if tc.under != nil {
				under.PlayFreqs(tc.under, tc.underDB)
			}
			var d toneDetector
			d.reset(&us.Busy)
			buf := make([]int16, 80)
			got := false
			for range int(4 * time.Second / (10 * time.Millisecond)) {
				clear(buf)
				g.Fill(buf)
				under.Add(buf)
				if d.process(buf) {
					got = true
					break
				}
			}
			if got != tc.want {
				t.Errorf("busy detected %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBusyRightAfterLouderSound: a louder steady sound that stops when the
// busy tone starts (the conversation before the office hangs up) does not
// delay the busy tone's recognition: it comes as soon as after silence,
// within its three runs and a block.
func TestBusyRightAfterLouderSound(t *testing.T) {
	us, err := dsp.LookupProfile("us")
	if err != nil {
		t.Fatal(err)
	}
	for _, before := range []struct {
		name  string
		freqs []float64
		dbfs  float64
	}{
		{"silence", nil, 0},
		{"a louder 1 kHz tone", []float64{1000}, -6},
		{"louder speech-band tones", []float64{300, 700, 1100}, -6},
	} {
		t.Run(before.name, func(t *testing.T) {
			var d toneDetector
			d.reset(&us.Busy)
			buf := make([]int16, 80)
			var g dsp.ToneGen
			if before.freqs != nil {
				g.PlayFreqs(before.freqs, before.dbfs)
			}
			for range 300 { // 3 s
				clear(buf)
				g.Fill(buf)
				if d.process(buf) {
					t.Fatal("busy detected in what came before it")
				}
			}
			g.Play(&us.Busy)
			for i := range 300 {
				clear(buf)
				g.Fill(buf)
				if d.process(buf) {
					at := time.Duration(i+1) * 10 * time.Millisecond
					if limit := 1600 * time.Millisecond; at > limit {
						t.Errorf("busy recognised %v after it began, want within %v", at, limit)
					}
					return
				}
			}
			t.Fatal("busy not recognised within 3 s")
		})
	}
}
