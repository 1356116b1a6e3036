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
