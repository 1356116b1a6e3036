// Package si3215 drives the Silicon Labs Si3215 ProSLIC, a single-channel
// subscriber line interface (FXS): it feeds battery to an analog phone,
// rings it, detects hook state and converts the line's audio to and from a
// PCM highway timeslot.
//
// The chip is controlled over SPI (mode 3, MSB first, one byte per
// chip-select cycle: a control byte with bit 7 = read and the register
// address in bits 6:0, then a data byte), with a RESET input and an INT
// output on GPIOs. Dev uses periph.io's spi.Conn and gpio pins, so it runs
// unchanged on a Linux spidev and against the behavioural model in the model
// sub-package.
//
// New follows the initialisation order of the datasheet and AN35 as applied by
// DAHDI's wctdm: reset, identity and sanity checks, indirect registers,
// DC-DC converter power-up, calibration, PCM slot set-up, interrupt clearing
// and finally forward active. Audio uses 16-bit linear PCM: on the project's
// highway one "slot" is one 16-bit channel, so the TX and RX start counts are
// Slot*16 bit clocks after frame sync.
//
// Datasheets: Silicon Labs "Si3210/Si3211/Si3212 ProSLIC" and
// "Si3215/Si3216 ProSLIC" datasheets (direct and indirect register maps) and
// application note AN35 "Si321x User's Quick Reference Guide"
// (https://www.silabs.com, search "Si3215"). Indirect register numbers here are
// the Si3215's, which differ from the Si3210's (ringing oscillator RCO is
// indirect 7 on the Si3215, 20 on the Si3210).
package si3215
