package pcm

// Batcher is implemented by a highway that can hold several frames, like a
// DMA ring of several periods: while every channel is idle the media loop may
// then wake once for a batch of frames instead of once a frame, which is most
// of an idle gateway's CPU (each wake-up of a real-time thread costs tens of
// µs on a virtual machine). Every frame is still exchanged and processed, in
// order and with its own sequence number; only the moment it is processed
// moves, by up to n−1 frames.
type Batcher interface {
	// SetBatch makes Exchange wait for a frame boundary once every n frames:
	// the first frame of a batch waits for the boundary of the batch's last
	// frame, the others of the batch pass at once. Lateness is then counted
	// from that boundary, the batch's due time. n ≤ 1 goes back to one wait
	// per frame after the frames of a batch already begun. It is called from
	// the goroutine that calls Exchange.
	SetBatch(n int)
	// Batching reports whether batches are on or the next Exchange still
	// belongs to a batch already begun; false means the next Exchange waits
	// for its own frame's boundary.
	Batching() bool
}
