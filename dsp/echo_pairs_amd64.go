package dsp

// filterPairs is filterPairsGo in SSE (echo_pairs_amd64.s): two bins at a
// time in one register per sum, the same products and sums in the same
// order, so the same bits (TestFilterPairs). SSE2 is in every amd64.
//
//go:noescape
func filterPairs(accF, accB *[fftBins]complex64, xs *[ecParts]*[fftBins]complex64, wf, wb *[fftBins]complex64, parts int)

// gradientPairs is gradientPairsGo in SSE (echo_pairs_amd64.s), two bins
// at a time: the same bits (TestGradientPairs).
//
//go:noescape
func gradientPairs(w, x, E *[fftBins]complex64, gain float32)

// radix4 is radix4Go in SSE (echo_pairs_amd64.s), two butterflies at a
// time: the same bits (TestRadix4Pairs). twp is the stage's twiddles by
// m, then k (fftTw16P, fftTw64P and their inverses).
func radix4(z []complex64, tw [][3]complex64, twp *complex64, o1, o3 int) {
	n := len(tw)
	_ = z[4*n-1]
	radix4Pairs(&z[0], twp, n, o1*n*8, o3*n*8)
}

// radix4Pairs runs a radix-4 stage of 4·n values at z, n even; twp holds
// the 3·n twiddles by m, then k; outputs 1 and 3 of each butterfly go
// y1 and y3 bytes from z's quarter 0.
//
//go:noescape
func radix4Pairs(z, twp *complex64, n, y1, y3 int)
