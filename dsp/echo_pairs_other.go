//go:build !amd64

package dsp

// filterPairs is filterPairsGo where there is no kernel of the
// architecture's own.
func filterPairs(accF, accB *[fftBins]complex64, xs *[ecParts]*[fftBins]complex64, wf, wb *[fftBins]complex64, parts int) {
	filterPairsGo(accF, accB, xs, wf, wb, parts)
}

// gradientPairs is gradientPairsGo where there is no kernel of the
// architecture's own.
func gradientPairs(w, x, E *[fftBins]complex64, g float32) { gradientPairsGo(w, x, E, g) }
