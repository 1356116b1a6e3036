package board

// NanoPiNEO is a FriendlyARM NanoPi NEO (Allwinner H3) wired to two
// TDM400-style modules: an S110M (Si3215, FXS) as port 1 and an X100M
// (Si3050 + Si3019, FXO) as port 2, one chip each on its own chip select
// (no daisy chain), and the PCM highway on the H3's I2S0 in TDM (DSP_A)
// mode: 2 slots of 16 bits at 8 kHz, a 256 kHz bit clock.
//
// Pins (the 2x12 header CON1, and the 1x12 header CON2 for I2S0, which
// CON1 does not carry):
//
//	SPI0 MOSI/MISO/CLK  PC0/PC1/PC2  CON1 19/21/23
//	CS0 (Si3215)        PC3          CON1 24   SPI0's own chip select
//	CS1 (Si3050)        PA6          CON1 12   a GPIO chip select (cs-gpios)
//	Si3215 RESET/INT    PA0/PA2      CON1 11/13
//	Si3050 RESET/INT    PA3/PG8      CON1 15/16
//	bypass relay        PG11         CON1 7
//	I2S0 LRCK/BCLK      PA18/PA19    CON2 8/9   (frame sync, bit clock)
//	I2S0 DOUT/DIN       PA20/PA21    CON2 10/11 (to the chips' DRX, from DTX)
//
// The H3's SPI0 brings out one chip select, so the device tree overlay
// gives spi0 `cs-gpios = <0>, <&pio 0 6 GPIO_ACTIVE_LOW>` (PA6) and two
// spidev children (/dev/spidev0.0, /dev/spidev0.1); I2S0 is a
// simple-audio-card in dsp_a format with a dummy codec and 2 TDM slots of
// 16 bits, card 0 (the H3's analog codec stays disabled, as the NanoPi
// NEO's mainline device tree leaves it). The interrupt lines are on
// external-interrupt banks (PA_EINT, PG_EINT). docs/HARDWARE.md has the
// wiring table and the overlay. Not tested on hardware.
func NanoPiNEO() Definition {
	return Definition{
		Name:        "nanopi-neo",
		Description: "NanoPi NEO (Allwinner H3) + TDM400-style S110M (FXS) and X100M (FXO) modules on SPI0 and I2S0 TDM (untested on hardware)",
		Highway:     "alsa:hw:0,0",
		Slots:       2,
		PCLKHz:      2 * 16 * 8000,
		SPIHz:       4_000_000,
		BypassRelay: "PG11",
		Chips: []ChipDef{
			{Port: 1, Kind: KindFXS, Chip: ChipSi3215, SPIBus: 0, CS: 0, Reset: "PA0", IRQ: "PA2", Slot: 0},
			{Port: 2, Kind: KindFXO, Chip: ChipSi3050, SPIBus: 0, CS: 1, Reset: "PA3", IRQ: "PG8", Slot: 1},
		},
	}
}
