package board

import "fmt"

// MaxSimChannels is the most ports a sized simulated board carries: one PCM
// highway of 32 16-bit slots at 4.096 MHz.
const MaxSimChannels = 32

// Chain lengths the chips allow on one chip select.
const (
	si3215ChainLen = 8  // Si3215 daisy-chain positions 0-7
	si3050ChainLen = 16 // Si3050 chain positions 0-15
)

// SimSize is a simulated board of fxs Si3215 FXS ports (1..fxs) and fxo
// Si3050 FXO ports (fxs+1..fxs+fxo), all chip models, on one virtual PCM
// highway with slot port-1. The Si3215s are daisy-chained eight to a chip
// select on SPI0 (CS0 for ports 1-8, CS1 for 9-16, ...), the Si3050s
// sixteen to a chip select on the chip selects after them; each chain's
// first chip holds the chain's reset line. SimSize(2, 1) is Sim(), the
// default board, unchanged. At most MaxSimChannels ports in all.
func SimSize(fxs, fxo int) (Definition, error) {
	switch {
	case fxs < 0 || fxo < 0:
		return Definition{}, fmt.Errorf("board: sim with %d FXS and %d FXO ports: counts cannot be negative", fxs, fxo)
	case fxs+fxo < 1:
		return Definition{}, fmt.Errorf("board: sim without ports: want at least one FXS or FXO port")
	case fxs+fxo > MaxSimChannels:
		return Definition{}, fmt.Errorf("board: sim with %d ports: one highway carries at most %d", fxs+fxo, MaxSimChannels)
	}
	if fxs == 2 && fxo == 1 {
		return Sim(), nil
	}
	n := fxs + fxo
	slots := max(n, 4)
	d := Definition{
		Name:        "sim",
		Description: fmt.Sprintf("simulated board: %d FXS (daisy-chained Si3215 models with virtual phones), %d FXO (chained Si3050 models on virtual central offices), one %d-slot highway", fxs, fxo, slots),
		Highway:     "sim",
		Slots:       slots,
		PCLKHz:      slots * 16 * 8000,
		SPIHz:       1_000_000,
		Models:      true,
		Tested:      true,
	}
	cs := 0
	for i := range fxs {
		pos := i % si3215ChainLen
		d.Chips = append(d.Chips, ChipDef{Port: i + 1, Kind: KindFXS, Chip: ChipSi3215,
			SPIBus: 0, CS: cs + i/si3215ChainLen, Chain: pos, Daisy: true,
			Reset: chainReset(pos), IRQ: "model", Slot: i})
	}
	cs += (fxs + si3215ChainLen - 1) / si3215ChainLen
	for i := range fxo {
		pos := i % si3050ChainLen
		d.Chips = append(d.Chips, ChipDef{Port: fxs + i + 1, Kind: KindFXO, Chip: ChipSi3050,
			SPIBus: 0, CS: cs + i/si3050ChainLen, Chain: pos,
			Reset: chainReset(pos), IRQ: "model", Slot: fxs + i})
	}
	return d, nil
}

// chainReset is the reset line of a chip at chain position pos: the
// chain's first chip holds it.
func chainReset(pos int) string {
	if pos == 0 {
		return "model"
	}
	return ""
}
