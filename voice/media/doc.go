// Package media is the gateway's real-time path: one loop goroutine, paced by
// the PCM highway's frame clock, that moves every channel's audio between the
// highway and its RTP stream, and the RTP streams themselves.
//
// The loop owns everything it touches per frame; other goroutines (SIP, web)
// reach it only through its bounded command queue (Loop.Do, Loop.Call) and read
// its counters atomically. All buffers are allocated before the first frame:
// in steady state a frame allocates nothing (tests assert it).
//
// Receiving is split in two: a reader goroutine per RTP socket copies packets
// into a fixed single-producer/single-consumer ring (it never blocks, a full
// ring drops the packet and counts it), and the loop drains the ring into a
// small fixed jitter buffer when it plays out.
package media
