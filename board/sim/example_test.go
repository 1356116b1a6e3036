package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/loopstart/loopstart/board"
	"github.com/loopstart/loopstart/board/sim"
	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
	"github.com/loopstart/loopstart/dsp"
)

// A media loop on a virtual clock: the host plays dial tone to port 1 and
// sees the phone go off hook; the phone hears the tone.
func Example() {
	b, err := sim.New(sim.Opts{Clock: &simpcm.VirtualClock{}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	port := b.Ports[0]
	if err := port.FXS.SetLinefeed(board.FeedForwardActive); err != nil {
		fmt.Println(err)
		return
	}
	phone, _ := b.Phone(1)
	_ = phone.SetHook("off")

	tx := make([][]int16, b.Highway.Slots())
	rx := make([][]int16, b.Highway.Slots())
	tx[port.Slot] = make([]int16, pcm.FrameSamples)
	var tone dsp.ToneGen
	tone.PlayFreqs([]float64{350, 440}, -13)
	offHook := false
	for range 100 { // one second
		tone.Fill(tx[port.Slot])
		seq, _, err := b.Highway.Exchange(context.Background(), tx, rx)
		if err != nil {
			fmt.Println(err)
			return
		}
		offHook, _ = port.FXS.PollHook(time.Duration(seq) * pcm.FrameDuration)
	}
	st := phone.State()
	fmt.Println("off hook:", offHook)
	fmt.Println("phone hears:", st.Hearing.TonesHz)
	// Output:
	// off hook: true
	// phone hears: [350 440]
}
