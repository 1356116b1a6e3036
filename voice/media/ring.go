package media

import (
	"net/netip"
	"sync/atomic"
)

// ringSlots is the capacity of a receive ring; a power of two.
const ringSlots = 64

// maxPacket is the largest datagram a ring slot holds.
const maxPacket = 1500

type packetSlot struct {
	n    int
	at   int64          // arrival, nanoseconds since the stream's epoch
	from netip.AddrPort // the sender; invalid when the reader cannot tell
	data [maxPacket]byte
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
