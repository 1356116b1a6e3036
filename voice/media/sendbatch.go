package media

import (
	"net/netip"
	"sync/atomic"
)

// SendBatchLen is how many streams' packets a SendBatch holds before it
// sends them: the bound on how long a packet waits for the channels
// ticked after it (at most SendBatchLen−1 channels' work: up to about
// 0.5 ms at 8 calls in docs/PERFORMANCE.md, "Round 18"), and on how many
// packets one wake-up of a receiver serves.
const SendBatchLen = 8

// SendBatch holds the RTP packets the channels' Ticks make during a frame
// and sends them together: when SendBatchLen streams have one waiting, and
// at the end of the frame's Ticks (Loop.tickFrame). A receiver that polls
// several of the calls' sockets — a PBX's media thread, a far phone
// handling several calls, a media relay — is then woken once for the
// batch instead of once a packet, and the loop runs its channels' signal
// processing in a row rather than between system calls. The packet's
// bytes stay in its stream's buffer until sent; a stream that makes a
// second packet before the batch is sent (RFC 4733 events) sends its
// first at once, so every stream's packets leave in order, and Start and
// Stop send what the stream holds. The loop sends directly (no batch) in
// frames it splits across workers, whose Ticks run concurrently.
//
// A SendBatch belongs to one loop (Loop.SendBatch) and is used on its
// goroutine only.
type SendBatch struct {
	direct atomic.Bool // a split frame: streams send at once
	n      int
	q      [SendBatchLen]*Stream
}

// hold queues s's packet (already in s.enc, its length in s.held) and
// sends the batch when it is full.
func (b *SendBatch) hold(s *Stream) {
	b.q[b.n] = s
	b.n++
	if b.n == len(b.q) {
		b.Flush()
	}
}

// Flush sends every packet the batch holds, in the order they were made.
func (b *SendBatch) Flush() {
	for i := range b.n {
		s := b.q[i]
		b.q[i] = nil
		s.sendHeld()
	}
	b.n = 0
}

// holding reports whether s's next packet should wait in its batch.
func (s *Stream) holding() bool {
	return s.batch != nil && !s.batch.direct.Load()
}

// sendHeld sends the packet s holds for its batch, if any.
func (s *Stream) sendHeld() {
	if s.held == 0 {
		return
	}
	n := s.held
	s.held = 0
	s.write(s.enc[:n], s.sess.Remote)
}

// write sends one packet to addr and counts it.
func (s *Stream) write(out []byte, addr netip.AddrPort) {
	if _, err := s.conn.WriteToUDPAddrPort(out, addr); err != nil {
		s.noteWriteError(err)
		return
	}
	s.sent.Add(1)
}
