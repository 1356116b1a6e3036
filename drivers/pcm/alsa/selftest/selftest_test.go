package selftest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// loopRx returns what a loopback would capture from tx: delayed by lag
// samples (silence first; a negative lag loses the start), then edit.
func loopRx(tx [][]int16, lag int, edit func(rx [][]int16)) [][]int16 {
	rx := make([][]int16, len(tx))
	for s := range tx {
		rx[s] = make([]int16, len(tx[s]))
		for i := range rx[s] {
			if j := i - lag; j >= 0 && j < len(tx[s]) {
				rx[s][i] = tx[s][j]
			}
		}
	}
	if edit != nil {
		edit(rx)
	}
	return rx
}

// The analysis tests' run: 4 slots, 200 frames, the first 50 the warm-up.
const (
	testSamples = 200 * pcm.FrameSamples
	testWarm    = 50 * pcm.FrameSamples
)

// testSignals returns the four slots' test signals over testSamples.
func testSignals() [][]int16 {
	tx := make([][]int16, 4)
	for s := range tx {
		tx[s] = selftestSignal(s, testSamples, -10)
	}
	return tx
}

func TestAnalyzeSelftest(t *testing.T) {
	tx := testSignals()
	const n, warm = testSamples, testWarm
	for _, c := range []struct {
		name     string
		lag      int
		edit     func(rx [][]int16)
		pass     bool
		found    bool
		mismatch int
		slips    int
		want     string
	}{
		{name: "clean", lag: 240, pass: true, found: true},
		{name: "start lost", lag: -100, pass: true, found: true},
		{name: "no delay", lag: 0, pass: true, found: true},
		{name: "dropped frame", lag: 160, found: true, slips: 1, want: "slipped 1 times (0 samples) from sample 12000 with 0 xruns", edit: func(rx [][]int16) {
			for s := range rx { // one frame is lost late in the run
				for i := 12000; i < n; i++ {
					rx[s][i] = tx[s][i-80]
				}
			}
		}},
		{name: "underrun without an xrun", lag: 160, found: true, slips: 1, want: "slipped 1 times (240 samples)", edit: func(rx [][]int16) {
			underrun(rx, 9000, 240)
		}},
		{name: "glitch during warm-up is ignored", lag: 160, pass: true, found: true, edit: func(rx [][]int16) {
			rx[1][1000] ^= 1
		}},
		{name: "one bad sample", lag: 160, found: true, mismatch: 1, want: "1 samples differ from sample 9000", edit: func(rx [][]int16) {
			rx[3][9000] ^= 1
		}},
		{name: "a burst in two slots", lag: 160, found: true, mismatch: 5, want: "5 samples differ from sample 9000", edit: func(rx [][]int16) {
			rx[0][9000] ^= 4
			rx[0][9001] ^= 4
			rx[2][9001] ^= 4
			rx[2][9002] ^= 4
			rx[2][9003] ^= 4
		}},
		{name: "slots swapped", lag: 160, want: "slot 1 tone", edit: func(rx [][]int16) {
			rx[1], rx[2] = rx[2], rx[1]
		}},
		{name: "silence", lag: 160, want: "never came back", edit: func(rx [][]int16) {
			for s := range rx {
				clear(rx[s])
			}
		}},
		{name: "too late", lag: 1200, want: "never came back"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := analyzeSelftest(tx, loopRx(tx, c.lag, c.edit), warm, -10)
			line := r.String()
			if r.Pass() != c.pass || r.Found != c.found {
				t.Fatalf("pass=%v found=%v, want %v %v: %s", r.Pass(), r.Found, c.pass, c.found, line)
			}
			if c.found && r.Lag != c.lag {
				t.Errorf("lag %d, want %d", r.Lag, c.lag)
			}
			if c.mismatch > 0 && r.Mismatch != c.mismatch {
				t.Errorf("mismatch %d, want %d", r.Mismatch, c.mismatch)
			}
			if r.Slips != c.slips {
				t.Errorf("slips %d, want %d", r.Slips, c.slips)
			}
			if !strings.Contains(line, c.want) {
				t.Errorf("%q lacks %q", line, c.want)
			}
			if c.pass && !strings.HasPrefix(line, "pcm-selftest: PASS ") {
				t.Errorf("line %q", line)
			}
		})
	}
	// Xruns after the warm-up with the loop on time and a slow clock
	// fail the run.
	r := analyzeSelftest(tx, loopRx(tx, 80, nil), warm, -10)
	r.Frames, r.Elapsed, r.MaxLate = 150, 1500*time.Millisecond, 3*time.Millisecond
	if !r.Pass() {
		t.Fatalf("baseline: %s", r)
	}
	r.PlayXruns = 1
	if r.Pass() || !strings.Contains(r.String(), "xruns capture 0 playback 1 with the loop on time (max late 3ms)") {
		t.Errorf("xrun passed: %s", r)
	}
	r.PlayXruns, r.Elapsed = 0, 1800*time.Millisecond
	if r.Pass() || !strings.Contains(r.String(), "frame rate 0.833") {
		t.Errorf("slow clock passed: %s", r)
	}
}

