package hybridmodel

// dots8 computes dots's sums for outputs 0..n−1, n a multiple of 8, in
// SSE (dot_amd64.s): eight outputs at a time, each lane adding its
// products in dots's order, so the same bits (TestDots).
//
//go:noescape
func dots8(out, win *float32, hr *[taps]float32, n int)

// dots sets out[i] to Σ hr[j]·win[i+j], j from taps−1 down to 0, for
// every i of out; win holds len(out)+taps−1 samples.
func dots(out, win []float32, hr *[taps]float32) {
	n := len(out) &^ 7
	_ = win[len(out)+taps-2]
	if n > 0 {
		dots8(&out[0], &win[0], hr, n)
	}
	dotsGo(out[n:], win[n:], hr)
}
