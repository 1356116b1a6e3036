package dsp_test

import (
	"fmt"
	"time"

	"github.com/loopstart/loopstart/dsp"
)

// A DTMF generator feeds a detector through a G.711 µ-law channel, one
// 10 ms frame at a time.
func Example() {
	var gen dsp.DTMFGen
	if err := gen.Queue("555*0#", 60*time.Millisecond, 60*time.Millisecond, -10); err != nil {
		fmt.Println(err)
		return
	}
	det := dsp.NewDTMFDetector()
	frame := make([]int16, 80)
	wire := make([]byte, 80)
	digits := make([]byte, 0, 16)
	for gen.Busy() {
		gen.Fill(frame)
		dsp.EncodeMulaw(wire, frame)
		dsp.DecodeMulaw(frame, wire)
		digits = det.Process(frame, digits)
	}
	fmt.Println(string(digits))
	// Output: 555*0#
}

// The virtual phone's ears: which tones does the line carry?
func ExampleDominantTones() {
	p, err := dsp.LookupProfile("us")
	if err != nil {
		fmt.Println(err)
		return
	}
	var g dsp.ToneGen
	g.Play(&p.Dial)
	buf := make([]int16, 4000)
	g.Fill(buf)
	fmt.Println(dsp.DominantTones(buf, 4), fmt.Sprintf("%.1f dBFS", dsp.LevelDBFS(buf)))
	// Output: [350 440] -13.2 dBFS
}
