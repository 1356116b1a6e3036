package media

import (
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/loopstart/loopstart/drivers/pcm"
)

// polledStream is a started polled stream and a socket sending to it.
func polledStream(t *testing.T) (*Stream, *net.UDPConn) {
	t.Helper()
	s, err := NewStream(loopback)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.poll == nil {
		t.Fatal("the default stream is not polled on Linux")
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return s, peer
}

func rtpPacket(seq uint16) []byte {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	pkt[2], pkt[3] = byte(seq>>8), byte(seq)
	pkt[4], pkt[5], pkt[6], pkt[7] = 0, 0, byte(seq>>8), byte(seq) // timestamp seq×256: not used here
	pkt[11] = 7
	return pkt
}

// TestPolledArrivalStamp: a datagram read by the loop a while after it
// arrived carries the kernel's arrival time, not the read's.
func TestPolledArrivalStamp(t *testing.T) {
	s, peer := polledStream(t)
	if !s.poll.stamped {
		t.Skip("SO_TIMESTAMPNS refused here")
	}
	s.Start(Session{Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU})
	const wait = 50 * time.Millisecond
	sent := int64(time.Since(s.epoch))
	if _, err := peer.WriteToUDPAddrPort(rtpPacket(1), s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(wait)
	s.pollReceive()
	slot := s.ring.peek()
	if slot == nil {
		t.Fatal("nothing read")
	}
	if age := time.Duration(s.poll.monoNow - slot.at); age < wait*8/10 {
		t.Errorf("arrival stamped %v before the read, want about %v (the time it waited)", age, wait)
	}
	if slot.at < sent-int64(time.Millisecond) {
		t.Errorf("arrival %v is before the send at %v", time.Duration(slot.at), time.Duration(sent))
	}
}

// TestPolledReadBounded: a flood at a call's port costs one frame at most
// pollMax reads; what the ring cannot hold is dropped and counted, the rest
// waits in the socket for the next frame.
func TestPolledReadBounded(t *testing.T) {
	s, peer := polledStream(t)
	s.Start(Session{Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU})
	const sent = 2 * pollMax
	for i := range sent {
		if _, err := peer.WriteToUDPAddrPort(rtpPacket(uint16(i)), s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	s.pollReceive()
	queued := 0
	for slot := s.ring.peek(); slot != nil; slot = s.ring.peek() {
		queued++
		s.ring.release()
	}
	if queued != ringSlots {
		t.Errorf("%d packets in the ring after one poll, want %d (full)", queued, ringSlots)
	}
	if d := s.dropped.Load(); d != pollMax-ringSlots {
		t.Errorf("%d dropped after one poll, want %d (read beyond the ring)", d, pollMax-ringSlots)
	}
	s.pollReceive() // the next frame reads the next pollMax
	if d := s.dropped.Load(); d != 2*pollMax-2*ringSlots {
		t.Errorf("%d dropped after two polls, want %d", d, 2*pollMax-2*ringSlots)
	}
}

// TestPolledStartDiscardsStale: what waited at the socket between calls is
// not played in the next call; what comes after Start is.
func TestPolledStartDiscardsStale(t *testing.T) {
	s, peer := polledStream(t)
	for i := range 5 {
		if _, err := peer.WriteToUDPAddrPort(rtpPacket(uint16(i)), s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	s.Start(Session{Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU})
	out := make([]int16, pcm.FrameSamples)
	s.Receive(out)
	if n := s.Stats().PacketsReceived; n != 0 {
		t.Fatalf("%d stale packets taken into the call", n)
	}
	if _, err := peer.WriteToUDPAddrPort(rtpPacket(100), s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	s.Receive(out)
	if n := s.Stats().PacketsReceived; n != 1 {
		t.Fatalf("%d packets received after Start, want 1", n)
	}
}

// TestPolledIdleReadsNothing: a stream between calls leaves its socket
// alone (no reader goroutine, no read on Receive).
func TestPolledIdleReadsNothing(t *testing.T) {
	s, peer := polledStream(t)
	if _, err := peer.WriteToUDPAddrPort(rtpPacket(1), s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	out := make([]int16, pcm.FrameSamples)
	s.Receive(out)
	if s.ring.peek() != nil || s.dropped.Load() != 0 {
		t.Fatal("an idle stream read its socket")
	}
}

// TestPolledOversized: a datagram longer than the read buffer is dropped
// and counted once; the next one is read.
func TestPolledOversized(t *testing.T) {
	s, peer := polledStream(t)
	s.Start(Session{Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU})
	big := make([]byte, maxPacket+100)
	copy(big, rtpPacket(1))
	for _, b := range [][]byte{big, rtpPacket(2)} {
		if _, err := peer.WriteToUDPAddrPort(b, s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	s.pollReceive()
	if d := s.dropped.Load(); d != 1 {
		t.Errorf("%d dropped, want 1", d)
	}
	slot := s.ring.peek()
	if slot == nil || slot.n != 12+160 {
		t.Fatalf("the packet after the long one was not read: %+v", slot)
	}
}

// TestPolledStaleAfterPause: packets that waited while the call's audio
// was not played (Receive not called for over pollStale) are thrown away
// and counted, not played late; one that just came plays, and so do the
// next.
func TestPolledStaleAfterPause(t *testing.T) {
	s, peer := polledStream(t)
	s.Start(Session{Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU})
	out := make([]int16, pcm.FrameSamples)
	s.Receive(out)
	for i := range 5 {
		if _, err := peer.WriteToUDPAddrPort(rtpPacket(uint16(i)), s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Duration(pollStale) + 50*time.Millisecond)
	if _, err := peer.WriteToUDPAddrPort(rtpPacket(5), s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	s.Receive(out)
	st := s.Stats()
	want := uint64(1)
	if !s.poll.stamped {
		want = 0 // without arrival stamps everything that waited goes
	}
	if st.PacketsReceived != want || st.Dropped != 6-want {
		t.Fatalf("after a pause: received %d, dropped %d; want %d and %d (the five that waited too long)", st.PacketsReceived, st.Dropped, want, 6-want)
	}
	if _, err := peer.WriteToUDPAddrPort(rtpPacket(6), s.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	s.Receive(out)
	if st := s.Stats(); st.PacketsReceived != want+1 {
		t.Fatalf("received %d after the pause, want %d", st.PacketsReceived, want+1)
	}
}

// TestPolledBatch: a poll reads whatever number of datagrams waits — none,
// one (a batch that comes back short), two (a full batch, then an empty
// socket), three — each whole, in order, with its sender and its own
// arrival stamp; a datagram longer than a slot is dropped and counted
// without taking its batch neighbour with it.
func TestPolledBatch(t *testing.T) {
	if got, want := unsafe.Sizeof(mmsghdr{}), (unsafe.Sizeof(unix.Msghdr{})+4+unsafe.Alignof(unix.Msghdr{})-1)/unsafe.Alignof(unix.Msghdr{})*unsafe.Alignof(unix.Msghdr{}); got != want {
		t.Fatalf("mmsghdr is %d bytes, the kernel's struct mmsghdr %d", got, want)
	}
	for _, c := range []struct {
		name string
		lens []int // datagram lengths; 0 is a normal RTP packet
		want int   // packets in the ring
	}{
		{"none", nil, 0},
		{"one", []int{0}, 1},
		{"two", []int{0, 0}, 2},
		{"three", []int{0, 0, 0}, 3},
		{"an oversized one between", []int{0, maxPacket + 100, 0}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, peer := polledStream(t)
			s.Start(Session{Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU})
			for i, l := range c.lens {
				pkt := rtpPacket(uint16(100 + i))
				if l > 0 {
					pkt = append(pkt, make([]byte, l-len(pkt))...)
				}
				if _, err := peer.WriteToUDPAddrPort(pkt, s.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(5 * time.Millisecond) // distinct arrival stamps
			}
			s.pollReceive()
			var seqs []uint16
			var last int64
			for slot := s.ring.peek(); slot != nil; slot = s.ring.peek() {
				seq := uint16(slot.data[2])<<8 | uint16(slot.data[3])
				seqs = append(seqs, seq)
				if slot.n != len(rtpPacket(0)) {
					t.Errorf("packet %d: %d bytes, sent %d", seq, slot.n, len(rtpPacket(0)))
				}
				if slot.from != peer.LocalAddr().(*net.UDPAddr).AddrPort() {
					t.Errorf("packet %d from %v, sent from %v", seq, slot.from, peer.LocalAddr())
				}
				if s.poll.stamped && slot.at <= last {
					t.Errorf("packet %d arrived at %v, not after the one before (%v)", seq, slot.at, last)
				}
				last = slot.at
				s.ring.release()
			}
			if len(seqs) != c.want {
				t.Fatalf("%d packets read (%v), want %d", len(seqs), seqs, c.want)
			}
			for i := 1; i < len(seqs); i++ {
				if seqs[i] <= seqs[i-1] {
					t.Errorf("packets out of order: %v", seqs)
				}
			}
			if d, want := s.dropped.Load(), uint64(len(c.lens)-c.want); d != want {
				t.Errorf("%d dropped, want %d", d, want)
			}
		})
	}
}
