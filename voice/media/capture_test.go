package media

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/loopstart/loopstart/voice/capture"
)

// capturedRTP parses a capture's pcap (LINKTYPE_RAW, IPv4) into its UDP
// packets: ports, TTL and payload.
type capturedRTP struct {
	sport, dport uint16
	ttl          byte
	payload      []byte
}

func capturedPackets(t *testing.T, c *capture.Capture) []capturedRTP {
	t.Helper()
	var buf bytes.Buffer
	if err := c.WritePcap(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()[24:]
	var out []capturedRTP
	for len(b) > 0 {
		n := int(binary.LittleEndian.Uint32(b[8:]))
		p := b[16 : 16+n]
		out = append(out, capturedRTP{sport: binary.BigEndian.Uint16(p[20:]), dport: binary.BigEndian.Uint16(p[22:]), ttl: p[8], payload: p[28:]})
		b = b[16+n:]
	}
	return out
}

// TestStreamCapture: a call's packets are captured both ways, as on the
// wire; on an SRTP call the decrypted copies follow when asked for, and
// they hold the clear RTP the other side decodes.
func TestStreamCapture(t *testing.T) {
	for _, tc := range []struct {
		name      string
		srtp      bool
		decrypted bool
	}{
		{"clear", false, false},
		{"srtp as sent", true, false},
		{"srtp with decrypted copies", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b *Stream
			if tc.srtp {
				a, b = newSRTPPair(t, PCMU, SuiteAESCM128SHA1_80)
			} else {
				a, b = newPair(t, PCMU)
			}
			c := capture.New(nil)
			if _, err := c.Start(capture.Options{Port: 1, Decrypted: tc.decrypted}); err != nil {
				t.Fatal(err)
			}
			a.SetCapture(c, 1)
			b.SetCapture(c, 2) // another port: left out
			frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			const packets = 10
			for range packets * 2 { // 20 ms packets, 10 ms frames
				a.Send(frame)
				b.Send(frame)
				time.Sleep(time.Millisecond)
				runtime.Gosched()
				a.Receive(out)
			}
			deadline := time.Now().Add(2 * time.Second)
			for c.Status().Packets < packets*2 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			pa, pb := a.LocalAddr().Port(), b.LocalAddr().Port()
			var sent, recv, plainSent, plainRecv int
			for _, p := range capturedPackets(t, c) {
				if p.payload[0]>>6 != 2 {
					t.Fatalf("not RTP: % x", p.payload[:12])
				}
				switch {
				case p.sport == pa && p.dport == pb && p.ttl == 64:
					sent++
					if tc.srtp && len(p.payload) != 12+160+10 {
						t.Errorf("sent SRTP packet of %d bytes", len(p.payload))
					}
				case p.sport == pb && p.dport == pa && p.ttl == 64:
					recv++
				case p.ttl == 1 && p.sport == pa:
					plainSent++
					if len(p.payload) != 12+160 {
						t.Errorf("decrypted packet of %d bytes", len(p.payload))
					}
				case p.ttl == 1 && p.sport == pb:
					plainRecv++
				default:
					t.Errorf("unexpected packet %d->%d ttl %d", p.sport, p.dport, p.ttl)
				}
			}
			if sent != packets || recv < packets-1 {
				t.Errorf("sent %d, received %d, want %d each", sent, recv, packets)
			}
			if want := tc.srtp && tc.decrypted; want != (plainSent == sent && plainRecv == recv && sent > 0) {
				t.Errorf("decrypted copies %d/%d for %d/%d", plainSent, plainRecv, sent, recv)
			}
		})
	}
}

// TestCaptureAllocatesNothing: a steady SRTP call with a capture taking
// every packet and its decrypted copy allocates nothing per frame.
func TestCaptureAllocatesNothing(t *testing.T) {
	if raceDetector {
		t.Skip("SKIP: allocation counts mean nothing under the race detector")
	}
	a, b := newSRTPPair(t, PCMU, SuiteAESCM128SHA1_80)
	c := capture.New(nil)
	if _, err := c.Start(capture.Options{Decrypted: true, MaxBytes: capture.MaxMaxBytes, Duration: capture.MaxDuration}); err != nil {
		t.Fatal(err)
	}
	a.SetCapture(c, 1)
	b.SetCapture(c, 2)
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	step := func() {
		a.Send(frame)
		b.Send(frame)
		runtime.Gosched()
		a.Receive(out)
		b.Receive(out)
	}
	for range 200 {
		step()
	}
	if n := testing.AllocsPerRun(2000, step); n != 0 {
		t.Errorf("%v allocations per frame with a capture", n)
	}
	if st := c.Status(); st.Packets < 2000 || !st.Running {
		t.Errorf("capture %+v", st)
	}
}

// TestRemoteAddrRoundTrip: the published remote address reads back.
func TestRemoteAddrRoundTrip(t *testing.T) {
	for _, s := range []string{"127.0.0.1:4000", "[2001:db8::7]:65535", "0.0.0.0:0", "[::ffff:10.1.2.3]:9"} {
		a := netip.MustParseAddrPort(s)
		var r remoteAddr
		r.store(a)
		if got := r.load(); got != a {
			t.Errorf("%v read back as %v", a, got)
		}
	}
}
