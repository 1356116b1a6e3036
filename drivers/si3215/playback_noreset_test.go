package si3215_test

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/spi/spitest"

	"github.com/loopstart/loopstart/drivers/internal/playback"
	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/drivers/si3215/model"
)

// TestInitSequenceNoReset pins the bring-up of a ProSLIC wired without
// its RESET and INT pins, as on the qemu-hil board (board.QEMUHIL: slot 0,
// country us with its 20 Hz ringing, what board/hw passes): the register
// accesses must equal testdata/init-noreset.golden, which the QEMU test
// also compares the accesses seen through the kernel's spidev with.
func TestInitSequenceNoReset(t *testing.T) {
	chip := model.New(model.Opts{})
	rec := &spitest.Record{Port: chip}
	c, err := rec.Connect(1_000_000, si3215.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	opts := si3215.Opts{Slot: 0, Name: "SPI0.0", Country: "us", RingHz: 20, Sleep: func(time.Duration) {}}
	if _, err := si3215.New(playback.PacketConn{Conn: c, OneByte: true}, nil, nil, &opts); err != nil {
		t.Fatal(err)
	}
	playback.Golden(t, "testdata/init-noreset.golden", describe(t, rec.Ops), *update)
}