// underrun makes rx what a playback underrun at sample at leaves in the
// capture: the loopback stops (silence) for gap samples and the playback
// resumes where it stopped, gap samples later.
func underrun(rx [][]int16, at, gap int) {
	for s := range rx {
		copy(rx[s][at+gap:], rx[s][at:])
		clear(rx[s][at : at+gap])
	}
}

// TestSelftestXrunRecovery: an xrun after the loop ran a frame late passes
// when it cost one slip, bit-exact on either side, and fails when it cost
// more.
func TestSelftestXrunRecovery(t *testing.T) {
	tx := testSignals()
	const n, warm = testSamples, testWarm
	for _, c := range []struct {
		name    string
		edit    func(rx [][]int16)
		xruns   int
		late    time.Duration
		pass    bool
		slips   int
		skipped int
		want    string
	}{
		{name: "late loop, one underrun recovered", xruns: 1, late: 16 * time.Millisecond, pass: true, slips: 1, skipped: 400,
			edit: func(rx [][]int16) { underrun(rx, 6623+warm, 400) }, want: "slips=1 skipped=400 "},
		{name: "late loop, an xrun that slipped nothing", xruns: 1, late: 12 * time.Millisecond, pass: true},
		{name: "on-time loop, one underrun", xruns: 1, late: 2 * time.Millisecond, slips: 1, skipped: 400,
			edit: func(rx [][]int16) { underrun(rx, 9000, 400) }, want: "with the loop on time"},
		{name: "late loop, two slips for one xrun", xruns: 1, late: 16 * time.Millisecond, slips: 2, skipped: 560,
			edit: func(rx [][]int16) { underrun(rx, 9000, 400); underrun(rx, 12000, 160) }, want: "slipped 2 times (560 samples) from sample 9000 with 1 xruns"},
		{name: "late loop, corrupt after the slip", xruns: 1, late: 16 * time.Millisecond, slips: 1, skipped: 400,
			edit: func(rx [][]int16) { underrun(rx, 9000, 400); rx[1][11000] ^= 2 }, want: "1 samples differ from sample 9000"},
		{name: "late loop, never back in step", xruns: 1, late: 16 * time.Millisecond,
			edit: func(rx [][]int16) {
				for s := range rx {
					clear(rx[s][9000:])
				}
			}, want: "samples differ from sample 9000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rx := loopRx(tx, 160, c.edit)
			r := analyzeSelftest(tx, rx, warm, -10)
			r.PlayXruns, r.MaxLate = c.xruns, c.late
			line := r.String()
			if r.Pass() != c.pass || r.Slips != c.slips || r.Skipped != c.skipped || r.Lag != 160 {
				t.Fatalf("pass=%v slips=%d skipped=%d lag=%d, want %v %d %d 160: %s", r.Pass(), r.Slips, r.Skipped, r.Lag, c.pass, c.slips, c.skipped, line)
			}
			if !strings.Contains(line, c.want) {
				t.Errorf("%q lacks %q", line, c.want)
			}
		})
	}
}

func TestLoopbackCard(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, cards string
		card        int
		ok          bool
	}{
		{"second card", " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n                      HDA Intel PCH at 0xf7f10000 irq 32\n" +
			" 1 [Loopback       ]: Loopback - Loopback\n                      Loopback 1\n", 1, true},
		{"none", " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n", 0, false},
		{"empty", "--- no soundcards ---\n", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, []byte(c.cards), 0o644); err != nil {
				t.Fatal(err)
			}
			n, err := loopbackCard(p)
			if (err == nil) != c.ok || n != c.card {
				t.Errorf("got %d %v, want %d ok=%v", n, err, c.card, c.ok)
			}
		})
	}
}

func TestMainErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"-slots", "9"}, &out, &errb); code != 2 {
		t.Errorf("-slots 9: exit %d", code)
	}
	out.Reset()
	// A card that does not exist fails with the reason, not a panic.
	if code := Main([]string{"-card", "97", "-duration", "500ms"}, &out, &errb); code != 1 || !strings.Contains(out.String(), "FAIL card=97") {
		t.Errorf("missing card: exit %d %q", code, out.String())
	}
}
