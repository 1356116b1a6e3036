package dsp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/dsp/internal/oracle"
)

// q24Cond is one condition of the ITU-T Q.24 receiver test matrix: the 16
// digits are sent once each with the given parameters, through G.711 µ-law.
type q24Cond struct {
	name string
	// required marks the conditions of the Q.24 list; the others are
	// informative (reported, not asserted).
	required bool
	// accept: all 16 digits must be reported once each, in order;
	// otherwise none may be reported.
	accept bool
	// lowDev, highDev are relative frequency offsets of the two groups.
	lowDev, highDev float64
	// lowDB, highDB are the tone levels in dBm0.
	lowDB, highDB float64
	// onMS is the tone duration; gapMS > 0 splits it with a break in the
	// middle of that length (which must be bridged); offMS is the pause
	// between digits.
	onMS, gapMS, offMS int
	// snrDB > 0 adds white noise that far below the power of the tone pair.
	snrDB float64
	// digits overrides the digit sequence (default all 16).
	digits string
}

func q24Matrix() []q24Cond {
	const lv = -10 // nominal level per tone
	base := q24Cond{required: true, accept: true, lowDB: lv, highDB: lv, onMS: 50, offMS: 60}
	var m []q24Cond
	add := func(c q24Cond) { m = append(m, c) }
	for _, d := range [][2]float64{{1.5, 1.5}, {-1.5, -1.5}, {1.5, -1.5}, {-1.5, 1.5}} {
		c := base
		c.name = fmt.Sprintf("freq low %+.1f%% high %+.1f%%", d[0], d[1])
		c.lowDev, c.highDev = d[0]/100, d[1]/100
		add(c)
	}
	for _, d := range [][2]float64{{3.5, 0}, {-3.5, 0}, {0, 3.5}, {0, -3.5}} {
		c := base
		c.name = fmt.Sprintf("freq low %+.1f%% high %+.1f%%", d[0], d[1])
		c.lowDev, c.highDev, c.accept = d[0]/100, d[1]/100, false
		add(c)
	}
	for _, tw := range []struct {
		low, high   float64
		accept, req bool
	}{
		{-6, -14, true, true},   // 8 dB normal twist (low group stronger)
		{-14, -6, false, false}, // 8 dB reverse twist: informative
		{-10, -6, true, true},   // 4 dB reverse twist
		{-6, -10, true, true},   // 4 dB normal twist
		{-4, -16, false, false}, // 12 dB normal twist: informative
		{-16, -4, false, false}, // 12 dB reverse twist: informative
	} {
		c := base
		kind := "normal"
		if tw.high > tw.low {
			kind = "reverse"
		}
		c.name = fmt.Sprintf("twist %g dB %s", math.Abs(tw.low-tw.high), kind)
		c.lowDB, c.highDB, c.accept, c.required = tw.low, tw.high, tw.accept, tw.req
		if !tw.req {
			c.name += " (info)"
		}
		add(c)
	}
	for _, d := range []struct {
		on     int
		accept bool
	}{{40, true}, {45, true}, {23, false}, {20, false}} {
		c := base
		c.name = fmt.Sprintf("duration %d ms", d.on)
		c.onMS, c.accept = d.on, d.accept
		add(c)
	}
	{
		c := base
		c.name = "break 10 ms inside 90 ms tone bridged"
		c.onMS, c.gapMS = 90, 10
		add(c)
		c.name = "pause 40 ms between repeats"
		c.onMS, c.gapMS, c.offMS, c.digits = 45, 0, 40, "5555555555"
		add(c)
	}
	for _, l := range []struct {
		db, snr float64
		accept  bool
		info    bool
	}{
		{-25, 0, true, false},
		{-25, 15, true, false},
		{-3, 0, true, false},
		{-20, 15, true, false},
		{-25, 12, true, true},
		{-45, 0, false, true},
	} {
		c := base
		c.name = fmt.Sprintf("level %g dBm0 per tone", l.db)
		if l.snr > 0 {
			c.name += fmt.Sprintf(" SNR %g dB", l.snr)
		}
		if l.info {
			c.name += " (info)"
		}
		c.lowDB, c.highDB, c.snrDB, c.accept, c.required = l.db, l.db, l.snr, l.accept, !l.info
		add(c)
	}
	return m
}

