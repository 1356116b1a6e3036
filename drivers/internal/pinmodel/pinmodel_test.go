package pinmodel

import (
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

var errDir = errors.New("wrong way")

func TestOut(t *testing.T) {
	var got []gpio.Level
	var p *Out
	p = NewOut(Desc{Name: "RESET", Label: "chip.RESET", ErrDirection: errDir}, gpio.High, func(l gpio.Level) {
		if p.Read() != l { // the level is stored before the chip hears of it
			t.Errorf("Read in callback = %v, want %v", p.Read(), l)
		}
		got = append(got, l)
	})
	if p.Read() != gpio.High || p.String() != "chip.RESET" || p.Name() != "RESET" || p.Number() != -1 || p.Function() != "Out" {
		t.Errorf("new pin: %v %q %q %d %q", p.Read(), p.String(), p.Name(), p.Number(), p.Function())
	}
	for _, l := range []gpio.Level{gpio.Low, gpio.Low, gpio.High} {
		if err := p.Out(l); err != nil {
			t.Fatal(err)
		}
		if p.Read() != l {
			t.Errorf("Read after Out(%v) = %v", l, p.Read())
		}
	}
	if len(got) != 3 || got[0] != gpio.Low || got[1] != gpio.Low || got[2] != gpio.High {
		t.Errorf("callback saw %v, want every drive [Low Low High]", got)
	}
	if p.In(gpio.PullUp, gpio.NoEdge) != errDir || p.PWM(gpio.DutyHalf, 0) != errDir {
		t.Error("output used as input or PWM")
	}
	if p.WaitForEdge(0) || p.Pull() != gpio.PullNoChange || p.DefaultPull() != gpio.PullNoChange || p.Halt() != nil {
		t.Error("output pin extras")
	}
	if err := NewOut(Desc{}, gpio.Low, nil).Out(gpio.High); err != nil {
		t.Errorf("Out without callback: %v", err)
	}
}

func TestIn(t *testing.T) {
	level := gpio.High
	reads := 0
	p := NewIn(Desc{Name: "INT", Label: "chip.INT", ErrDirection: errDir}, func() gpio.Level {
		reads++
		return level
	})
	if p.Read() != gpio.High || p.Function() != "In/High" || p.String() != "chip.INT" || p.Name() != "INT" || p.Number() != -1 {
		t.Errorf("pin: %q %q %q %d", p.Function(), p.String(), p.Name(), p.Number())
	}
	level = gpio.Low
	if p.Read() != gpio.Low || reads != 3 {
		t.Errorf("Read = %v after %d reads, want Low from the chip on every read", p.Read(), reads)
	}
	if p.Out(gpio.Low) != errDir || p.PWM(gpio.DutyHalf, 0) != errDir {
		t.Error("input driven")
	}
	if p.Pull() != gpio.PullNoChange || p.DefaultPull() != gpio.PullUp || p.Halt() != nil {
		t.Error("input pin extras")
	}
}

func TestInWaitForEdge(t *testing.T) {
	for _, tc := range []struct {
		edge gpio.Edge
		to   gpio.Level // the level after the first sample
		want bool
	}{
		{gpio.FallingEdge, gpio.Low, true},
		{gpio.RisingEdge, gpio.High, true},
		{gpio.BothEdges, gpio.Low, true},
		{gpio.RisingEdge, gpio.Low, false},
		{gpio.NoEdge, gpio.Low, false},
	} {
		reads := 0
		p := NewIn(Desc{}, func() gpio.Level {
			reads++
			if reads == 1 {
				return !tc.to
			}
			return tc.to
		})
		if err := p.In(gpio.PullUp, tc.edge); err != nil {
			t.Fatal(err)
		}
		timeout := 20 * time.Millisecond
		if tc.want {
			timeout = -1 // forever: the edge comes on the second sample
		}
		if got := p.WaitForEdge(timeout); got != tc.want {
			t.Errorf("edge %v to %v: WaitForEdge = %v, want %v", tc.edge, tc.to, got, tc.want)
		}
	}
}

func TestReadAllocs(t *testing.T) {
	in := NewIn(Desc{}, func() gpio.Level { return gpio.Low })
	out := NewOut(Desc{}, gpio.High, func(gpio.Level) {})
	if n := testing.AllocsPerRun(100, func() {
		_ = in.Read()
		_ = out.Out(gpio.Low)
		_ = out.Read()
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
