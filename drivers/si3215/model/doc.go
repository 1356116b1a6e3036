// Package model is a register-level behavioural model of the Silicon Labs
// Si3215 ProSLIC, behind the same periph.io interfaces as the real chip: an
// spi.PortCloser speaking the ProSLIC byte protocol, a reset input pin and an
// active-low interrupt output pin. A virtual phone (Terminal) hangs on its
// tip/ring pair and a virtual PCM highway calls Transfer once per frame.
//
// The model is what the simulated board wires to the drivers/si3215 driver, so
// the driver cannot tell it is simulated. It answers like the chip does where
// the driver depends on it, and is strict where a real chip would misbehave:
// writes to registers it does not know, indirect accesses while the indirect
// port is busy and multi-byte chip-select cycles are recorded (see
// Violations) or rejected.
//
// # What is modelled
//
//   - SPI: mode 3, 8 bits, at most MaxSpeed. Each byte is its own chip-select
//     cycle: a control byte (bit 7 = read, bits 6:0 = address) followed, in the
//     next cycle, by the data byte (written, or clocked out for a read). A Tx
//     or packet that holds CS over more than one byte is rejected with an
//     error: the real chip needs CS to rise between bytes, so such a transfer
//     would be garbled on hardware.
//   - Reset values: reg0 = Opts.ID, reg1 bit 7 set (Si3215/16), reg8 = 0x02,
//     reg11 = 0x33, reg14 = 0x10 (DC-DC off), reg64 = 0 (open), reg67 = 0x1F,
//     reg74 = 0x32, indirect registers 0.
//   - Read-only registers: 0 (ID), 6 (variant), 31 (indirect busy),
//     68 (LCR bit 0, RTP bit 1), 82/83 (battery voltages).
//   - Indirect registers through 28/29 (data), 30 (address) and 31 (busy):
//     writing 30 after 28/29 starts a write, writing 30 alone starts a read;
//     31 stays 1 for Opts.IndirectBusy further accesses, and the read data
//     appear in 28/29 only then. Only the Si3215 indirect addresses listed in
//     KnownIndirect are accepted.
//   - DC-DC: VBAT (reg82, 0.376 V/LSB) ramps towards VBATH (reg74, 1.5 V/LSB)
//     by 0x20 per register access once reg14 bit 4 is clear and reg92 (PWM
//     period) is non-zero, and decays the same way when powered down.
//     reg93 bit 7 (DC-DC calibration) self-clears after a few accesses.
//   - Calibration: a non-zero write to reg96 self-clears after
//     Opts.CalibrationAccesses accesses (never with Opts.StuckCalibration).
//   - Linefeed reg64: LF in bits 2:0, its shadow (LFS) in bits 6:4. Battery
//     is fed in active and on-hook-transmission states of either polarity,
//     provided VBAT is up. Loop closure (reg68 bit 0) follows the terminal
//     only then. While ringing, a closed loop is a ring trip (reg68 bit 1);
//     with auto ring trip enabled (reg67 bit 2) the chip then switches to
//     forward active by itself.
//   - Interrupts: reg19 bit 1 loop closure change, bit 0 ring trip, reg20
//     bit 1 indirect access done; latched, cleared by writing 1s back. The
//     IRQ pin is low while any status bit enabled in masks 21-23 is set.
//   - PCM: with reg1 = PCM enabled and 16-bit linear format (bits 4:3 = 11)
//     and digital loopback off (reg8 = 0), the chip takes its RX channel
//     (RX start count / 16) from the highway, applies the RX digital gain
//     (indirect 13, 0x4000 = 0 dB) and passes it to the terminal when the
//     feed carries audio; the terminal's microphone goes through the TX gain
//     (indirect 14) into its TX channel while loop current flows, zeros
//     otherwise.
//
// Time is modelled in register accesses, never in wall-clock time, so the
// model is deterministic.
//
// Reference: Silicon Labs Si3210/Si3211/Si3215/Si3216 ProSLIC datasheets and
// AN35. Facts that could not be checked against the datasheet (the reg67 bit
// assignment, reg92 reset value, the variant field in reg6) follow the
// GPL reference driver (DAHDI's wctdm init order) and the values it writes.
package model
