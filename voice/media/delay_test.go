package media

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// BenchmarkOneWayDelay measures the delay the stream adds, in real time on
// loopback at zero jitter, one 20 ms packet per op (use -benchtime Nx):
//
//   - send: from a PCM sample entering (captured during the 10 ms before
//     the frame boundary at which the loop gets its frame) to the RTP
//     packet holding it arriving at a socket. Reported for a packet's
//     first sample (ptime of packetization plus processing) and as the
//     processing alone (boundary to arrival).
//   - receive: from an RTP packet arriving to its first sample leaving in
//     the playout (a frame's samples leave during the 10 ms after the
//     boundary at which the loop plays it), with the jitter buffer at its
//     zero-jitter steady state.
//
// The loop's own wake-up lateness comes on top (its histogram in
// /api/status: ≤ 0.5 ms for nearly all frames, docs/PERFORMANCE.md).
//
//	go test -run '^$' -bench OneWayDelay -benchtime 300x ./voice/media/
func BenchmarkOneWayDelay(b *testing.B) {
	b.Run("send", func(b *testing.B) {
		a, err := NewStream(loopback)
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		wire, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
		if err != nil {
			b.Fatal(err)
		}
		defer wire.Close()
		a.Start(Session{Remote: wire.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, PT: 0})
		arrivals := make(chan time.Time, 1024)
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, err := wire.Read(buf); err != nil {
					close(arrivals)
					return
				}
				arrivals <- time.Now()
			}
		}()
		frame := make([]int16, pcm.FrameSamples)
		tick := time.NewTicker(pcm.FrameDuration)
		defer tick.Stop()
		var sumProc, maxProc, maxFirst time.Duration
		b.ResetTimer()
		for range b.N {
			var boundary time.Time
			for range 2 { // two frames make a 20 ms packet
				<-tick.C
				boundary = time.Now()
				a.Send(frame)
			}
			at := <-arrivals
			proc := at.Sub(boundary)
			first := proc + 20*time.Millisecond // the packet's first sample entered 20 ms before
			sumProc += proc
			maxProc = max(maxProc, proc)
			maxFirst = max(maxFirst, first)
		}
		b.ReportMetric(float64(sumProc.Microseconds())/float64(b.N), "µs-processing-mean")
		b.ReportMetric(float64(maxProc.Microseconds()), "µs-processing-max")
		b.ReportMetric(float64(maxFirst.Microseconds())/1000, "ms-first-sample-max")
	})
	b.Run("receive", func(b *testing.B) {
		s, err := NewStream(loopback)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		far, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.LocalAddr()))
		if err != nil {
			b.Fatal(err)
		}
		defer far.Close()
		s.Start(Session{Remote: loopback, Codec: PCMU, PT: 0})
		// The far end: a packet every 20 ms, exactly (zero jitter),
		// its send time noted by timestamp.
		var mu sync.Mutex
		sentAt := map[uint32]time.Time{}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			payload := make([]byte, 160)
			for i := range payload {
				payload[i] = 0x7f
			}
			ts := uint32(5000)
			for seq := uint16(0); ; seq++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, SSRC: 7}, Payload: payload}).Marshal()
				mu.Lock()
				sentAt[ts] = time.Now()
				mu.Unlock()
				_, _ = far.Write(pkt)
				ts += 160
			}
		}()
		out := make([]int16, pcm.FrameSamples)
		tick := time.NewTicker(pcm.FrameDuration)
		defer tick.Stop()
		for range 800 { // 8 s: the jitter buffer converges (it sheds its start margin slowly)
			<-tick.C
			s.Receive(out)
		}
		var sum, worst time.Duration
		n := 0
		b.ResetTimer()
		for n < b.N {
			<-tick.C
			boundary := time.Now()
			s.Receive(out) // drains arrivals, then plays from playTS
			// Which packet starts in this frame, and where?
			start := s.jb.playTS - pcm.FrameSamples // playTS moved past this frame
			mu.Lock()
			for ts, at := range sentAt {
				if off := int32(ts - start); off >= 0 && off < pcm.FrameSamples {
					exit := boundary.Add(time.Duration(off) * (time.Second / pcm.SampleRate))
					d := exit.Sub(at)
					sum += d
					worst = max(worst, d)
					n++
					delete(sentAt, ts)
				} else if off < 0 {
					delete(sentAt, ts)
				}
			}
			mu.Unlock()
		}
		close(stop)
		<-done
		b.ReportMetric(float64(sum.Microseconds())/float64(n)/1000, "ms-mean")
		b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max")
	})
}
