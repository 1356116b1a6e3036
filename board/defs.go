package board

import (
	"fmt"
	"strings"
)

// ChipKind names a line chip a board carries.
type ChipKind string

// Supported chips.
const (
	// ChipSi3215 is the Silicon Labs Si3215 ProSLIC (FXS; TDM400 S110M).
	ChipSi3215 ChipKind = "si3215"
	// ChipSi3050 is the Silicon Labs Si3050 + Si3019 voice DAA (FXO;
	// TDM400 X100M with the Si3050 chipset).
	ChipSi3050 ChipKind = "si3050"
)

// ChipDef is one port's chip and its wiring.
type ChipDef struct {
	// Port is the port number users see, from 1.
	Port int
	// Kind is the port kind the chip makes.
	Kind Kind
	// Chip is the chip on the port.
	Chip ChipKind
	// SPIBus and CS select the chip's SPI device (periph name
	// "SPI<bus>.<cs>", Linux /dev/spidev<bus>.<cs>).
	SPIBus, CS int
	// Chain is the position on a daisy chain sharing the chip select
	// (Si3050: 0-15; Si3215: 0-7), 0 when not chained.
	Chain int
	// Daisy is set for Si3215s in daisy-chain mode (several on one chip
	// select; the Si3050 always addresses by chain position).
	Daisy bool
	// Reset and IRQ name the GPIOs (periph gpioreg names, "GPIO17"),
	// empty when not wired. Chips may share a reset line.
	Reset, IRQ string
	// Slot is the PCM channel (16 bit clocks per slot).
	Slot int
}

// Definition is a board described as data: its chips, their wiring and the
// PCM highway. Board assemblers (board/sim, board/hw) build a Board from it.
type Definition struct {
	// Name is what --board takes.
	Name string
	// Description says what the board is.
	Description string
	// Highway names the PCM backend: "sim" (the virtual highway) or
	// "alsa:<device>" (an ALSA PCM in TDM/DSP_A mode).
	Highway string
	// Slots is the number of 16-bit channels per frame on the highway.
	Slots int
	// PCLKHz is the PCM bit clock (Slots * 16 * 8000 at least).
	PCLKHz int
	// SPIHz is the SPI clock to run the chips at.
	SPIHz int
	// Chips lists the ports' chips, in port order.
	Chips []ChipDef
	// Models is true when the chips are the behavioural models (sim, qemu).
	Models bool
	// Tested is false for a definition not yet checked on hardware.
	Tested bool
	// PollHz, when above 0, makes board/hw sample the chips (hook, line
	// state) from a goroutine of its own at this rate instead of from the
	// media loop each frame: the loop reads the last sample and never waits
	// for SPI. For boards whose SPI is slow next to a frame.
	PollHz int
	// ResetButton is the GPIO (a periph gpioreg name, "GPIO26") of a push
	// button that pulls the pin low while pressed; held down for 10 s,
	// `loopstart boot` resets the gateway to its factory settings and
	// reboots. Empty when the board has none.
	ResetButton string
	// BypassRelay is the GPIO (a periph gpioreg name) of the power-fail
	// bypass relay that, released, connects the FXS port's phone straight
	// to the FXO port's line (so the phone works with the gateway off);
	// empty when the board has none. Wiring data: board/hw does not drive
	// it yet.
	BypassRelay string
}

// Sim is the simulated board of `loopstart run --board sim`: two Si3215
// models (FXS, ports 1 and 2) and an Si3050 model (FXO, port 3) on a
// 4-slot virtual highway.
func Sim() Definition {
	return Definition{
		Name:        "sim",
		Description: "simulated board: 2 FXS (Si3215 models with virtual phones), 1 FXO (Si3050 model on a virtual central office)",
		Highway:     "sim",
		Slots:       4,
		PCLKHz:      4 * 16 * 8000,
		SPIHz:       1_000_000,
		Models:      true,
		Tested:      true,
		Chips: []ChipDef{
			{Port: 1, Kind: KindFXS, Chip: ChipSi3215, SPIBus: 0, CS: 0, Reset: "model", IRQ: "model", Slot: 0},
			{Port: 2, Kind: KindFXS, Chip: ChipSi3215, SPIBus: 0, CS: 1, Reset: "model", IRQ: "model", Slot: 1},
			{Port: 3, Kind: KindFXO, Chip: ChipSi3050, SPIBus: 0, CS: 2, Reset: "model", IRQ: "model", Slot: 2},
		},
	}
}

// QEMU is the board the QEMU image runs: the sim models inside the guest
// (QEMU has no SLIC or DAA to emulate), so the image boots the whole product
// without hardware.
func QEMU() Definition {
	d := Sim()
	d.Name = "qemu"
	d.Description = "QEMU image: the sim board's chip models inside the guest"
	return d
}

