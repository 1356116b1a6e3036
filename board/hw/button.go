package hw

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/host/v3"
)

// Button returns a reader of the named GPIO as a push button to ground:
// the pin is an input with its pull-up, and pressed reads low. h opens
// the pin; nil means periph.io (after host.Init).
func Button(h Host, name string) (pressed func() (bool, error), err error) {
	if h == nil {
		if _, err := host.Init(); err != nil {
			return nil, fmt.Errorf("board/hw: periph host drivers: %w", err)
		}
		h = Periph{}
	}
	pin := h.GPIO(name)
	if pin == nil {
		return nil, fmt.Errorf("board/hw: button: no GPIO %q", name)
	}
	if err := pin.In(gpio.PullUp, gpio.NoEdge); err != nil {
		return nil, fmt.Errorf("board/hw: button %s: %w", name, err)
	}
	return func() (bool, error) { return pin.Read() == gpio.Low, nil }, nil
}
