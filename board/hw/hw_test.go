package hw

import (
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/board/hw/hwtest"

	"github.com/loopstart/loopstart/board"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	fxomodel "github.com/loopstart/loopstart/drivers/si3050/model"
)

func TestOpenRPiWithModels(t *testing.T) {
	def := board.RPiTDM400()
	h := hwtest.New(board.RPiTDM400(), hwtest.Opts{})
	hw := simpcm.New(simpcm.Opts{Slots: def.Slots, Clock: &simpcm.VirtualClock{}})
	b, err := Open(def, Opts{Highway: hw, Host: h, Country: "uk", Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if len(b.Ports) != 2 || b.Ports[0].FXS == nil || b.Ports[1].FXO == nil {
		t.Fatalf("ports %+v", b.Ports)
	}
	for _, p := range b.Ports {
		if p.Fault != nil {
			t.Errorf("port %d: %v", p.N, p.Fault)
		}
	}
	// UK: 25 Hz ringing on the FXS, the UK line settings on the DAA.
	if h.FXS[1].Reg(10) != 4 || h.FXO[2].Reg(30) != 5 {
		t.Errorf("country not applied: FXS reg10 %d, DAA reg30 %d", h.FXS[1].Reg(10), h.FXO[2].Reg(30))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if h.FXS[1].Linefeed() != 0 || h.FXO[2].Reg(6)&0x10 == 0 {
		t.Error("Close did not halt the chips")
	}
}

func TestOpenFaultsAndErrors(t *testing.T) {
	def := board.RPiTDM400()
	h := hwtest.New(board.RPiTDM400(), hwtest.Opts{FXO: map[int]fxomodel.Opts{2: {NoLineSide: true}}})
	hwy := simpcm.New(simpcm.Opts{Slots: 2, Clock: &simpcm.VirtualClock{}})
	b, err := Open(def, Opts{Highway: hwy, Host: h, Sleep: nosleep})
	if err != nil {
		t.Fatal(err)
	}
	if b.Ports[0].Fault != nil || b.Ports[1].Fault == nil || !strings.Contains(b.Ports[1].Fault.Error(), "line-side") {
		t.Errorf("faults: %v / %v", b.Ports[0].Fault, b.Ports[1].Fault)
	}
	delete(h.Pins, "GPIO22")
	b2, _ := Open(def, Opts{Highway: hwy, Host: h, Sleep: nosleep})
	if b2.Ports[0].Fault == nil || !strings.Contains(b2.Ports[0].Fault.Error(), "GPIO22") {
		t.Errorf("missing GPIO: %v", b2.Ports[0].Fault)
	}
	for name, o := range map[string]Opts{
		"no highway":  {Host: h},
		"few slots":   {Host: h, Highway: simpcm.New(simpcm.Opts{Slots: 1})},
		"bad country": {Host: h, Highway: hwy, Country: "xx"},
	} {
		if _, err := Open(def, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Open(board.Sim(), Opts{Host: h, Highway: hwy}); err == nil {
		t.Error("a model board opened as hardware")
	}
	bad := def
	bad.Chips = []board.ChipDef{{Port: 1, Kind: board.KindFXS, Chip: board.ChipSi3215, SPIBus: 3, Slot: 0}}
	b3, err := Open(bad, Opts{Host: h, Highway: hwy, Sleep: nosleep})
	if err != nil || b3.Ports[0].Fault == nil {
		t.Errorf("missing SPI device: %v %v", err, b3.Ports[0].Fault)
	}
}

func nosleep(time.Duration) {}
