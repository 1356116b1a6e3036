package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hw/hwtest"

	fxsmodel "github.com/loopstart/loopstart/drivers/si3215/model"
)

func TestProbe(t *testing.T) {
	h := hwtest.New(board.RPiTDM400(), hwtest.Opts{})
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
	if h.FXS[1].Accesses() != 3 {
		t.Errorf("probe made %d accesses to the ProSLIC, want 3 reads", h.FXS[1].Accesses())
	}
}

func TestInitAndFailures(t *testing.T) {
	h := hwtest.New(board.RPiTDM400(), hwtest.Opts{})
	var out, errb bytes.Buffer
	if code := run([]string{"--init"}, &out, &errb, h); code != 0 || !strings.Contains(out.String(), "VBAT") {
		t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
	}
	out.Reset()
	h2 := hwtest.New(board.RPiTDM400(), hwtest.Opts{FXS: map[int]fxsmodel.Opts{1: {Absent: true, AbsentValue: 0xFF}}})
	delete(h2.SPIDevs, [2]int{0, 1}) // no FXO module on the header
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
