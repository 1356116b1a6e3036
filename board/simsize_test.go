package board

import (
	"reflect"
	"strings"
	"testing"
)

func TestSimSize(t *testing.T) {
	for _, tc := range []struct {
		fxs, fxo int
		slots    int
		cs       []int // chip select of each port, in port order
		chain    []int // chain position of each port
	}{
		{fxs: 1, fxo: 0, slots: 4, cs: []int{0}, chain: []int{0}},
		{fxs: 0, fxo: 1, slots: 4, cs: []int{0}, chain: []int{0}},
		{fxs: 4, fxo: 4, slots: 8, cs: []int{0, 0, 0, 0, 1, 1, 1, 1}, chain: []int{0, 1, 2, 3, 0, 1, 2, 3}},
		{fxs: 9, fxo: 0, slots: 9, cs: []int{0, 0, 0, 0, 0, 0, 0, 0, 1}, chain: []int{0, 1, 2, 3, 4, 5, 6, 7, 0}},
		{fxs: 32, fxo: 0, slots: 32},
		{fxs: 16, fxo: 16, slots: 32},
		{fxs: 0, fxo: 32, slots: 32},
	} {
		d, err := SimSize(tc.fxs, tc.fxo)
		if err != nil {
			t.Fatalf("%d+%d: %v", tc.fxs, tc.fxo, err)
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%d+%d: %v", tc.fxs, tc.fxo, err)
		}
		if d.Name != "sim" || !d.Models || d.Slots != tc.slots || len(d.Chips) != tc.fxs+tc.fxo {
			t.Errorf("%d+%d: name %q models %v slots %d chips %d", tc.fxs, tc.fxo, d.Name, d.Models, d.Slots, len(d.Chips))
		}
		var cs, chain []int
		for i, c := range d.Chips {
			kind := KindFXS
			if i >= tc.fxs {
				kind = KindFXO
			}
			if c.Port != i+1 || c.Slot != i || c.Kind != kind {
				t.Errorf("%d+%d: chip %d: %+v", tc.fxs, tc.fxo, i, c)
			}
			if (c.Chain == 0) != (c.Reset != "") {
				t.Errorf("%d+%d: port %d: chain %d reset %q: only a chain's first chip holds the reset line", tc.fxs, tc.fxo, c.Port, c.Chain, c.Reset)
			}
			cs, chain = append(cs, c.CS), append(chain, c.Chain)
		}
		if tc.cs != nil && (!reflect.DeepEqual(cs, tc.cs) || !reflect.DeepEqual(chain, tc.chain)) {
			t.Errorf("%d+%d: chip selects %v chains %v, want %v %v", tc.fxs, tc.fxo, cs, chain, tc.cs, tc.chain)
		}
	}
	if d, err := SimSize(2, 1); err != nil || !reflect.DeepEqual(d, Sim()) {
		t.Errorf("SimSize(2, 1) = %+v, %v; want Sim()", d, err)
	}
	for _, bad := range [][2]int{{0, 0}, {-1, 2}, {2, -1}, {33, 0}, {20, 13}} {
		if _, err := SimSize(bad[0], bad[1]); err == nil || !strings.Contains(err.Error(), "sim") {
			t.Errorf("SimSize(%d, %d): %v", bad[0], bad[1], err)
		}
	}
}

func TestValidateRejectsChains(t *testing.T) {
	base, err := SimSize(9, 3)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*Definition){
		"si3215 chain 8":      func(d *Definition) { d.Chips[0].Chain = 8 },
		"si3050 chain 16":     func(d *Definition) { d.Chips[10].Chain = 16 },
		"negative chain":      func(d *Definition) { d.Chips[10].Chain = -1 },
		"mixed chips on a cs": func(d *Definition) { d.Chips[10].CS = 0; d.Chips[10].Chain = 7 },
		"not daisy":           func(d *Definition) { d.Chips[3].Daisy = false },
		"same position":       func(d *Definition) { d.Chips[3].Chain = 2 },
	} {
		d := base
		d.Chips = append([]ChipDef(nil), base.Chips...)
		f(&d)
		if err := d.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
