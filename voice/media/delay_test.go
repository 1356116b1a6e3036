package media

import (
	"fmt"
	"net"
	"runtime"
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
		// The arrival phase — where in the loop's 10 ms frame the far
		// end's packets land — decides the delay: a packet waits for
		// the next frame boundary. Just after a boundary is the worst.
		for _, phase := range []time.Duration{500 * time.Microsecond, 5 * time.Millisecond, 9500 * time.Microsecond} {
			b.Run(fmt.Sprintf("arrival=%.1fms", phase.Seconds()*1000), func(b *testing.B) { benchReceiveDelay(b, phase) })
		}
	})
}

// benchReceiveDelay measures the receive delay with packets sent phase
// after the loop's frame boundaries. The far end and the loop each run on
// their own OS thread in the SCHED_FIFO class when allowed (as the
// gateway's loop and RTP readers do) and sleep to absolute times, so that
// the far end's own timing adds no jitter.
func benchReceiveDelay(b *testing.B, phase time.Duration) {
	s, err := NewStreamWith(loopback, StreamOpts{Priority: 45})
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
	const frame = int64(pcm.FrameDuration)
	t0 := monoNow() + 2*frame
	var mu sync.Mutex
	sentAt := map[uint32]int64{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if setThreadPolicy(true, 45) == nil {
			defer func() {
				if setThreadPolicy(false, 0) == nil {
					runtime.UnlockOSThread()
				}
			}()
		} else {
			defer runtime.UnlockOSThread()
		}
		payload := make([]byte, 160)
		for i := range payload {
			payload[i] = 0x7f
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7, Timestamp: 5000}, Payload: payload}
		for k := int64(0); ; k++ {
			sleepUntil(t0 + 2*k*frame + int64(phase))
			select {
			case <-stop:
				return
			default:
			}
			buf, _ := pkt.Marshal()
			mu.Lock()
			sentAt[pkt.Timestamp] = monoNow()
			mu.Unlock()
			_, _ = far.Write(buf)
			pkt.SequenceNumber++
			pkt.Timestamp += 160
		}
	}()
	defer func() { close(stop); <-done }()
	runtime.LockOSThread()
	if setThreadPolicy(true, 45) == nil {
		defer func() {
			if setThreadPolicy(false, 0) == nil {
				runtime.UnlockOSThread()
			}
		}()
	} else {
		defer runtime.UnlockOSThread()
	}
	out := make([]int16, pcm.FrameSamples)
	f := int64(0)
	for ; f < 800; f++ { // 8 s: the jitter buffer converges (it sheds its start margin slowly)
		sleepUntil(t0 + f*frame)
		s.Receive(out)
		runtime.Gosched()
	}
	before := s.Stats()
	var sum, worst int64
	n := 0
	b.ResetTimer()
	for ; n < b.N; f++ {
		// A frame's samples leave from its boundary on (the PCM clock
		// plays them) even when the loop wakes late; the loop's
		// lateness is reported apart.
		boundary := t0 + f*frame
		sleepUntil(boundary)
		s.Receive(out) // drains arrivals, then plays from playTS
		// Which packet starts in this frame, and where?
		start := s.jb.playTS - pcm.FrameSamples // playTS moved past this frame
		mu.Lock()
		for ts, at := range sentAt {
			if off := int32(ts - start); off >= 0 && off < pcm.FrameSamples {
				d := boundary + int64(off)*int64(time.Second/pcm.SampleRate) - at
				sum += d
				worst = max(worst, d)
				n++
				delete(sentAt, ts)
			} else if off < 0 {
				delete(sentAt, ts)
			}
		}
		mu.Unlock()
		runtime.Gosched()
	}
	b.StopTimer()
	after := s.Stats()
	b.ReportMetric(float64(sum)/float64(n)/1e6, "ms-mean")
	b.ReportMetric(float64(worst)/1e6, "ms-max")
	b.ReportMetric(float64(after.Concealed-before.Concealed), "concealed-samples")
	if !s.RealtimeReader() {
		b.Log("the RTP reader is not real-time (no CAP_SYS_NICE?): figures include scheduling noise")
	}
}
