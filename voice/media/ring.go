package media

import (
	"net/netip"
	"sync/atomic"
)

// ringSlots is the capacity of a receive ring; a power of two. The loop
// empties the ring every frame during a call: 32 packets are 320 ms of
// 10 ms packets, 640 ms of 20 ms ones.
const ringSlots = 32

// maxPacket is the largest datagram the readers take from the socket.
const maxPacket = 1500

// maxSlotPacket is the largest RTP packet (clear, or decrypted) a ring
// slot holds: the header with a full CSRC list and a header extension
// budget, and the payload of the longest packet a call uses (60 ms of
// G.711 or G.722, maxPTimeSamples bytes). A longer one is dropped and
// counted. Each of a gateway's streams holds a ring, so the slot size is
// most of a stream's memory (32 × 1.5 KiB before).
const maxSlotPacket = 12 + 15*4 + 68 + maxPTimeSamples

type packetSlot struct {
	n    int
	at   int64                              // arrival, nanoseconds since the stream's epoch
	from netip.AddrPort                     // the sender; invalid when the reader cannot tell
	data [maxSlotPacket + srtpOverhead]byte // room to decrypt an SRTP packet in place
}

// packetRing is a fixed single-producer/single-consumer ring of datagrams.
// The producer (a socket reader goroutine) fills Reserve's slot and calls
// Commit; the consumer (the loop) reads Peek's slot and calls Release.
type packetRing struct {
	head  atomic.Uint32 // next slot the producer writes
	tail  atomic.Uint32 // next slot the consumer reads
	slots [ringSlots]packetSlot
}

// reserve returns the slot to write next, or nil when the ring is full.
func (r *packetRing) reserve() *packetSlot {
	h, t := r.head.Load(), r.tail.Load()
	if h-t >= ringSlots {
		return nil
	}
	return &r.slots[h%ringSlots]
}

// commit publishes the slot reserve returned.
func (r *packetRing) commit() { r.head.Add(1) }

// peek returns the oldest unread slot, or nil when the ring is empty.
func (r *packetRing) peek() *packetSlot {
	h, t := r.head.Load(), r.tail.Load()
	if h == t {
		return nil
	}
	return &r.slots[t%ringSlots]
}

// release frees the slot peek returned.
func (r *packetRing) release() { r.tail.Add(1) }

// drain drops everything unread.
func (r *packetRing) drain() { r.tail.Store(r.head.Load()) }
