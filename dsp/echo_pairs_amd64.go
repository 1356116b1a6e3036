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
