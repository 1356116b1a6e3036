package si3215_test

import (
	"fmt"
	"log"
	"time"

	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/drivers/si3215/model"
)

func Example() {
	// On a board the port comes from spireg.Open("SPI0.0") and the pins
	// from gpioreg.ByName; here the chip is the behavioural model.
	chip := model.New(model.Opts{})
	port, err := chip.Connect(si3215.MaxSpeed, si3215.SPIMode, 8)
	if err != nil {
		log.Fatal(err)
	}
	opts := si3215.Opts{Slot: 0, Name: "spi0.0", Sleep: func(time.Duration) {}}
	dev, err := si3215.New(port, chip.ResetPin(), chip.IRQPin(), &opts)
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Halt()
	lf, err := dev.Linefeed()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dev, lf)

	// The media loop polls the hook every 10 ms.
	offHook, err := dev.PollHook(10 * time.Millisecond)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("off hook:", offHook)
	// Output:
	// Si3215{spi0.0, rev C, variant 0, slot 0} forward-active
	// off hook: false
}
