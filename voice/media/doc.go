// Package media is the gateway's real-time path: one loop goroutine, paced by
// the PCM highway's frame clock, that moves every channel's audio between the
// highway and its RTP stream, and the RTP streams themselves.
//
// The loop owns everything it touches per frame; other goroutines (SIP, web)
// reach it only through its bounded command queue (Loop.Do, Loop.Call) and read
// its counters atomically. All buffers are allocated before the first frame:
// in steady state a frame allocates nothing (tests assert it).
//
// Receiving goes through a fixed single-producer/single-consumer ring per
// stream (a full ring drops the packet and counts it), which the loop drains
// into a small fixed jitter buffer when it plays out. On Linux the loop fills
// the ring itself: each frame of a call it reads, without blocking, what
// arrived at the stream's socket, with the kernel's arrival stamps, so no
// thread wakes per packet. Elsewhere, or on request (StreamOpts), a reader
// goroutine per socket fills it.
package media
