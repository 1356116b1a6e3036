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

func TestAnalyzeSelftest(t *testing.T) {
	const slots, n, warm = 4, 200 * pcm.FrameSamples, 50 * pcm.FrameSamples
	tx := make([][]int16, slots)
	for s := range tx {
		tx[s] = selftestSignal(s, n, -10)
	}
	for _, c := range []struct {
		name     string
		lag      int
		edit     func(rx [][]int16)
		pass     bool
		found    bool
		mismatch int
		want     string
	}{
		{name: "clean", lag: 240, pass: true, found: true},
		{name: "start lost", lag: -100, pass: true, found: true},
		{name: "no delay", lag: 0, pass: true, found: true},
		{name: "dropped frame", lag: 160, found: true, want: "gaps", edit: func(rx [][]int16) {
			for s := range rx { // one frame slips late in the run
				copy(rx[s][12000:], rx[s][12080:])
			}
		}},
		{name: "glitch during warm-up is ignored", lag: 160, pass: true, found: true, edit: func(rx [][]int16) {
			rx[1][1000] ^= 1
		}},
		{name: "one bad sample", lag: 160, found: true, mismatch: 1, want: "1 samples differ in 0 gaps", edit: func(rx [][]int16) {
			rx[3][9000] ^= 1
		}},
		{name: "slots swapped", lag: 160, found: true, want: "slot 1 tone", edit: func(rx [][]int16) {
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
			if !strings.Contains(line, c.want) {
				t.Errorf("%q lacks %q", line, c.want)
			}
			if c.pass && !strings.HasPrefix(line, "pcm-selftest: PASS ") {
				t.Errorf("line %q", line)
			}
		})
	}
	// Xruns after the warm-up and a slow clock fail the run.
	r := analyzeSelftest(tx, loopRx(tx, 80, nil), warm, -10)
	r.Frames, r.Elapsed = 150, 1500*time.Millisecond
	if !r.Pass() {
		t.Fatalf("baseline: %s", r)
	}
	r.PlayXruns = 1
	if r.Pass() || !strings.Contains(r.String(), "xruns capture 0 playback 1") {
		t.Errorf("xrun passed: %s", r)
	}
	r.PlayXruns, r.Elapsed = 0, 1800*time.Millisecond
	if r.Pass() || !strings.Contains(r.String(), "frame rate 0.833") {
		t.Errorf("slow clock passed: %s", r)
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
