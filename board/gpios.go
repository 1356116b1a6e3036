package board

import "fmt"

// checkGPIOs checks that the bypass relay and the reset button each have
// a line of their own: neither is a chip's reset or interrupt line, nor
// the other one.
func (d Definition) checkGPIOs() error {
	own := []struct{ what, name string }{{"bypass relay", d.BypassRelay}, {"reset button", d.ResetButton}}
	if own[0].name != "" && own[0].name == own[1].name {
		return fmt.Errorf("board %s: the bypass relay and the reset button share %s", d.Name, own[0].name)
	}
	for _, o := range own {
		if o.name == "" {
			continue
		}
		for _, c := range d.Chips {
			if c.Reset == o.name || c.IRQ == o.name {
				return fmt.Errorf("board %s: the %s's %s is also port %d's reset or interrupt line", d.Name, o.what, o.name, c.Port)
			}
		}
	}
	return nil
}