// q24Signal renders a condition: 100 ms silence, the digits, 200 ms
// silence, optional noise, through a µ-law round trip. Tone phases start at
// seeded random values.
func q24Signal(c q24Cond, seed uint64) ([]int16, string) {
	digits := c.digits
	if digits == "" {
		digits = allDigits
	}
	r := rand.New(rand.NewPCG(seed, 7))
	var x []float64
	x = append(x, make([]float64, 800)...)
	aLow, aHigh := DBm0ToAmplitude(c.lowDB), DBm0ToAmplitude(c.highDB)
	for i := range len(digits) {
		lo, hi, _ := DTMFFreqs(digits[i])
		lo *= 1 + c.lowDev
		hi *= 1 + c.highDev
		p1, p2 := r.Float64()*2*math.Pi, r.Float64()*2*math.Pi
		on := c.onMS * SampleRate / 1000
		gapStart, gapEnd := -1, -1
		if c.gapMS > 0 {
			gapStart = (on - c.gapMS*SampleRate/1000) / 2
			gapEnd = gapStart + c.gapMS*SampleRate/1000
		}
		for k := range on {
			v := 0.0
			if k < gapStart || k >= gapEnd {
				t := float64(k) / SampleRate
				v = aLow*math.Sin(2*math.Pi*lo*t+p1) + aHigh*math.Sin(2*math.Pi*hi*t+p2)
			}
			x = append(x, v)
		}
		x = append(x, make([]float64, c.offMS*SampleRate/1000)...)
	}
	x = append(x, make([]float64, 1600)...)
	if c.snrDB > 0 {
		// Power of the pair (A²/2 each), then noise snrDB below it.
		p := (aLow*aLow + aHigh*aHigh) / 2
		rms := math.Sqrt(p / math.Pow(10, c.snrDB/10))
		for i := range x {
			x[i] += r.NormFloat64() * rms
		}
	}
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = saturate(v)
	}
	want := ""
	if c.accept {
		want = digits
	}
	return mulawTrip(out), want
}

// TestDTMFQ24Matrix runs the Q.24 matrix through our detector and through
// spandsp's dtmf_rx. Ours must pass every required condition; spandsp's
// result is reported beside it. Each condition runs with several tone phase
// seeds. Run with -v for the table.
func TestDTMFQ24Matrix(t *testing.T) {
	o := oracle.New(t)
	const seeds = 5
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-44s %-8s %-6s %-6s\n", "condition", "expect", "ours", "spandsp")
	oursFail, spFail := 0, 0
	for _, c := range q24Matrix() {
		oursOK, spOK := true, true
		for s := range uint64(seeds) {
			x, want := q24Signal(c, s+1)
			got := detect(x)
			if got != want {
				oursOK = false
				if c.required {
					t.Errorf("%s (seed %d): detected %q, want %q", c.name, s+1, got, want)
				}
			}
			ds, err := o.DTMF(x)
			if err != nil {
				t.Fatal(err)
			}
			if oracle.Digits(ds) != want {
				spOK = false
			}
		}
		expect := "reject"
		if c.accept {
			expect = "accept"
		}
		if !oursOK {
			oursFail++
		}
		if !spOK {
			spFail++
		}
		fmt.Fprintf(&table, "%-44s %-8s %-6s %-6s\n", c.name, expect, passFail(oursOK), passFail(spOK))
	}
	fmt.Fprintf(&table, "conditions failed: ours %d, spandsp %d (of %d)", oursFail, spFail, len(q24Matrix()))
	t.Log(table.String())
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}
