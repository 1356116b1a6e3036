package si3050_test

import (
	"testing"

	"periph.io/x/conn/v3/spi/spitest"

	"github.com/loopstart/loopstart/drivers/internal/playback"
	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3050/model"
)

// TestInitSequenceNoReset pins the bring-up of a DAA wired without its
// RESET and INT pins (a soft reset instead), as on the qemu-hil board
// (board.QEMUHIL: chain 0, slot 1, country us): the register accesses must
// equal testdata/init-noreset.golden, which the QEMU test also compares
// the accesses seen through the kernel's spidev with.
func TestInitSequenceNoReset(t *testing.T) {
	chip := model.New(model.Opts{})
	rec := &spitest.Record{Port: chip}
	c, err := rec.Connect(1_000_000, si3050.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	opts := si3050.Opts{Slot: 1, Country: "us", Name: "SPI0.1/0", Sleep: nosleep}
	if _, err := si3050.New(playback.PacketConn{Conn: c}, nil, nil, &opts); err != nil {
		t.Fatal(err)
	}
	playback.Golden(t, "testdata/init-noreset.golden", describe(t, rec.Ops), *update)
}
