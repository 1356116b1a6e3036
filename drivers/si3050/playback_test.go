package si3050_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/spi/spitest"

	"github.com/loopstart/loopstart/drivers/internal/playback"
	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3050/model"
)

var update = flag.Bool("update", false, "rewrite testdata/init.golden")

// describe turns single-byte cycles into one register access per line.
func describe(t *testing.T, ops []conntest.IO) string {
	t.Helper()
	var b strings.Builder
	if len(ops)%3 != 0 {
		t.Fatalf("%d byte cycles, not whole frames", len(ops))
	}
	for i := 0; i < len(ops); i += 3 {
		ctl, adr, data := ops[i].W[0], ops[i+1].W[0], ops[i+2]
		if ctl&0x40 != 0 {
			fmt.Fprintf(&b, "R %#02x %d -> 0x%02x\n", ctl, adr, data.R[0])
		} else {
			fmt.Fprintf(&b, "W %#02x %d 0x%02x\n", ctl, adr, data.W[0])
		}
	}
	return b.String()
}

// TestInitSequence pins the bring-up byte for byte: recorded against the
// model, compared with testdata/init.golden, then replayed without the model.
func TestInitSequence(t *testing.T) {
	chip := model.New(model.Opts{Chain: 1})
	rec := &spitest.Record{Port: chip}
	c, err := rec.Connect(si3050.MaxSpeed, si3050.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	opts := si3050.Opts{Chain: 1, Slot: 2, Country: "uk", Name: "spi0.1/1", Sleep: nosleep}
	if _, err := si3050.New(playback.PacketConn{Conn: c}, chip.ResetPin(), nil, &opts); err != nil {
		t.Fatal(err)
	}
	playback.Golden(t, "testdata/init.golden", describe(t, rec.Ops), *update)
	_, pc, err := playback.Replay(rec.Ops, si3050.MaxSpeed, si3050.SPIMode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := si3050.New(playback.PacketConn{Conn: pc}, nil, nil, &opts); err == nil {
		t.Fatal("playback without reset pin matched a sequence recorded with one")
	}
	play2, pc2, _ := playback.Replay(rec.Ops, si3050.MaxSpeed, si3050.SPIMode)
	if _, err := si3050.New(playback.PacketConn{Conn: pc2}, chip.ResetPin(), nil, &opts); err != nil {
		t.Fatal(err)
	}
	if err := play2.Close(); err != nil {
		t.Fatalf("playback not fully consumed: %v", err)
	}
}
