// Command hwsmoke probes the line chips of a real board and prints every
// SPI transfer it made, so that a user with hardware can send us a trace
// that becomes a playback test (periph spitest.Playback).
//
//	hwsmoke [--board rpi-tdm400] [--init] [--country us]
//
// Without --init it only reads the identity registers (no reset, nothing
// written). With --init it runs each driver's full bring-up (reset,
// DC-DC power-up and calibration of the ProSLIC, line-side link-up of the
// DAA): the PCM clocks must run, and an FXS port will carry battery
// afterwards until the chip is reset.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"
	"periph.io/x/host/v3"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/hw"
	"github.com/loopstart/loopstart/drivers/si3050"
	"github.com/loopstart/loopstart/drivers/si3215"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is the command; h nil means the real periph.io host.
func run(args []string, stdout, stderr io.Writer, h hw.Host) int {
	fs := flag.NewFlagSet("hwsmoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("board", "rpi-tdm400", "board definition")
	doInit := fs.Bool("init", false, "run the full driver bring-up, not only the identity reads")
	country := fs.String("country", "us", "country for --init")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	def, err := board.Lookup(*name)
	if err != nil {
		fmt.Fprintln(stderr, "hwsmoke:", err)
		return 2
	}
	if def.Models {
		fmt.Fprintf(stderr, "hwsmoke: board %s is simulated; pick a real one\n", def.Name)
		return 2
	}
	if h == nil {
		if _, err := host.Init(); err != nil {
			fmt.Fprintln(stderr, "hwsmoke: periph host drivers:", err)
			return 1
		}
		h = hw.Periph{}
	}
	failed := 0
	for _, cd := range def.Chips {
		fmt.Fprintf(stdout, "== port %d: %s on SPI%d.%d chain %d, slot %d\n", cd.Port, cd.Chip, cd.SPIBus, cd.CS, cd.Chain, cd.Slot)
		ops, res, err := probe(h, def, cd, *doInit, *country)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "result: FAILED: %v\n", err)
		} else {
			fmt.Fprintf(stdout, "result: %s\n", res)
		}
		printOps(stdout, cd.Chip, ops)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// probe talks to one chip through a recording SPI port.
func probe(h hw.Host, def board.Definition, cd board.ChipDef, doInit bool, country string) ([]conntest.IO, string, error) {
	port, err := h.SPI(cd.SPIBus, cd.CS)
	if err != nil {
		return nil, "", fmt.Errorf("open SPI%d.%d: %w", cd.SPIBus, cd.CS, err)
	}
	defer port.Close()
	rec := &spitest.Record{Port: port}
	c, err := rec.Connect(physic.Frequency(def.SPIHz)*physic.Hertz, spi.Mode3, 8)
	if err != nil {
		return nil, "", err
	}
	conn := packetConn{c}
	pin := func(n string) gpio.PinIO {
		if n == "" {
			return nil
		}
		return h.GPIO(n)
	}
	switch cd.Chip {
	case board.ChipSi3215:
		if !doInit {
			id, err := si3215.Probe(conn)
			return rec.Ops, fmt.Sprintf("reg0 0x%02x (revision %d), Si3215 bit %v, variant %d", id.ID, id.ID&0x0F, id.Si3215, id.Variant), err
		}
		var rst gpio.PinOut
		if p := pin(cd.Reset); p != nil {
			rst = p
		}
		dev, err := si3215.New(conn, rst, nil, &si3215.Opts{Slot: cd.Slot, Country: country, Name: fmt.Sprintf("SPI%d.%d", cd.SPIBus, cd.CS)})
		if err != nil {
			return rec.Ops, "", err
		}
		diag, err := dev.Diagnostics()
		return rec.Ops, fmt.Sprintf("%v up; VBAT %.1f V", dev, diag.VBATVolts), err
	case board.ChipSi3050:
		if !doInit {
			id, err := si3050.Probe(conn, cd.Chain)
			return rec.Ops, fmt.Sprintf("reg2 0x%02x (want 0x03), revision %d, line side %d", id.Ctrl2, id.Revision, id.LineSide), err
		}
		var rst gpio.PinOut
		if p := pin(cd.Reset); p != nil {
			rst = p
		}
		dev, err := si3050.New(conn, rst, nil, &si3050.Opts{Slot: cd.Slot, Chain: cd.Chain, Country: "fcc"})
		if err != nil {
			return rec.Ops, "", err
		}
		return rec.Ops, fmt.Sprintf("%v up", dev), nil
	}
	return nil, "", fmt.Errorf("unknown chip %q", cd.Chip)
}

// packetConn turns TxPackets into one recorded Tx per chip-select cycle,
// the form spitest.Record and Playback know.
type packetConn struct{ spi.Conn }

func (p packetConn) TxPackets(pk []spi.Packet) error {
	for i := range pk {
		if pk[i].KeepCS {
			return fmt.Errorf("packet %d keeps CS asserted", i)
		}
		if err := p.Tx(pk[i].W, pk[i].R); err != nil {
			return err
		}
	}
	return nil
}

// printOps prints the trace twice: as register accesses for people, and
// as Go conntest.IO literals for a playback test.
func printOps(w io.Writer, chip board.ChipKind, ops []conntest.IO) {
	fmt.Fprintf(w, "-- %d chip-select cycles\n", len(ops))
	frame := 2
	if chip == board.ChipSi3050 {
		frame = 3
	}
	for i := 0; i+frame <= len(ops); i += frame {
		ctl := ops[i].W
		last := ops[i+frame-1]
		if len(ctl) == 0 || len(last.W) == 0 {
			continue
		}
		read := ctl[0]&0x80 != 0
		addr := ctl[0] & 0x7F
		if frame == 3 {
			read, addr = ctl[0]&0x40 != 0, ops[i+1].W[0]
		}
		if read && len(last.R) > 0 {
			fmt.Fprintf(w, "R %3d -> 0x%02x\n", addr, last.R[0])
		} else {
			fmt.Fprintf(w, "W %3d    0x%02x\n", addr, last.W[0])
		}
	}
	fmt.Fprintln(w, "-- playback (conntest.IO):")
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "\t{W: %#v, R: %#v},\n", op.W, op.R)
	}
	fmt.Fprint(w, b.String())
}
