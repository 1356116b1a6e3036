package media

import (
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/dsp"
)

// TestDTMFEchoMuted: a digit received as RFC 4733 events is played to the
// line, whose echo (a hybrid with no canceller converged yet) brings it
// back in the capture for as long as it lasts. None of it goes back to
// the far end: neither as an event nor in band, where a far end with a
// hybrid of its own would hear it and key it back. A different digit the
// line sends after it, while its echo may still come back, is the line's
// own: it goes out as an event.
func TestDTMFEchoMuted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lossDB  float64
		delayMS int
		own     bool // the line keys 9 while the echo of 5 comes back
	}{{"6 dB, 1 ms", 6, 1, false}, {"12 dB, 5 ms", 12, 5, false}, {"the line's own 9 meanwhile", 6, 1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewStream(loopback)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			wire, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
			if err != nil {
				t.Fatal(err)
			}
			defer wire.Close()
			// The far end sends from the port it receives on (symmetric
			// RTP), so the stream's latching keeps sending there.
			far := net.UDPAddrFromAddrPort(b.LocalAddr())
			b.Start(Session{Remote: wire.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0, DTMFPT: 96,
				Echo: EchoOpts{Off: true}})
			seq, ts, evTS := uint16(100), uint32(1000), uint32(0)
			send := func(pt uint8, mark bool, pts uint32, payload []byte) {
				pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
					Timestamp: pts, SSRC: 42, Marker: mark}, Payload: payload}).Marshal()
				seq++
				if _, err := wire.WriteToUDP(pkt, far); err != nil {
					t.Fatal(err)
				}
			}
			silence := make([]byte, 160)
			for i := range silence {
				silence[i] = 0xff
			}
			gain := float32(1)
			for range int(tc.lossDB) {
				gain *= 0.8913 // -1 dB
			}
			delay := tc.delayMS * pcm.SampleRate / 1000
			var played []int16
			var own []int16
			if tc.own {
				own = dtmfSignal(t, "9", 400*time.Millisecond, 120*time.Millisecond, time.Second) // after the 5, in its echo guard
			}
			out := make([]int16, pcm.FrameSamples)
			capture := make([]int16, pcm.FrameSamples)
			for frame := range 80 {
				if frame%2 == 0 {
					n := frame / 2
					switch {
					case n >= 10 && n < 16:
						if n == 10 {
							evTS = ts
						}
						dur := uint16((n - 9) * 160)
						send(96, n == 10, evTS, []byte{5, 10, byte(dur >> 8), byte(dur)})
					case n >= 16 && n < 19:
						send(96, false, evTS, []byte{5, 0x80 | 10, 0x03, 0xc0})
					}
					send(0, false, ts, silence)
					ts += 160
				}
				time.Sleep(2 * time.Millisecond)
				// The capture is the line's echo of what was played.
				for i := range capture {
					k := len(played) - delay - pcm.FrameSamples + i
					capture[i] = 0
					if k >= 0 {
						capture[i] = int16(float32(played[k]) * gain)
					}
					if j := frame*pcm.FrameSamples + i; j < len(own) {
						capture[i] += own[j]
					}
				}
				b.Send(capture)
				b.Receive(out)
				played = append(played, out...)
			}
			if got := string(dsp.NewDTMFDetector().Process(played, nil)); got != "5" {
				t.Fatalf("the line got DTMF %q, want 5", got)
			}
			st := b.Stats()
			if want := map[bool]uint64{false: 0, true: 1}[tc.own]; st.DTMFSent != want {
				t.Errorf("%d digits sent as events, want %d", st.DTMFSent, want)
			}
			var sent []int16
			buf := make([]byte, 1500)
			var hdr rtp.Header
			for range st.PacketsSent {
				_ = wire.SetReadDeadline(time.Now().Add(time.Second))
				n, err := wire.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				hl, err := hdr.Unmarshal(buf[:n])
				if err != nil {
					t.Fatal(err)
				}
				if hdr.PayloadType == 96 {
					if code := buf[hl]; !tc.own || code != 9 {
						t.Errorf("event %d sent", code)
					}
					continue
				}
				if hdr.PayloadType != 0 {
					t.Errorf("payload type %d sent", hdr.PayloadType)
					continue
				}
				s := make([]int16, n-hl)
				dsp.DecodeMulaw(s, buf[hl:n])
				sent = append(sent, s...)
			}
			if got := string(dsp.NewDTMFDetector().Process(sent, nil)); got != "" {
				t.Errorf("the echo went back in band: the far end detects %q", got)
			}
		})
	}
}
