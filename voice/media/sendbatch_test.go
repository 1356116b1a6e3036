package media

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/loopstart/loopstart/drivers/pcm"
	simpcm "github.com/loopstart/loopstart/drivers/pcm/sim"
)

// farEnd is a bare UDP socket standing in for the far end of a batched
// stream's call: it reads the RTP sequence numbers that arrived.
type farEnd struct {
	t    *testing.T
	conn *net.UDPConn
}

func newFarEnd(t *testing.T) *farEnd {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(loopback))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &farEnd{t: t, conn: c}
}

func (f *farEnd) addr() netip.AddrPort { return f.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// seqs returns the sequence numbers of the packets waiting in the socket.
// Loopback delivers a datagram before sendto returns, so what was sent is
// there; the short deadline only ends the read once it is drained.
func (f *farEnd) seqs() []uint16 {
	f.t.Helper()
	var got []uint16
	buf := make([]byte, 1500)
	for {
		_ = f.conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		n, err := f.conn.Read(buf)
		if err != nil {
			return got
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:n]); err != nil {
			f.t.Fatalf("far end got a packet that is not RTP: %v", err)
		}
		got = append(got, p.SequenceNumber)
	}
}

// batchedStream is a stream on batch in a 10 ms PCMU call to far: one
// packet per Send.
func batchedStream(t *testing.T, batch *SendBatch, far netip.AddrPort) *Stream {
	t.Helper()
	s, err := NewStreamWith(loopback, StreamOpts{Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Start(Session{Remote: far, Codec: PCMU, PTime: 10 * time.Millisecond, Echo: EchoOpts{Off: true}})
	return s
}

// TestSendBatchHolds: a batched stream's packet leaves at Flush, not at
// Send; a second packet before the Flush sends the first at once, so the
// far end gets them in order; Stop, and Start (to the old remote), send
// what is held; a split frame's sends (direct) are not held.
func TestSendBatchHolds(t *testing.T) {
	var batch SendBatch
	far := newFarEnd(t)
	s := batchedStream(t, &batch, far.addr())
	frame := make([]int16, pcm.FrameSamples)

	s.Send(frame)
	if got := far.seqs(); len(got) != 0 || s.Stats().PacketsSent != 0 {
		t.Fatalf("before Flush: far end got %v, stream counted %d sent; want nothing", got, s.Stats().PacketsSent)
	}
	batch.Flush()
	first := far.seqs()
	if len(first) != 1 || s.Stats().PacketsSent != 1 {
		t.Fatalf("after Flush: far end got %v, %d counted; want one packet", first, s.Stats().PacketsSent)
	}

	s.Send(frame)
	s.Send(frame)
	if got := far.seqs(); len(got) != 1 || got[0] != first[0]+1 {
		t.Fatalf("two Sends before a Flush: far end got %v, want [%d] (the first, at the second's Send)", got, first[0]+1)
	}
	batch.Flush()
	if got := far.seqs(); len(got) != 1 || got[0] != first[0]+2 {
		t.Fatalf("after Flush: far end got %v, want [%d]", got, first[0]+2)
	}
	batch.Flush() // nothing held: sends nothing
	if got := far.seqs(); len(got) != 0 {
		t.Fatalf("an empty Flush sent %v", got)
	}

	s.Send(frame)
	s.Stop()
	if got := far.seqs(); len(got) != 1 || got[0] != first[0]+3 {
		t.Fatalf("Stop with a packet held: far end got %v, want [%d]", got, first[0]+3)
	}
	batch.Flush() // the stream is still queued, its packet gone: nothing twice
	if got := far.seqs(); len(got) != 0 {
		t.Fatalf("Flush after Stop sent %v again", got)
	}

	s.Start(Session{Remote: far.addr(), Codec: PCMU, PTime: 10 * time.Millisecond, Echo: EchoOpts{Off: true}})
	s.Send(frame)
	other := newFarEnd(t)
	s.Start(Session{Remote: other.addr(), Codec: PCMU, PTime: 10 * time.Millisecond, Echo: EchoOpts{Off: true}})
	if got, moved := far.seqs(), other.seqs(); len(got) != 1 || len(moved) != 0 {
		t.Fatalf("Start with a packet held: the old remote got %v, the new %v; want one packet at the old", got, moved)
	}
	batch.Flush()
	s.Start(Session{Remote: far.addr(), Codec: PCMU, PTime: 10 * time.Millisecond, Echo: EchoOpts{Off: true}})

	batch.direct.Store(true)
	s.Send(frame)
	if got := far.seqs(); len(got) != 1 {
		t.Fatalf("direct: far end got %v at Send, want one packet", got)
	}
	batch.direct.Store(false)
}

// TestSendBatchFull: the batch sends when SendBatchLen streams hold a
// packet, in the order they were made.
func TestSendBatchFull(t *testing.T) {
	var batch SendBatch
	far := newFarEnd(t)
	streams := make([]*Stream, SendBatchLen+1)
	for i := range streams {
		streams[i] = batchedStream(t, &batch, far.addr())
	}
	frame := make([]int16, pcm.FrameSamples)
	for i, s := range streams[:SendBatchLen-1] {
		s.Send(frame)
		if got := far.seqs(); len(got) != 0 {
			t.Fatalf("%d of %d held: far end got %d packets", i+1, SendBatchLen, len(got))
		}
	}
	streams[SendBatchLen-1].Send(frame)
	if got := far.seqs(); len(got) != SendBatchLen {
		t.Fatalf("a full batch: far end got %d packets, want %d", len(got), SendBatchLen)
	}
	streams[SendBatchLen].Send(frame)
	if got := far.seqs(); len(got) != 0 {
		t.Fatalf("the next batch's first: far end got %d packets, want it held", len(got))
	}
	batch.Flush()
	if got := far.seqs(); len(got) != 1 {
		t.Fatalf("after Flush: far end got %d packets, want 1", len(got))
	}
	for i, s := range streams {
		if n := s.Stats().PacketsSent; n != 1 {
			t.Errorf("stream %d counted %d sent, want 1", i, n)
		}
	}
}

// TestSendBatchSRTP: a held SRTP packet (and a plain one copied into the
// same buffer) reaches the far stream intact, across every suite, and a
// steady batched call allocates nothing.
func TestSendBatchSRTP(t *testing.T) {
	for _, suite := range allSuites {
		t.Run(suite, func(t *testing.T) {
			var batch SendBatch
			a, b := bindPair(t, StreamOpts{Batch: &batch})
			ca, cb := cryptoPair(t, suite)
			a.Start(Session{Remote: b.LocalAddr(), Codec: PCMU, PTime: 10 * time.Millisecond, Crypto: ca, Echo: EchoOpts{Off: true}})
			b.Start(Session{Remote: a.LocalAddr(), Codec: PCMU, PTime: 10 * time.Millisecond, Crypto: cb, Echo: EchoOpts{Off: true}})
			frame, out := make([]int16, pcm.FrameSamples), make([]int16, pcm.FrameSamples)
			step := func() {
				a.Send(frame)
				a.Send(frame) // the first leaves here, the second at Flush
				batch.Flush()
				b.Receive(out)
			}
			for range 50 {
				step()
			}
			if raceDetector { // allocation counts mean nothing there
				for range 501 {
					step()
				}
			} else if n := testing.AllocsPerRun(500, step); n != 0 {
				t.Errorf("%v allocations per batched frame", n)
			}
			st := b.Stats()
			if want := uint64(2 * (50 + 501)); st.PacketsReceived != want || st.AuthFailures != 0 {
				t.Errorf("far stream: %d received, %d auth failures; want %d and 0", st.PacketsReceived, st.AuthFailures, want)
			}
		})
	}
}

// streamChan is a loop channel that sends every captured frame on its
// stream.
type streamChan struct{ s *Stream }

func (c streamChan) Tick(_ time.Duration, capture, _ []int16) { c.s.Send(capture) }

// TestLoopSendsBatch: the loop sends its streams' batch at the end of
// every frame, on one goroutine and split across workers alike.
func TestLoopSendsBatch(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(map[int]string{1: "one worker", 2: "split"}[workers], func(t *testing.T) {
			const chans, frames = 4, 20
			clock := &simpcm.VirtualClock{}
			hw := simpcm.New(simpcm.Opts{Slots: chans, Clock: clock})
			l := NewLoop(hw, LoopOpts{Workers: workers, SplitActive: 1})
			far := newFarEnd(t)
			streams := make([]*Stream, chans)
			for i := range streams {
				streams[i] = batchedStream(t, l.SendBatch(), far.addr())
				if err := l.Add(i, streamChan{streams[i]}); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clock.Allow(0)
			done := make(chan error, 1)
			go func() { done <- l.Run(ctx) }()
			for f := range frames {
				if err := clock.Step(ctx, 1); err != nil {
					t.Fatal(err)
				}
				if got := far.seqs(); len(got) != chans {
					t.Fatalf("frame %d: far end got %d packets, want %d", f, len(got), chans)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if workers > 1 && l.Stats().Split == 0 {
				t.Error("no frame was split")
			}
		})
	}
}
