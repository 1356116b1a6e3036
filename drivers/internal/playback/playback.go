// Package playback holds the test helpers the chip drivers share to pin
// their SPI sequences: record a driver against its chip model with
// periph.io's spitest, compare the register accesses with a golden file,
// and replay the recording without the model.
package playback

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"
)

// PacketConn adapts a Conn that only implements Tx (spitest's Record and
// Playback) to TxPackets: each packet becomes one Tx, one recorded
// chip-select cycle. A packet with KeepCS is refused, and with OneByte so is
// one that is not a single byte.
type PacketConn struct {
	spi.Conn
	OneByte bool
}

// TxPackets sends each packet as its own Tx, stopping at the first error.
func (p PacketConn) TxPackets(pk []spi.Packet) error {
	for i := range pk {
		if pk[i].KeepCS || (p.OneByte && max(len(pk[i].W), len(pk[i].R)) != 1) {
			return fmt.Errorf("packet %d: not a single cycle with CS released: %+v", i, pk[i])
		}
		if err := p.Tx(pk[i].W, pk[i].R); err != nil {
			return err
		}
	}
	return nil
}

// Golden fails t unless got equals the file at path, naming the first line
// that differs. With update it first rewrites the file with got.
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			t.Fatalf("%s: sequence differs at line %d: got %q, want %q", path, i+1, gl[i], wl[i])
		}
	}
	t.Fatalf("%s: sequence has %d lines, golden %d", path, len(gl), len(wl))
}

// Replay returns a playback of ops that reports mismatches as errors, not
// panics, and a connection to it at f in mode with 8-bit words. Close the
// playback to check that every operation was consumed.
func Replay(ops []conntest.IO, f physic.Frequency, mode spi.Mode) (*spitest.Playback, spi.Conn, error) {
	p := &spitest.Playback{Playback: conntest.Playback{Ops: ops, DontPanic: true}}
	c, err := p.Connect(f, mode, 8)
	return p, c, err
}
