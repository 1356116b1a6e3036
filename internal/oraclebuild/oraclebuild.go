// Package oraclebuild compiles the project's C test oracles: small
// programs linked against spandsp (Debian libspandsp-dev), the reference
// telephony DSP library, that tests cross-check the Go DSP against. Only
// tests use it; the firmware never links C.
//
// A program is compiled once per source version with
// `gcc -O2 NAME.c -lspandsp -lm` into a content-addressed directory under
// os.TempDir and reused by later test runs.
package oraclebuild

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Require returns the path of the compiled program name built from
// source. When gcc or spandsp is missing it skips tb loudly, or fails it
// when the environment variable LOOPSTART_REQUIRE_PEERS is "1" (as
// `make test` sets).
func Require(tb testing.TB, name string, source []byte) string {
	tb.Helper()
	bin, err := Build(name, source)
	if err != nil {
		msg := fmt.Sprintf("PEER MISSING: spandsp test oracle %s unavailable (install gcc and libspandsp-dev, or run tools/lab/install-peers.sh): %v", name, err)
		if os.Getenv("LOOPSTART_REQUIRE_PEERS") == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return bin
}

// Build compiles source as the program name, unless a build of the same
// source exists, and returns its path.
func Build(name string, source []byte) (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf("gcc: %w", err)
	}
	sum := sha256.Sum256(source)
	dir := filepath.Join(os.TempDir(), "loopstart-spandsp-"+name+"-"+hex.EncodeToString(sum[:8]))
	bin := filepath.Join(dir, name)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("oracle dir: %w", err)
	}
	// Build beside the final place and rename: concurrent test binaries
	// building the same source never see a half-written program.
	tmp, err := os.MkdirTemp(dir, "build")
	if err != nil {
		return "", fmt.Errorf("oracle build dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, name+".c")
	if err := os.WriteFile(src, source, 0o644); err != nil {
		return "", fmt.Errorf("write oracle source: %w", err)
	}
	out := filepath.Join(tmp, name)
	if msg, err := exec.Command(gcc, "-O2", "-o", out, src, "-lspandsp", "-lm").CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc %s.c -lspandsp: %w: %s", name, err, firstLines(string(msg), 4))
	}
	if err := os.Rename(out, bin); err != nil {
		return "", fmt.Errorf("install oracle: %w", err)
	}
	return bin, nil
}

// firstLines joins the first n lines of s, for an error message.
func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}
