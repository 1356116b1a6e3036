//go:build !amd64

package hybridmodel

// dots sets out[i] to Σ hr[j]·win[i+j], j from taps−1 down to 0, for
// every i of out; win holds len(out)+taps−1 samples.
func dots(out, win []float32, hr *[taps]float32) { dotsGo(out, win, hr) }
