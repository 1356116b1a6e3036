package factory_test

import (
	"fmt"

	"github.com/loopstart/loopstart/board/factory"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// Opening the simulated board by name: the voice layer takes &b.Board, the
// sim control API b.Sim.
func ExampleOpen() {
	b, err := factory.Open("sim", factory.Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	for _, p := range b.Ports {
		fmt.Println(p.N, p.Kind, p.Slot, p.Fault)
	}
	phone, _ := b.Sim.Phone(1)
	fmt.Println("phone on port", phone.Port())
	// Output:
	// 1 fxs 0 <nil>
	// 2 fxs 1 <nil>
	// 3 fxo 2 <nil>
	// phone on port 1
}
