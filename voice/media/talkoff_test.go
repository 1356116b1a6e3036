package media

import (
	"math"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// tones is the sum of sine waves at the given frequencies and dBm0 levels
// (n samples, from sample off on).
func tones(n, off int, freqLevel ...float64) []int16 {
	x := make([]int16, n)
	for i := range x {
		var v float64
		for k := 0; k+1 < len(freqLevel); k += 2 {
			f, l := freqLevel[k], freqLevel[k+1]
			v += dsp.DBm0ToAmplitude(l) * sinAt(f, off+i)
		}
		x[i] = int16(v)
	}
	return x
}

func sinAt(f float64, i int) float64 {
	return math.Sin(2 * math.Pi * f * float64(i) / pcm.SampleRate)
}

// TestDTMFEchoTalkOff: the phone's voice over the echo of a far-end tone
// at a DTMF frequency (697 Hz said, 1336 Hz played and coming back 8 dB
// down: together a DTMF 2) is neither sent as an event nor muted past the
// first suspect frames; the same capture with
// nothing played, and a real key pressed while the far end plays near one
// of its tones, are digits.
func TestDTMFEchoTalkOff(t *testing.T) {
	const n = 800 * pcm.SampleRate / 1000 // 800 ms: 600 ms of tone, then silence
	on := 600 * pcm.SampleRate / 1000
	tests := []struct {
		name     string
		capture  []int16 // the line's capture
		played   []int16 // the far end's audio played on the line (nil: none)
		digit    bool
		maxMuted int
	}{
		{"voice over the echo of a far-end tone",
			tones(n, 0, 697, -12, 1336, -14), tones(n, 0, 1336, -6), false, dtmfSuspectFrames},
		{"the same capture, nothing played",
			tones(n, 0, 697, -12, 1336, -14), nil, true, n},
		{"a key pressed over a quieter far-end tone",
			tones(n, 0, 697, -8, 1336, -6), tones(n, 0, 1300, -25), true, n},
		{"a key pressed over far-end noise",
			tones(n, 0, 697, -8, 1336, -6), noise(n, 1000), true, n},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clear(tc.capture[on:])
			if tc.played != nil {
				clear(tc.played[on:])
			}
			wire, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
			if err != nil {
				t.Fatal(err)
			}
			defer wire.Close()
			a, err := NewStream(loopback)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			a.Start(Session{Remote: wire.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, DTMFPT: 101, Echo: EchoOpts{Off: true}})
			// Past the call's first frames, where a digit is the tail of
			// the dialing key.
			silent := make([]int16, pcm.FrameSamples)
			for range dtmfSettleFrames {
				a.Send(silent)
			}
			muted := 0
			for off := 0; off+pcm.FrameSamples <= n; off += pcm.FrameSamples {
				if tc.played != nil {
					a.SetEchoReference(tc.played[off : off+pcm.FrameSamples])
				}
				frame := tc.capture[off : off+pcm.FrameSamples]
				out := a.dtmfCapture(frame)
				if off < on && &out[0] != &frame[0] {
					muted++
				}
			}
			st := a.Stats()
			if got := st.DTMFSent > 0; got != tc.digit {
				t.Errorf("digit sent %v (DTMFSent %d), want %v", got, st.DTMFSent, tc.digit)
			}
			// A digit heard but taken for the far end's echo is counted.
			if got := st.DTMFEchoes > 0; got == tc.digit {
				t.Errorf("DTMFEchoes %d with a digit sent %v", st.DTMFEchoes, tc.digit)
			}
			if muted > tc.maxMuted {
				t.Errorf("%d frames muted, want at most %d", muted, tc.maxMuted)
			}
		})
	}
}

// noise is n samples of Gaussian noise of standard deviation sd.
func noise(n int, sd float64) []int16 {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(r.NormFloat64() * sd)
	}
	return x
}
