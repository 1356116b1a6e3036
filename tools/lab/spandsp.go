package lab

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/internal/oraclebuild"
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
// version (internal/oraclebuild); the test is skipped, or failed with
// LOOPSTART_REQUIRE_PEERS=1, when either is missing.
func ConnectTones(t testing.TB, x []int16, toneType int) []int {
	t.Helper()
	bin := oraclebuild.Require(t, connectTonesName, connectTonesSource)
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
