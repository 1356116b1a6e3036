//go:build !amd64

package dsp

// filterPart is filterPartGo where there is no kernel of the
// architecture's own.
func filterPart(accF, accB, x, wf, wb *[fftBins]complex64) { filterPartGo(accF, accB, x, wf, wb) }

// gradientPairs is gradientPairsGo where there is no kernel of the
// architecture's own.
func gradientPairs(w, x, E *[fftBins]complex64, g float32) { gradientPairsGo(w, x, E, g) }

// radix4 is radix4Go where there is no kernel of the architecture's own
// (twp, the twiddles by m then k, is for those kernels).
func radix4(z []complex64, tw [][3]complex64, twp *complex64, o1, o3 int) {
	radix4Go(z, tw, o1, o3)
}

// specEnergy is specEnergyGo where there is no kernel of the
// architecture's own.
func specEnergy(w *[fftBins]complex64) float32 { return specEnergyGo(w) }

// addScaled is addScaledGo where there is no kernel of the architecture's
// own.
func addScaled(dst, src *[fftBins]float32, g float32) { addScaledGo(dst, src, g) }
