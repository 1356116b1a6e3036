package spimodel

import (
	"runtime"
	"sync"
	"testing"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// TestTransfersDoNotInterleave: transfers from several goroutines on one
// port (a daisy chain's drivers on the media loop's workers) reach the
// target whole, one after the other, as a bus controller sends them.
func TestTransfersDoNotInterleave(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fr      Framing
		conns   int // goroutines: one connection each, or all on one
		shared  bool
		packets int
	}{
		{"one byte framing, shared connection", OneByte, 4, true, 3},
		{"one byte framing, a connection each", OneByte, 3, false, 3},
		{"stream framing", Stream, 2, true, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The target yields on every byte, so that transfers
			// not kept whole would interleave at once.
			var in []byte
			spec := &Spec{Chip: "test chip", Mode: spi.Mode3, ModeNeed: "Mode3", MaxSpeed: 10 * physic.MegaHertz,
				Framing: tc.fr, ErrInjected: errInjected, ErrCSHeld: errCSHeld}
			var fail Failures
			p := NewPort(spec, Target{Name: "chip", Abort: func() {}, TakeFailure: fail.Take,
				Cycle: func(b byte) byte { in = append(in, b); runtime.Gosched(); return ^b }})
			shared, _ := p.Connect(0, spi.Mode3, 8)
			const rounds = 300
			var wg sync.WaitGroup
			for g := range tc.conns {
				c := shared
				if !tc.shared {
					c, _ = p.Connect(0, spi.Mode3, 8)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					pk := make([]spi.Packet, tc.packets)
					for i := range pk {
						pk[i].W = []byte{byte(g + 1)}
					}
					for range rounds {
						if err := c.TxPackets(pk); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if len(in) != tc.conns*rounds*tc.packets {
				t.Fatalf("target saw %d bytes, want %d", len(in), tc.conns*rounds*tc.packets)
			}
			for i := 0; i < len(in); i += tc.packets {
				for j := 1; j < tc.packets; j++ {
					if in[i+j] != in[i] {
						t.Fatalf("transfer at byte %d interleaved: % x", i, in[i:i+tc.packets])
					}
				}
			}
		})
	}
}
