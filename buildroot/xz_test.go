package buildroot

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestXZArgsSmallDictionary compresses a cpio-sized sample with each
// target's XZArgs and has xz(1) list the stream: the dictionary the
// kernel's decoder must allocate is XZDict, not the preset's 64 MiB, and
// the branch filter is the target's.
func TestXZArgsSmallDictionary(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	// Text-like bytes on xz's standard input: with the size unknown, xz
	// keeps the dictionary it was given (it shrinks it only to a file's
	// known size).
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"loopstart ", "gateway ", "\x00\x00\x00\x00", "\xe8\x10\x20\x00\x00", "sip ", "rtp "}
	var sample bytes.Buffer
	for sample.Len() < 256<<10 {
		sample.WriteString(words[r.IntN(len(words))])
		sample.WriteByte(byte(r.IntN(256)))
	}
	for _, c := range []struct {
		target, filter string
	}{
		{"qemu-amd64", "--x86"},
		{"qemu-arm64", ""},
		{"nanopi-neo", "--arm"},
	} {
		t.Run(c.target, func(t *testing.T) {
			tg, err := Lookup(c.target)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "sample.xz")
			cmd := exec.Command("xz", append(XZArgs(tg), "-T1", "-c")...)
			cmd.Stdin = bytes.NewReader(sample.Bytes())
			b, err := cmd.Output()
			if err != nil {
				t.Fatalf("xz %v: %v", XZArgs(tg), err)
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				t.Fatal(err)
			}
			list, err := exec.Command("xz", "-lvv", out).CombinedOutput()
			if err != nil {
				t.Fatalf("xz -lvv: %v\n%s", err, list)
			}
			l := string(list)
			if !strings.Contains(l, "--lzma2=dict="+XZDict) {
				t.Errorf("xz %v: the stream's dictionary is not %s:\n%s", XZArgs(tg), XZDict, l)
			}
			if c.filter != "" && !strings.Contains(l, c.filter+" --lzma2") {
				t.Errorf("xz %v: no %s filter in the stream:\n%s", XZArgs(tg), c.filter, l)
			}
			if !strings.Contains(l, "CRC32") {
				t.Errorf("xz %v: not a CRC32 check:\n%s", XZArgs(tg), l)
			}
		})
	}
}