// RPiTDM400 is a Raspberry Pi (40-pin header, BCM2835-BCM2711) wired to two
// TDM400-style modules: an S110M (Si3215, FXS) as port 1 on SPI0 CE0 and an
// X100M (Si3050 + Si3019, FXO) as port 2 on SPI0 CE1, the PCM highway on the
// Pi's PCM/I2S pins as a 2-slot DSP_A bus at 256 kHz. The pin table is in
// docs/DRIVERS.md. Not tested on hardware.
func RPiTDM400() Definition {
	return Definition{
		Name:        "rpi-tdm400",
		Description: "Raspberry Pi + TDM400-style S110M (FXS) and X100M (FXO) modules (untested on hardware)",
		Highway:     "alsa:hw:0,0",
		Slots:       2,
		PCLKHz:      2 * 16 * 8000,
		SPIHz:       4_000_000,
		Chips: []ChipDef{
			{Port: 1, Kind: KindFXS, Chip: ChipSi3215, SPIBus: 0, CS: 0, Reset: "GPIO17", IRQ: "GPIO22", Slot: 0},
			{Port: 2, Kind: KindFXO, Chip: ChipSi3050, SPIBus: 0, CS: 1, Reset: "GPIO27", IRQ: "GPIO23", Slot: 1},
		},
	}
}

// Definitions returns every known board definition.
func Definitions() []Definition {
	return []Definition{Sim(), QEMU(), RPiTDM400(), QEMUHIL(), NanoPiNEO()}
}

// Lookup returns the definition named name.
func Lookup(name string) (Definition, error) {
	var names []string
	for _, d := range Definitions() {
		if d.Name == name {
			return d, nil
		}
		names = append(names, d.Name)
	}
	return Definition{}, fmt.Errorf("board: unknown board %q (known: %s)", name, strings.Join(names, ", "))
}

// Validate checks the definition: port numbers unique and from 1, chips
// matching port kinds, slots inside the highway, no two chips at the same
// bus, chip select and chain position, a bit clock fast enough for the
// slots.
func (d Definition) Validate() error {
	if d.Name == "" {
		return fmt.Errorf("board: definition without a name")
	}
	if d.Slots < 1 || d.Slots > 64 {
		return fmt.Errorf("board %s: %d slots, want 1-64", d.Name, d.Slots)
	}
	if d.PCLKHz < d.Slots*16*8000 {
		return fmt.Errorf("board %s: PCLK %d Hz too slow for %d 16-bit slots at 8 kHz", d.Name, d.PCLKHz, d.Slots)
	}
	if d.PollHz < 0 || d.PollHz > 1000 {
		return fmt.Errorf("board %s: poll rate %d Hz, want 0 (every frame, on the loop) to 1000", d.Name, d.PollHz)
	}
	if d.Highway != "sim" && !strings.HasPrefix(d.Highway, "alsa:") {
		return fmt.Errorf("board %s: highway %q is neither sim nor alsa:<device>", d.Name, d.Highway)
	}
	if err := d.checkGPIOs(); err != nil {
		return err
	}
	ports := map[int]bool{}
	slots := map[int]int{}
	where := map[[3]int]int{}
	for _, c := range d.Chips {
		switch {
		case c.Port < 1:
			return fmt.Errorf("board %s: port %d: ports number from 1", d.Name, c.Port)
		case ports[c.Port]:
			return fmt.Errorf("board %s: port %d defined twice", d.Name, c.Port)
		case c.Slot < 0 || c.Slot >= d.Slots:
			return fmt.Errorf("board %s: port %d: slot %d outside 0-%d", d.Name, c.Port, c.Slot, d.Slots-1)
		case c.Chip == ChipSi3215 && c.Kind != KindFXS, c.Chip == ChipSi3050 && c.Kind != KindFXO:
			return fmt.Errorf("board %s: port %d: a %s cannot be an %s port", d.Name, c.Port, c.Chip, c.Kind)
		case c.Chip != ChipSi3215 && c.Chip != ChipSi3050:
			return fmt.Errorf("board %s: port %d: unknown chip %q", d.Name, c.Port, c.Chip)
		}
		if err := d.checkChain(c); err != nil {
			return err
		}
		if p, ok := slots[c.Slot]; ok {
			return fmt.Errorf("board %s: ports %d and %d share slot %d", d.Name, p, c.Port, c.Slot)
		}
		k := [3]int{c.SPIBus, c.CS, c.Chain}
		if p, ok := where[k]; ok {
			return fmt.Errorf("board %s: ports %d and %d both at SPI%d.%d chain %d", d.Name, p, c.Port, c.SPIBus, c.CS, c.Chain)
		}
		ports[c.Port], slots[c.Slot], where[k] = true, c.Port, c.Port
	}
	return nil
}

// checkChain checks c's chain position against its chip and against the
// other chips on its chip select: one kind of chip per chip select, and
// Si3215s sharing one in daisy-chain mode.
func (d Definition) checkChain(c ChipDef) error {
	limit := 16
	if c.Chip == ChipSi3215 {
		limit = 8
	}
	if c.Chain < 0 || c.Chain >= limit {
		return fmt.Errorf("board %s: port %d: chain position %d outside 0-%d for an %s", d.Name, c.Port, c.Chain, limit-1, c.Chip)
	}
	for _, o := range d.Chips {
		if o.Port == c.Port || o.SPIBus != c.SPIBus || o.CS != c.CS {
			continue
		}
		if o.Chip != c.Chip {
			return fmt.Errorf("board %s: ports %d and %d share SPI%d.%d with different chips (%s, %s)", d.Name, c.Port, o.Port, c.SPIBus, c.CS, c.Chip, o.Chip)
		}
		if c.Chip == ChipSi3215 && !c.Daisy {
			return fmt.Errorf("board %s: port %d: Si3215s sharing SPI%d.%d must be in daisy-chain mode", d.Name, c.Port, c.SPIBus, c.CS)
		}
	}
	return nil
}
