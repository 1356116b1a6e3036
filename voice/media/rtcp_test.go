package media

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// runCall runs frames of a call between a and b, paced loosely so the
// readers keep up; lose > 0 skips that many of a's sequence numbers once,
// half way (packets the far end never gets).
func runCall(a, b *Stream, frames, lose int) {
	frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
	var ph float64
	for i := range frames {
		sine(frame, 1000, 8000, &ph)
		if i == frames/2 {
			a.seq += uint16(lose)
		}
		a.Send(frame)
		b.Send(frame)
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
		a.Receive(out)
		b.Receive(out)
	}
}

// TestRTCPReportsBothWays: each side sends SR + SDES reports (SRTCP on
// SRTP calls) that the other authenticates and reads; the loss the far end
// saw comes back in its reception report.
func TestRTCPReportsBothWays(t *testing.T) {
	for _, suite := range []string{"", SuiteAESCM128SHA1_80, SuiteAEADAES128GCM} {
		name := suite
		if name == "" {
			name = "clear"
		}
		t.Run(name, func(t *testing.T) {
			var a, b *Stream
			if suite == "" {
				a, b = newPair(t, PCMU)
			} else {
				a, b = newSRTPPair(t, PCMU, suite)
			}
			runCall(a, b, 1500, 5) // 15 s of frames: 2-5 reports each way
			sa, sb := a.Stats(), b.Stats()
			for _, st := range []StreamStats{sa, sb} {
				if st.RTCPSent < 2 || st.RTCPReceived < 2 || st.RTCPErrors != 0 {
					t.Fatalf("rtcp sent %d, received %d, errors %d", st.RTCPSent, st.RTCPReceived, st.RTCPErrors)
				}
			}
			if sb.Lost != 5 {
				t.Errorf("b counted %d lost, want 5", sb.Lost)
			}
			// b's next report tells a what it lost.
			b.sendRTCP(time.Now())
			deadline := time.Now().Add(2 * time.Second)
			for a.Stats().RemoteLost != 5 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if st := a.Stats(); st.RemoteLost != 5 || st.RTT < 0 || st.RTT > time.Second {
				t.Errorf("a's view from b's report: lost %d (want 5), RTT %v", st.RemoteLost, st.RTT)
			}
		})
	}
}

// TestRTCPSenderReportFormat checks our compound packet with pion/rtcp as
// the oracle: SR with our counts and one reception block, SDES CNAME.
func TestRTCPSenderReportFormat(t *testing.T) {
	a, b := newPair(t, PCMA)
	runCall(a, b, 100, 3)
	now := time.Now()
	a.sendRTCP(now)
	// Rebuild into a's buffer to inspect (sendRTCP leaves it there).
	n := 4 * (int(binary.BigEndian.Uint16(a.rtcpBuf[2:])) + 1)
	n += 4 * (int(binary.BigEndian.Uint16(a.rtcpBuf[n+2:])) + 1)
	pkts, err := rtcp.Unmarshal(a.rtcpBuf[:n])
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 2 {
		t.Fatalf("%d packets", len(pkts))
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok {
		t.Fatalf("first packet %T", pkts[0])
	}
	if sr.SSRC != a.ssrc || sr.PacketCount != uint32(a.Stats().PacketsSent) || sr.OctetCount != 50*160 {
		t.Errorf("sender report %+v (sent %d)", sr, a.Stats().PacketsSent)
	}
	if d := time.Unix(int64(sr.NTPTime>>32)-ntpEpochOffset, 0).Sub(now); d > time.Second || d < -time.Second {
		t.Errorf("NTP time off by %v", d)
	}
	if len(sr.Reports) != 1 || sr.Reports[0].SSRC != a.farSSRC || sr.Reports[0].Jitter > 800 {
		t.Fatalf("reception reports %+v", sr.Reports)
	}
	sd, ok := pkts[1].(*rtcp.SourceDescription)
	if !ok || len(sd.Chunks) != 1 || sd.Chunks[0].Source != a.ssrc || len(sd.Chunks[0].Items) != 1 ||
		sd.Chunks[0].Items[0].Type != rtcp.SDESCNAME || sd.Chunks[0].Items[0].Text != string(a.cname) {
		t.Fatalf("sdes %+v", pkts[1])
	}
}

// TestRTCPRoundTrip: a far-end reception report about our stream gives the
// round-trip time (arrival - LSR - DLSR), its loss fraction and jitter.
func TestRTCPRoundTrip(t *testing.T) {
	s := &Stream{epoch: time.Now()}
	s.ssrcPub.Store(1234)
	t0 := time.Now()
	rr := rtcp.ReceiverReport{SSRC: 99, Reports: []rtcp.ReceptionReport{
		{SSRC: 555, LastSenderReport: 1, Delay: 1}, // another stream: ignored
		{SSRC: 1234, FractionLost: 64, TotalLost: 7, Jitter: 80,
			LastSenderReport: ntpShort(t0), Delay: 65536 / 10}, // held 100 ms
	}}
	pkt, err := rr.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s.takeRTCP(pkt, t0.Add(150*time.Millisecond))
	st := s.Stats()
	if d := st.RTT - 50*time.Millisecond; d > time.Millisecond || d < -time.Millisecond {
		t.Errorf("RTT %v, want 50 ms", st.RTT)
	}
	if st.RemoteFractionLost != 0.25 || st.RemoteJitter != 10*time.Millisecond || st.RTCPReceived != 1 {
		t.Errorf("stats %+v", st)
	}
	s.takeRTCP(pkt[:len(pkt)-3], t0) // truncated: refused and counted
	if st := s.Stats(); st.RTCPErrors != 1 || st.RTCPReceived != 1 {
		t.Errorf("truncated packet: %+v", st)
	}
}

// FuzzTakeRTCP feeds arbitrary (decrypted) RTCP to the parser.
func FuzzTakeRTCP(f *testing.F) {
	rr, _ := (&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 7, LastSenderReport: 9}}}).Marshal()
	sr, _ := (&rtcp.SenderReport{SSRC: 1, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 7}}}).Marshal()
	f.Add(rr)
	f.Add(sr)
	f.Add([]byte{0x80, 200, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &Stream{epoch: time.Now()}
		s.ssrcPub.Store(7)
		s.takeRTCP(b, time.Now())
		if st := s.Stats(); st.RTT < 0 || st.RTCPReceived+st.RTCPErrors != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}
