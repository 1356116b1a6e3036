package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// bigDef is a model board unlike the default: six FXS ports and two FXO
// ports chained on one chip select, out of order in the list, on 8 slots.
func bigDef() board.Definition {
	d := board.Sim()
	d.Name, d.Slots, d.PCLKHz = "big", 8, 8*16*8000
	d.Chips = []board.ChipDef{
		{Port: 7, Kind: board.KindFXO, Chip: board.ChipSi3050, SPIBus: 1, CS: 0, Chain: 0, Slot: 0},
		{Port: 8, Kind: board.KindFXO, Chip: board.ChipSi3050, SPIBus: 1, CS: 0, Chain: 1, Slot: 7},
	}
	for n := 1; n <= 6; n++ {
		d.Chips = append(d.Chips, board.ChipDef{Port: n, Kind: board.KindFXS, Chip: board.ChipSi3215, SPIBus: 0, CS: n - 1, Slot: n})
	}
	return d
}

func TestNewFromDefinition(t *testing.T) {
	for _, tc := range []struct {
		def      board.Definition
		name     string
		fxs, fxo []int
	}{
		{board.Definition{}, "sim", []int{1, 2}, []int{3}},
		{board.Sim(), "sim", []int{1, 2}, []int{3}},
		{board.QEMU(), "qemu", []int{1, 2}, []int{3}},
		{bigDef(), "big", []int{1, 2, 3, 4, 5, 6}, []int{7, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(Opts{Definition: tc.def, Clock: &simpcm.VirtualClock{}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			def := tc.def
			if def.Name == "" {
				def = board.Sim()
			}
			if b.Name != tc.name || b.Def.Name != tc.name || b.Highway.Slots() != def.Slots {
				t.Fatalf("board %q (def %q), %d slots", b.Name, b.Def.Name, b.Highway.Slots())
			}
			if len(b.Ports) != len(tc.fxs)+len(tc.fxo) || len(b.Phones()) != len(tc.fxs) || len(b.Lines()) != len(tc.fxo) {
				t.Fatalf("%d ports, %d phones, %d lines", len(b.Ports), len(b.Phones()), len(b.Lines()))
			}
			for i, p := range b.Ports {
				if i > 0 && p.N <= b.Ports[i-1].N {
					t.Fatalf("ports out of order: %d after %d", p.N, b.Ports[i-1].N)
				}
				if p.Fault != nil {
					t.Fatalf("port %d: %v", p.N, p.Fault)
				}
			}
			for _, n := range tc.fxs {
				ph, err := b.Phone(n)
				if err != nil || ph.Port() != n {
					t.Fatalf("Phone(%d): %v", n, err)
				}
				if _, err := b.Line(n); !errors.Is(err, ErrNoPort) {
					t.Errorf("Line(%d) of an FXS port: %v", n, err)
				}
			}
			for _, n := range tc.fxo {
				if _, err := b.Line(n); err != nil {
					t.Fatalf("Line(%d): %v", n, err)
				}
				if _, err := b.Phone(n); !errors.Is(err, ErrNoPort) {
					t.Errorf("Phone(%d) of an FXO port: %v", n, err)
				}
			}
			if b.DAA() == nil {
				t.Error("no DAA model")
			}
		})
	}
}

// TestDefinitionWiring: on the big board, each phone's hook and voice reach
// the host on its own port's slot.
func TestDefinitionWiring(t *testing.T) {
	b, err := New(Opts{Definition: bigDef(), Clock: &simpcm.VirtualClock{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, p := range b.Ports {
		if p.Kind == board.KindFXS {
			if err := p.FXS.SetLinefeed(board.FeedForwardActive); err != nil {
				t.Fatal(err)
			}
		}
	}
	ph, _ := b.Phone(5)
	if err := ph.SetHook("off"); err != nil {
		t.Fatal(err)
	}
	if err := ph.Say([]float64{1000}, -10); err != nil {
		t.Fatal(err)
	}
	tx := make([][]int16, b.Highway.Slots())
	rx := make([][]int16, b.Highway.Slots())
	for i := range rx {
		rx[i] = make([]int16, pcm.FrameSamples)
	}
	var energy [8]int64
	hook := map[int]bool{}
	for range 30 {
		seq, _, err := b.Highway.Exchange(context.Background(), tx, rx)
		if err != nil {
			t.Fatal(err)
		}
		for s, f := range rx {
			for _, v := range f {
				energy[s] += int64(v) * int64(v)
			}
		}
		for _, p := range b.Ports {
			if p.Kind == board.KindFXS {
				if hook[p.N], err = p.FXS.PollHook(time.Duration(seq) * pcm.FrameDuration); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for n, off := range hook {
		if off != (n == 5) {
			t.Errorf("port %d off hook: %v", n, off)
		}
	}
	for s, e := range energy {
		if (e > 0) != (s == 5) {
			t.Errorf("slot %d energy %d", s, e)
		}
	}
}

func TestNewRejects(t *testing.T) {
	bad := board.Sim()
	bad.Slots = 0
	for name, def := range map[string]board.Definition{
		"real chips": board.RPiTDM400(),
		"invalid":    bad,
	} {
		if _, err := New(Opts{Definition: def}); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name == "real chips" && !strings.Contains(err.Error(), "not models") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
