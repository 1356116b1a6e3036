package hw

import (
	"testing"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/spi"
)

// buttonPin is an input pin whose level a test sets; the methods a button
// does not use are left to the nil interface.
type buttonPin struct {
	gpio.PinIO
	P gpio.Pull
	L gpio.Level
}

func (p *buttonPin) In(pull gpio.Pull, edge gpio.Edge) error { p.P = pull; return nil }
func (p *buttonPin) Read() gpio.Level                        { return p.L }

// pinHost is a Host with GPIOs only.
type pinHost map[string]gpio.PinIO

func (h pinHost) SPI(bus, cs int) (spi.PortCloser, error) { return nil, nil }
func (h pinHost) GPIO(name string) gpio.PinIO {
	if p, ok := h[name]; ok {
		return p
	}
	return nil
}

func TestButton(t *testing.T) {
	pin := &buttonPin{L: gpio.High}
	h := pinHost{"GPIO26": pin}
	pressed, err := Button(h, "GPIO26")
	if err != nil {
		t.Fatal(err)
	}
	if pin.P != gpio.PullUp {
		t.Errorf("pull %v, want up", pin.P)
	}
	for _, tc := range []struct {
		level gpio.Level
		want  bool
	}{{gpio.High, false}, {gpio.Low, true}, {gpio.High, false}} {
		pin.L = tc.level
		if got, err := pressed(); got != tc.want || err != nil {
			t.Errorf("level %v: pressed %v %v, want %v", tc.level, got, err, tc.want)
		}
	}
	if _, err := Button(h, "GPIO5"); err == nil {
		t.Error("a missing GPIO gave a button")
	}
}
