package dsptool

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/dsp"
	"github.com/loopstart/loopstart/dsp/wav"
)

func runDSP(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := Main(args, &out, &errb)
	return out.String(), errb.String(), rc
}

func TestDSPCIDRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, std := range []string{"bell202", "v23", "dtmf"} {
		t.Run(std, func(t *testing.T) {
			f := filepath.Join(dir, std+".wav")
			args := []string{"cid-encode", "--standard", std, "--number", "5551234", "-o", f}
			if std != "dtmf" {
				args = append(args, "--name", "DOE JANE", "--time", "01021304")
			}
			if _, e, rc := runDSP(t, args...); rc != 0 {
				t.Fatalf("cid-encode rc %d: %s", rc, e)
			}
			out, e, rc := runDSP(t, "cid-decode", f)
			if rc != 0 {
				t.Fatalf("cid-decode rc %d: %s", rc, e)
			}
			if !strings.Contains(out, `number="5551234"`) || !strings.HasPrefix(out, std+":") {
				t.Errorf("cid-decode printed %q", out)
			}
			if std != "dtmf" && (!strings.Contains(out, `name="DOE JANE"`) || !strings.Contains(out, "time=01021304")) {
				t.Errorf("cid-decode printed %q", out)
			}
		})
	}
}

func TestDSPDTMFDetect(t *testing.T) {
	var g dsp.DTMFGen
	if err := g.Queue("19#", 60e6, 60e6, -10); err != nil {
		t.Fatal(err)
	}
	x := make([]int16, 8000)
	g.Fill(x)
	var buf bytes.Buffer
	if err := wav.Write(&buf, x, 8000); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "d.wav")
	if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, e, rc := runDSP(t, "dtmf-detect", f)
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, e)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], " 1") || !strings.HasSuffix(lines[2], " #") || !strings.Contains(lines[0], "0.0") {
		t.Errorf("dtmf-detect printed %q", out)
	}
}

func TestDSPTone(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		country, tone string
		want          string
	}{{"us", "dial", "[350 440]"}, {"de", "busy", "[425]"}, {"uk", "callwaiting", "[400]"}, {"us", "stutter", "[350 440]"}, {"cn", "congestion", "[450]"}} {
		f := filepath.Join(dir, tc.country+tc.tone+".wav")
		if _, e, rc := runDSP(t, "tone", "--country", tc.country, "--tone", tc.tone, "--seconds", "3", "-o", f); rc != 0 {
			t.Fatalf("%v rc %d: %s", tc, rc, e)
		}
		b, _ := os.ReadFile(f)
		x, rate, err := wav.Read(bytes.NewReader(b))
		if err != nil || rate != 8000 || len(x) != 24000 {
			t.Fatalf("%v: %d samples at %d: %v", tc, len(x), rate, err)
		}
		// Analyse the first 80 ms: every tone starts with an "on" segment.
		if got := dsp.DominantTones(x[:640], 2); fmtFloats(got) != tc.want {
			t.Errorf("%v: tones %v, want %s", tc, got, tc.want)
		}
	}
}

func fmtFloats(v []float64) string { return fmt.Sprint(v) }

func TestDSPErrors(t *testing.T) {
	for _, args := range [][]string{
		nil, {"nope"}, {"tone", "--country", "xx", "-o", "/dev/null"}, {"tone", "--tone", "nope", "-o", "/dev/null"},
		{"cid-encode", "--number", "1"}, {"dtmf-detect"}, {"dtmf-detect", "/nonexistent.wav"},
		{"cid-encode", "--standard", "x", "--number", "1", "-o", "/dev/null"},
	} {
		if _, _, rc := runDSP(t, args...); rc == 0 {
			t.Errorf("dsp %q succeeded", args)
		}
	}
}

func TestDSPG722RoundTrip(t *testing.T) {
	dir := t.TempDir()
	x := make([]int16, 16000)
	for i := range x {
		x[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/16000))
	}
	var buf bytes.Buffer
	if err := wav.Write(&buf, x, 16000); err != nil {
		t.Fatal(err)
	}
	in, enc, dec := filepath.Join(dir, "in.wav"), filepath.Join(dir, "x.g722"), filepath.Join(dir, "out.wav")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, e, rc := runDSP(t, "g722-encode", in, "-o", enc); rc != 0 {
		t.Fatalf("g722-encode rc %d: %s", rc, e)
	}
	codes, _ := os.ReadFile(enc)
	if len(codes) != 8000 {
		t.Fatalf("g722-encode wrote %d bytes, want 8000", len(codes))
	}
	if _, e, rc := runDSP(t, "g722-decode", enc, "-o", dec); rc != 0 {
		t.Fatalf("g722-decode rc %d: %s", rc, e)
	}
	b, _ := os.ReadFile(dec)
	y, rate, err := wav.Read(bytes.NewReader(b))
	if err != nil || rate != 16000 || len(y) != 16000 {
		t.Fatalf("decoded %d samples at %d Hz: %v", len(y), rate, err)
	}
	if lv := dsp.LevelDBFS(y[1000:]); math.Abs(lv-dsp.LevelDBFS(x[1000:])) > 0.5 {
		t.Errorf("decoded level %.1f dBFS, input %.1f", lv, dsp.LevelDBFS(x[1000:]))
	}
	// An 8 kHz WAV is refused.
	buf.Reset()
	_ = wav.Write(&buf, x, 8000)
	_ = os.WriteFile(in, buf.Bytes(), 0o644)
	if _, _, rc := runDSP(t, "g722-encode", in, "-o", enc); rc == 0 {
		t.Error("g722-encode accepted an 8 kHz WAV")
	}
	if _, _, rc := runDSP(t, "g722-decode", enc); rc == 0 {
		t.Error("g722-decode without -o succeeded")
	}
}

// TestMainUsage: the usage text goes to stderr; asking for it succeeds,
// a missing command is a usage error, a failing command exits 1.
func TestMainUsage(t *testing.T) {
	for _, c := range []struct {
		args   []string
		rc     int
		stderr string
	}{
		{nil, 2, dspUsage},
		{[]string{"help"}, 0, dspUsage},
		{[]string{"-h"}, 0, dspUsage},
		{[]string{"--help"}, 0, dspUsage},
		{[]string{"nope"}, 1, "loopstart dsp: unknown command \"nope\"\n"},
		{[]string{"dtmf-detect"}, 2, "loopstart dsp: usage: dtmf-detect FILE\n" + dspUsage},
		{[]string{"tone", "--bogus"}, 2, "loopstart dsp: usage: flag provided but not defined: -bogus\n" + dspUsage},
	} {
		out, e, rc := runDSP(t, c.args...)
		if rc != c.rc || e != c.stderr || out != "" {
			t.Errorf("dsp %q: rc %d stdout %q stderr %q, want rc %d stderr %q", c.args, rc, out, e, c.rc, c.stderr)
		}
	}
}
