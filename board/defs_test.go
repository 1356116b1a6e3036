package board

import (
	"github.com/loopstart/loopstart/drivers/si3050"

	"strings"
	"testing"
)

func TestDefinitionsValid(t *testing.T) {
	for _, d := range Definitions() {
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", d.Name, err)
		}
		got, err := Lookup(d.Name)
		if err != nil || got.Name != d.Name {
			t.Errorf("lookup %s: %v", d.Name, err)
		}
	}
	if _, err := Lookup("nope"); err == nil || !strings.Contains(err.Error(), "rpi-tdm400") {
		t.Errorf("unknown board: %v", err)
	}
	if d := RPiTDM400(); d.Tested || d.Models {
		t.Error("the Pi wiring must stay marked untested and real")
	}
	if d := NanoPiNEO(); d.Tested || d.Models {
		t.Error("the NanoPi NEO wiring must stay marked untested and real")
	}
}

func TestValidateRejects(t *testing.T) {
	for name, f := range map[string]func(*Definition){
		"no name":       func(d *Definition) { d.Name = "" },
		"slots":         func(d *Definition) { d.Slots = 0 },
		"pclk":          func(d *Definition) { d.PCLKHz = 1000 },
		"highway":       func(d *Definition) { d.Highway = "i2s" },
		"port 0":        func(d *Definition) { d.Chips[0].Port = 0 },
		"dup port":      func(d *Definition) { d.Chips[1].Port = 1 },
		"slot range":    func(d *Definition) { d.Chips[0].Slot = 9 },
		"kind mismatch": func(d *Definition) { d.Chips[2].Kind = KindFXS },
		"unknown chip":  func(d *Definition) { d.Chips[0].Chip = "le9662" },
		"shared slot":   func(d *Definition) { d.Chips[1].Slot = 0 },
		"shared cs":     func(d *Definition) { d.Chips[1].CS = 0 },
		"relay on a reset line": func(d *Definition) {
			d.Chips[0].Reset, d.BypassRelay = "PA0", "PA0"
		},
		"relay on an interrupt line": func(d *Definition) {
			d.Chips[2].IRQ, d.BypassRelay = "PG8", "PG8"
		},
		"button on a reset line": func(d *Definition) {
			d.Chips[1].Reset, d.ResetButton = "GPIO26", "GPIO26"
		},
		"relay is the button": func(d *Definition) { d.BypassRelay, d.ResetButton = "PG11", "PG11" },
	} {
		d := Sim()
		d.Chips = append([]ChipDef(nil), d.Chips...)
		f(&d)
		if err := d.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEventBitsMatchDriver(t *testing.T) {
	// The adapter converts si3050.Event to FXOEvent by value.
	pairs := [][2]uint16{
		{uint16(FXORingStart), uint16(si3050.EventRingStart)},
		{uint16(FXORingStop), uint16(si3050.EventRingStop)},
		{uint16(FXOPolarity), uint16(si3050.EventPolarity)},
		{uint16(FXOBatteryLost), uint16(si3050.EventBatteryLost)},
		{uint16(FXOBatteryRestored), uint16(si3050.EventBatteryRestored)},
		{uint16(FXOInUse), uint16(si3050.EventInUse)},
		{uint16(FXOInUseEnd), uint16(si3050.EventInUseEnd)},
	}
	for i, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("event %d: board %#x, driver %#x", i, p[0], p[1])
		}
	}
}

// TestNanoPiNEOWiring: the NanoPi NEO's lines are each used once (the
// header pins the documentation's wiring table gives), both chips on SPI0
// with chip selects of their own, the slots in port order.
func TestNanoPiNEOWiring(t *testing.T) {
	d := NanoPiNEO()
	used := map[string]string{d.BypassRelay: "bypass relay"}
	for _, c := range d.Chips {
		for what, name := range map[string]string{"reset": c.Reset, "irq": c.IRQ} {
			if name == "" {
				t.Errorf("port %d: no %s line", c.Port, what)
			}
			if o, dup := used[name]; dup {
				t.Errorf("port %d: %s line %s is also the %s", c.Port, what, name, o)
			}
			used[name] = what
		}
		if c.SPIBus != 0 || c.CS != c.Port-1 || c.Chain != 0 || c.Slot != c.Port-1 {
			t.Errorf("port %d: SPI%d.%d chain %d slot %d", c.Port, c.SPIBus, c.CS, c.Chain, c.Slot)
		}
	}
	if d.Highway != "alsa:hw:0,0" || d.PCLKHz != d.Slots*16*8000 {
		t.Errorf("highway %s at %d Hz for %d slots", d.Highway, d.PCLKHz, d.Slots)
	}
}
