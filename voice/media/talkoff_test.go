package media

import (
	"math"
	"math/rand/v2"
	"net"
	"testing"
	"time"

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

// TestStreamContinue: a call's media renegotiated (Session.Continue) keeps
// the canceller's learnt line, so the echo stays cancelled from the first
// frames after the restart, and its DTMF age, so a key pressed right
// after is sent as a digit; a fresh start (a new call) learns the line
// again and takes an early key for the tail of the dialing one.
func TestStreamContinue(t *testing.T) {
	tests := []struct {
		name       string
		cont       bool
		minLoss    float64 // echo return loss over the 100 ms after the restart
		maxLoss    float64
		digitAfter bool
	}{
		{"renegotiated", true, 60, 200, true},
		{"new call", false, -100, 50, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newPairEcho(t, PCMU, EchoOpts{})
			r := rand.New(rand.NewPCG(3, 4))
			var line hybridLine
			capA, outA := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			capB, outB := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			var sent, back []int16
			tick := time.NewTicker(pcm.FrameDuration)
			defer tick.Stop()
			for i := range 210 {
				<-tick.C
				if i == 200 {
					a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU, PT: 0, DTMFPT: 101, Continue: tc.cont})
					sent, back = sent[:0], back[:0]
				}
				for k := range capB {
					capB[k] = int16(r.NormFloat64() * 3000)
				}
				line.echo(capA, outA)
				a.Send(capA)
				b.Send(capB)
				a.Receive(outA)
				b.Receive(outB)
				if i >= 200 {
					sent = append(sent, capB...)
					back = append(back, outB...)
				}
			}
			// The far end's packets take a frame or two to come back:
			// compare what was sent with what came back, both in the 100 ms
			// after the restart, skipping the first 20 ms.
			loss := dsp.LevelDBFS(sent[:len(sent)-160]) - dsp.LevelDBFS(back[160:])
			t.Logf("echo returned %.1f dB down after the restart", loss)
			if loss < tc.minLoss || loss > tc.maxLoss {
				t.Errorf("echo returned %.1f dB down after the restart, want %.0f..%.0f", loss, tc.minLoss, tc.maxLoss)
			}
			// A key pressed just after another restart.
			a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU, PT: 0, DTMFPT: 101, Continue: tc.cont})
			key := dtmfSignal(t, "5", 0, 100*time.Millisecond, 100*time.Millisecond)
			before := a.Stats().DTMFSent
			for off := 0; off+pcm.FrameSamples <= len(key); off += pcm.FrameSamples {
				a.Send(key[off : off+pcm.FrameSamples])
			}
			if got := a.Stats().DTMFSent > before; got != tc.digitAfter {
				t.Errorf("key after the restart sent %v, want %v", got, tc.digitAfter)
			}
		})
	}
}
