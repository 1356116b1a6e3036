package si3215_test

import (
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/si3215"
	"github.com/loopstart/loopstart/drivers/si3215/model"
)

// TestDaisyChainConcurrentDrivers: the drivers of a daisy chain's chips,
// polled from different goroutines at once (the media loop's workers),
// each see their own chip's hook and never break the chain's framing.
func TestDaisyChainConcurrentDrivers(t *testing.T) {
	const n = 4
	var chips []*model.Chip
	var phones []*phone
	for i := range n {
		chips = append(chips, model.New(model.Opts{Chain: i}))
		phones = append(phones, newPhone())
		chips[i].Attach(phones[i])
	}
	bus, err := model.NewBus(chips...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := bus.Connect(si3215.MaxSpeed, si3215.SPIMode, 8)
	if err != nil {
		t.Fatal(err)
	}
	var devs []*si3215.Dev
	for i := range chips {
		rst := chips[0].ResetPin()
		if i > 0 {
			rst = nil
		}
		d, err := si3215.New(c, rst, nil, &si3215.Opts{Daisy: true, Chain: i, Slot: i, Sleep: func(time.Duration) {}})
		if err != nil {
			t.Fatalf("chip %d: %v", i, err)
		}
		devs = append(devs, d)
	}
	for i := range phones {
		phones[i].setHook(i%2 == 1)
	}
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ms := 10; ms <= 5000; ms += 10 {
				off, err := d.PollHook(time.Duration(ms) * time.Millisecond)
				if err != nil {
					t.Errorf("chip %d at %d ms: %v", i, ms, err)
					return
				}
				if ms > 100 && off != (i%2 == 1) {
					t.Errorf("chip %d at %d ms: off hook %v", i, ms, off)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, ch := range chips {
		if v := ch.Violations(); len(v) != 0 {
			t.Errorf("chip %d violations %q", i, v)
		}
	}
}
