package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"

	fxomodel "github.com/loopstart/loopstart/drivers/si3050/model"
	fxsmodel "github.com/loopstart/loopstart/drivers/si3215/model"
)

// modelHost wires chip models where rpi-tdm400's devices are.
type modelHost struct {
	fxs *fxsmodel.Chip
	fxo *fxomodel.Chip
}

func (h modelHost) SPI(bus, cs int) (spi.PortCloser, error) {
	switch {
	case h.fxs != nil && bus == 0 && cs == 0:
		return h.fxs, nil
	case h.fxo != nil && bus == 0 && cs == 1:
		return h.fxo, nil
	}
	return nil, errors.New("no device")
}

func (h modelHost) GPIO(name string) gpio.PinIO {
	switch name {
	case "GPIO17":
		return h.fxs.ResetPin()
	case "GPIO27":
		return h.fxo.ResetPin()
	}
	return nil
}

func TestProbe(t *testing.T) {
	h := modelHost{fxs: fxsmodel.New(fxsmodel.Opts{}), fxo: fxomodel.New(fxomodel.Opts{})}
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb, h); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	s := out.String()
	for _, want := range []string{
		"port 1: si3215 on SPI0.0", "reg0 0x03 (revision 3), Si3215 bit true",
		"port 2: si3050 on SPI0.1", "reg2 0x03 (want 0x03)", "R   0 -> 0x03", "R   2 -> 0x03",
		"{W: []byte{0x80}",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if h.fxs.Accesses() != 3 {
		t.Errorf("probe made %d accesses to the ProSLIC, want 3 reads", h.fxs.Accesses())
	}
}

func TestInitAndFailures(t *testing.T) {
	h := modelHost{fxs: fxsmodel.New(fxsmodel.Opts{}), fxo: fxomodel.New(fxomodel.Opts{})}
	var out, errb bytes.Buffer
	if code := run([]string{"--init"}, &out, &errb, h); code != 0 || !strings.Contains(out.String(), "VBAT") {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	out.Reset()
	h2 := modelHost{fxs: fxsmodel.New(fxsmodel.Opts{Absent: true, AbsentValue: 0xFF})}
	if code := run([]string{"--init"}, &out, &errb, h2); code != 1 ||
		!strings.Contains(out.String(), "no ProSLIC found") || !strings.Contains(out.String(), "open SPI0.1") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	for _, args := range [][]string{{"--board", "sim"}, {"--board", "nope"}, {"--bad"}} {
		if code := run(args, &out, &errb, h); code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
