// Package si3050 drives the Silicon Labs Si3050 voice DAA with its Si3018/19
// line-side device: the FXO side of a gateway, which hangs on a PSTN line
// like a phone does. It seizes and releases the line (off hook / on hook),
// detects and validates ringing, reads line voltage and loop current, and
// reports polarity reversal, a parallel phone picking up (line in use) and
// loss of battery (disconnect). Audio goes over a PCM highway timeslot.
//
// # Control interface
//
// Every register access is a 3-byte frame: a control byte, the register
// address, then the data byte (written, or clocked out for a read). The
// control byte has bit 7 = broadcast (every chip on the chain takes the
// write), bit 6 = read, bit 5 = register access (always set), and in bits 3:0
// the chip's position on the daisy chain with its bits reversed (chain 0 =
// 0x0, 1 = 0x8, 2 = 0x4, 3 = 0xC, ...). Up to 16 chips share one chip select,
// SDI passed on through SDITHRU. Dev sends each byte in its own chip-select
// cycle, the same discipline as the ProSLIC, so both kinds of chip can share
// a bus (as on TDM400-style cards); the Si3050 accepts it.
//
// # Bring-up (New)
//
//  1. Reset: RESET pin low for 1 ms (or a soft reset, register 1 bit 7), then
//     at least 1 ms for the PLL, which only locks with PCLK running.
//  2. Identity: register 2 must read its reset value 0x03 (0x00 or 0xFF: no
//     chip, or no PCLK), register 11 bits 3:0 the system-side revision, and a
//     test pattern written to register 36 must read back.
//  3. Interrupt pin (register 2 INTE), PCM format and timeslots (registers 33
//     to 37; PCM enabled last).
//  4. Country settings from a table (Country): OHS and RZ/RT (register 16),
//     RT2 (17), DCV, MINI, ILIM (26), ACIM (30), OHS2 (31).
//  5. Ring validation (registers 18, 22-24): full-wave detection, a ring
//     frequency window, a confirmation time and a time-out.
//  6. Line-side power-up (register 6 PDL = 0), then wait, bounded, until the
//     line-side device answers over the isolation link: register 11 bits 7:4
//     become its ID and register 12 bit 6 (frame detect) sets.
//  7. On-hook line monitor (register 5 ONHM), so line voltage and caller ID
//     audio are readable while on hook.
//
// # Runtime (Poll)
//
// Poll reads register 5 (ring detect RDT, hook OH), register 4 (interrupts:
// RDTI, POLI, BTDI, DODI, cleared by writing zeros), register 29 (line
// voltage LVS, 1 V/bit, signed: the sign is the polarity) and register 12
// (loop current LCS, 3.3 mA/bit) and debounces on the caller's frame clock:
// a polarity flip held for Opts.PolarityDebounce is a reversal; |LVS| below
// Opts.BatteryThreshold for Opts.BatteryDebounce is a lost battery; on hook,
// a voltage between the battery threshold and Opts.InUseVolts means another
// phone on the line is off hook.
//
// Datasheet: Silicon Labs "Si3050 + Si3011/18/19 Global Voice DAA" (register
// map chapter 7; ring validation registers 22-24). Country values follow the
// datasheet's country table as DAHDI's fxo_modes.h records it (facts only).
// docs/DRIVERS.md lists which facts were checked and which were not.
package si3050
