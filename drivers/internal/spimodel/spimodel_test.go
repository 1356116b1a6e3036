package spimodel

import (
	"errors"
	"strings"
	"testing"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

var (
	errInjected = errors.New("injected")
	errCSHeld   = errors.New("cs held")
)

// fake is a target that echoes each byte inverted and records what it saw.
type fake struct {
	in     []byte
	aborts int
	fail   Failures
}

func newPort(fr Framing) (*Port, *fake) {
	f := &fake{}
	spec := &Spec{Chip: "test chip", Mode: spi.Mode3, ModeNeed: "Mode3", MaxSpeed: 10 * physic.MegaHertz,
		Framing: fr, ErrInjected: errInjected, ErrCSHeld: errCSHeld}
	return NewPort(spec, Target{
		Name:        "chip",
		Cycle:       func(b byte) byte { f.in = append(f.in, b); return ^b },
		Abort:       func() { f.aborts++ },
		TakeFailure: f.fail.Take,
	}), f
}

func TestConnect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit physic.Frequency
		f     physic.Frequency
		mode  spi.Mode
		bits  int
		want  string // String of the conn, or "" for an error
	}{
		{"max by default", 0, 0, spi.Mode3, 8, "chip@10MHz"},
		{"slower", 0, physic.MegaHertz, spi.Mode3, 8, "chip@1MHz"},
		{"limit caps default", 2 * physic.MegaHertz, 0, spi.Mode3, 8, "chip@2MHz"},
		{"limit caps request", 2 * physic.MegaHertz, 20 * physic.MegaHertz, spi.Mode3, 8, "chip@2MHz"},
		{"too fast", 0, 20 * physic.MegaHertz, spi.Mode3, 8, ""},
		{"negative", 0, -1, spi.Mode3, 8, ""},
		{"wrong mode", 0, 0, spi.Mode0, 8, ""},
		{"wrong bits", 0, 0, spi.Mode3, 16, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newPort(Stream)
			if tc.limit != 0 {
				if err := p.LimitSpeed(tc.limit); err != nil {
					t.Fatal(err)
				}
			}
			c, err := p.Connect(tc.f, tc.mode, tc.bits)
			if tc.want == "" {
				if err == nil || !strings.HasPrefix(err.Error(), "test chip: ") {
					t.Fatalf("err = %v, want a test chip error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tc.want || c.Duplex() != conn.Full {
				t.Errorf("conn %q %v, want %q full duplex", c.String(), c.Duplex(), tc.want)
			}
		})
	}
	p, _ := newPort(Stream)
	if err := p.LimitSpeed(0); err == nil {
		t.Error("LimitSpeed(0) accepted")
	}
}

func TestTx(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fr      Framing
		w, r    []byte
		err     error // nil: ok; errCSHeld / errInjected by errors.Is; otherwise any error
		fail    bool
		in      string
		out     string
		aborted bool
	}{
		{"stream frame", Stream, []byte{1, 2, 3}, make([]byte, 3), nil, false, "\x01\x02\x03", "\xfe\xfd\xfc", false},
		{"stream read only", Stream, nil, make([]byte, 2), nil, false, "\x00\x00", "\xff\xff", false},
		{"stream empty", Stream, nil, nil, nil, false, "", "", false},
		{"stream bad lengths", Stream, []byte{1, 2}, make([]byte, 1), errors.ErrUnsupported, false, "", "", false},
		{"stream injected", Stream, []byte{1}, nil, errInjected, true, "", "", true},
		{"one byte", OneByte, []byte{7}, make([]byte, 1), nil, false, "\x07", "\xf8", false},
		{"one byte empty", OneByte, nil, nil, errors.ErrUnsupported, false, "", "", false},
		{"one byte held", OneByte, []byte{1, 2}, nil, errCSHeld, false, "", "", true},
		{"one byte injected", OneByte, []byte{1}, nil, errInjected, true, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, f := newPort(tc.fr)
			c, err := p.Connect(0, spi.Mode3, 8)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fail {
				f.fail.Set(1)
			}
			err = c.Tx(tc.w, tc.r)
			switch {
			case tc.err == nil && err != nil:
				t.Fatal(err)
			case tc.err == errors.ErrUnsupported && err == nil:
				t.Fatal("no error")
			case tc.err != nil && tc.err != errors.ErrUnsupported && !errors.Is(err, tc.err):
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if string(f.in) != tc.in || (err == nil && string(tc.r) != tc.out) {
				t.Errorf("chip saw %q, read %q; want %q, %q", f.in, tc.r, tc.in, tc.out)
			}
			if (f.aborts != 0) != tc.aborted {
				t.Errorf("aborts = %d", f.aborts)
			}
		})
	}
}

func TestTxPackets(t *testing.T) {
	for _, tc := range []struct {
		name string
		fr   Framing
		p    []spi.Packet
		ok   bool
		in   string
	}{
		{"stream across packets", Stream, []spi.Packet{{W: []byte{1, 2}, KeepCS: true}, {W: []byte{3}}}, true, "\x01\x02\x03"},
		{"stream bad bits", Stream, []spi.Packet{{W: []byte{1}}, {W: []byte{2}, BitsPerWord: 16}}, false, ""},
		{"stream bad lengths", Stream, []spi.Packet{{W: []byte{1}, R: make([]byte, 2)}}, false, ""},
		{"one byte each", OneByte, []spi.Packet{{W: []byte{1}}, {R: make([]byte, 1)}}, true, "\x01\x00"},
		{"one byte keep cs", OneByte, []spi.Packet{{W: []byte{1}}, {W: []byte{2}, KeepCS: true}}, false, ""},
		{"one byte long", OneByte, []spi.Packet{{W: []byte{1, 2}}}, false, ""},
		{"one byte empty", OneByte, []spi.Packet{{}}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, f := newPort(tc.fr)
			c, _ := p.Connect(0, spi.Mode3, 8)
			err := c.TxPackets(tc.p)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if string(f.in) != tc.in {
				t.Errorf("chip saw %q, want %q", f.in, tc.in)
			}
		})
	}
	p, f := newPort(Stream)
	c, _ := p.Connect(0, spi.Mode3, 8)
	f.fail.Set(2)
	for range 2 {
		if err := c.TxPackets([]spi.Packet{{W: []byte{1}}}); !errors.Is(err, errInjected) {
			t.Fatalf("err = %v, want injected", err)
		}
	}
	if err := c.TxPackets([]spi.Packet{{W: []byte{1}}}); err != nil || len(f.in) != 1 || f.aborts != 2 {
		t.Errorf("after failures: err %v, saw %q, %d aborts", err, f.in, f.aborts)
	}
}

func TestMaxTxSize(t *testing.T) {
	for fr, want := range map[Framing]int{Stream: 4096, OneByte: 1} {
		p, _ := newPort(fr)
		c, _ := p.Connect(0, spi.Mode3, 8)
		if got := c.(conn.Limits).MaxTxSize(); got != want {
			t.Errorf("framing %d: MaxTxSize %d, want %d", fr, got, want)
		}
	}
}

func TestTxAllocs(t *testing.T) {
	p, _ := newPort(OneByte)
	p.t.Cycle = func(b byte) byte { return b }
	c, _ := p.Connect(0, spi.Mode3, 8)
	w, r := []byte{1}, []byte{0}
	pk := []spi.Packet{{W: w}, {R: r}}
	if n := testing.AllocsPerRun(100, func() {
		_ = c.Tx(w, r)
		_ = c.TxPackets(pk)
	}); n != 0 {
		t.Errorf("%v allocations per transfer", n)
	}
}
