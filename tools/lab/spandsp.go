package lab

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

//go:embed csrc/connecttones.c
var connectTonesSource []byte

// spandsp's MODEM_CONNECT_TONES_* numbers (spandsp/modem_connect_tones.h).
const (
	SpandspFaxCNG    = 1
	SpandspANS       = 2
	SpandspANSPR     = 3
	SpandspANSam     = 4
	SpandspANSamPR   = 5
	spandspToneNone  = 0
	connectTonesName = "connecttones"
)

// ConnectTones runs spandsp's own modem connect tone detector
// (modem_connect_tones_rx, set up for toneType, one of the Spandsp*
// numbers) over 8 kHz audio and returns the tone codes it reported, in
// order, without its "no tone" reports. The C program is built with gcc
// against libspandsp-dev (installed by install-peers.sh) once per source
// version; the test is skipped, or failed with LOOPSTART_REQUIRE_PEERS=1,
// when either is missing.
func ConnectTones(t testing.TB, x []int16, toneType int) []int {
	t.Helper()
	bin, err := buildConnectTones()
	if err != nil {
		msg := fmt.Sprintf("PEER MISSING: spandsp test oracle unavailable (install gcc and libspandsp-dev, or run tools/lab/install-peers.sh): %v", err)
		if os.Getenv("LOOPSTART_REQUIRE_PEERS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	pcm := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	cmd := exec.Command(bin, strconv.Itoa(toneType))
	cmd.Stdin = bytes.NewReader(pcm)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("spandsp %s: %v: %s", connectTonesName, err, strings.TrimSpace(errb.String()))
	}
	var codes []int
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 5 && f[0] == "tone" {
			c, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("spandsp %s: bad line %q", connectTonesName, sc.Text())
			}
			if c != spandspToneNone {
				codes = append(codes, c)
			}
		}
	}
	return codes
}

func buildConnectTones() (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf("gcc: %w", err)
	}
	sum := sha256.Sum256(connectTonesSource)
	dir := filepath.Join(os.TempDir(), "loopstart-spandsp-"+connectTonesName+"-"+hex.EncodeToString(sum[:8]))
	bin := filepath.Join(dir, connectTonesName)
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("oracle dir: %w", err)
	}
	tmp, err := os.MkdirTemp(dir, "build")
	if err != nil {
		return "", fmt.Errorf("oracle build dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, connectTonesName+".c")
	if err := os.WriteFile(src, connectTonesSource, 0o644); err != nil {
		return "", fmt.Errorf("write oracle source: %w", err)
	}
	out := filepath.Join(tmp, connectTonesName)
	if msg, err := exec.Command(gcc, "-O2", "-o", out, src, "-lspandsp", "-lm").CombinedOutput(); err != nil {
		return "", fmt.Errorf("gcc %s.c -lspandsp: %w: %s", connectTonesName, err, strings.TrimSpace(string(msg)))
	}
	if err := os.Rename(out, bin); err != nil {
		return "", fmt.Errorf("install oracle: %w", err)
	}
	return bin, nil
}
