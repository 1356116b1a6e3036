package si3215_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/spi/spitest"

	"github.com/loopstart/loopstart/drivers/internal/playback"
	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/drivers/si3215/model"
)

var update = flag.Bool("update", false, "rewrite testdata/init.golden")

// describe turns recorded single-byte cycles into register accesses, one per
// line: "W reg val" or "R reg -> val".
func describe(t *testing.T, ops []conntest.IO) string {
	t.Helper()
	var b strings.Builder
	if len(ops)%2 != 0 {
		t.Fatalf("odd number of byte cycles: %d", len(ops))
	}
	for i := 0; i < len(ops); i += 2 {
		ctl, data := ops[i], ops[i+1]
		if len(ctl.W) != 1 || len(data.W) != 1 {
			t.Fatalf("op %d: cycles of %d and %d bytes", i, len(ctl.W), len(data.W))
		}
		if ctl.W[0]&0x80 != 0 {
			if len(data.R) != 1 {
				t.Fatalf("op %d: read without a read buffer", i)
			}
			fmt.Fprintf(&b, "R %d -> 0x%02x\n", ctl.W[0]&0x7F, data.R[0])
		} else {
			fmt.Fprintf(&b, "W %d 0x%02x\n", ctl.W[0], data.W[0])
		}
	}
	return b.String()
}

// TestInitSequence pins the initialisation sequence: it records New against
// the model, compares the register accesses with testdata/init.golden, then
// replays the recording with spitest.Playback (no model) and checks that New
// consumes exactly the recorded operations.
func TestInitSequence(t *testing.T) {
	chip := model.New(model.Opts{})
	rec := &spitest.Record{Port: chip}
	c, err := rec.Connect(si3215.MaxSpeed, si3215.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	opts := si3215.Opts{Slot: 1, Name: "spi0.0", Sleep: func(time.Duration) {}}
	if _, err := si3215.New(playback.PacketConn{Conn: c, OneByte: true}, chip.ResetPin(), nil, &opts); err != nil {
		t.Fatal(err)
	}
	playback.Golden(t, "testdata/init.golden", describe(t, rec.Ops), *update)

	pb, pc, err := playback.Replay(rec.Ops, si3215.MaxSpeed, si3215.SPIMode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := si3215.New(playback.PacketConn{Conn: pc, OneByte: true}, danglingPin{}, nil, &opts); err != nil {
		t.Fatalf("playback: %v", err)
	}
	if err := pb.Close(); err != nil {
		t.Fatal(err)
	}
}
