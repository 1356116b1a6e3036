package media

import (
	"net"
	"testing"
	"time"

	"github.com/loopstart/loopstart/drivers/pcm"
	"github.com/pion/rtp"
)

// TestStartContinuesSource: a Start that continues the call (early media
// becoming the answer, a re-INVITE) keeps the RTP source — SSRC,
// sequence and timestamp carry on — and a Start of a new call does not.
func TestStartContinuesSource(t *testing.T) {
	far, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	s, err := NewStreamWith(loopback, StreamOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	remote := far.LocalAddr().(*net.UDPAddr).AddrPort()
	frame := make([]int16, pcm.FrameSamples)
	packet := func() rtp.Header {
		t.Helper()
		for range 2 { // 20 ms: one packet
			s.Send(frame)
		}
		buf := make([]byte, 1500)
		if err := far.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, _, err := far.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		return p.Header
	}
	for _, tc := range []struct {
		name  string
		cont  bool
		codec Codec // of the second Start
		same  bool
	}{
		{"early media becomes the answer", true, PCMU, true},
		{"a re-INVITE's new offer", true, PCMA, true},
		{"a new call", false, PCMU, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Start(Session{Remote: remote, Codec: PCMU})
			before := packet()
			s.Start(Session{Remote: remote, Codec: tc.codec, PT: staticPT(tc.codec), Continue: tc.cont})
			after := packet()
			same := after.SSRC == before.SSRC && after.SequenceNumber == before.SequenceNumber+1 &&
				after.Timestamp == before.Timestamp+160
			if same != tc.same {
				t.Errorf("before SSRC %08x seq %d ts %d, after SSRC %08x seq %d ts %d: continued %v, want %v",
					before.SSRC, before.SequenceNumber, before.Timestamp, after.SSRC, after.SequenceNumber, after.Timestamp, same, tc.same)
			}
		})
	}
	// Continue on a stream not running is a start like any other.
	s.Stop()
	s.Start(Session{Remote: remote, Codec: PCMU, Continue: true})
	if p := packet(); !p.Marker {
		t.Errorf("the first packet of a stream started with Continue after Stop has no marker: %+v", p)
	}
}
