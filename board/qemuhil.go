package board

// QEMUHIL is the QEMU image's hardware-in-the-loop board: the product's
// real board path (board/hw over periph.io's spidev driver, ALSA for the
// PCM) against the chip models, which a CUSE server in the guest
// (tools/spidevd, board/hil) serves as /dev/spidev0.0 (an Si3215, FXS
// port 1) and /dev/spidev0.1 (an Si3050, FXO port 2). The PCM highway is
// the snd-aloop loopback card as card 0, 2 slots. GPIO cannot go through
// CUSE (a line request returns a new file descriptor) and Debian's
// kernel has no gpio-sim: no reset or interrupt lines, so the SLIC's hook
// is polled and the DAA takes a soft reset. Under emulation every
// register access is three CUSE round trips between the gateway, the
// kernel and the server, so the chips are sampled off the media loop
// (PollHz): the loop never waits for SPI. 20 Hz: at 100 Hz the sampling
// took the whole emulated CPU; 20 Hz serves hook and ring, not pulse
// dialing.
func QEMUHIL() Definition {
	return Definition{
		Name:        "qemu-hil",
		Description: "QEMU hardware-in-the-loop: Si3215 and Si3050 models behind CUSE spidev devices, PCM on snd-aloop",
		Highway:     "alsa:hw:0,0",
		Slots:       2,
		PCLKHz:      2 * 16 * 8000,
		SPIHz:       1_000_000,
		PollHz:      20,
		Tested:      true,
		Chips: []ChipDef{
			{Port: 1, Kind: KindFXS, Chip: ChipSi3215, SPIBus: 0, CS: 0, Slot: 0},
			{Port: 2, Kind: KindFXO, Chip: ChipSi3050, SPIBus: 0, CS: 1, Slot: 1},
		},
	}
}
