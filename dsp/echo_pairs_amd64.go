package dsp

// filterPart is filterPartGo with bins 0..fftHalf−1 in SSE
// (filterPartPairs, echo_pairs_amd64.s): the same products and sums in the
// same order, so the same bits (TestFilterPart). SSE2 is in every amd64.
func filterPart(accF, accB, x, wf, wb *[fftBins]complex64) {
	filterPartPairs(accF, accB, x, wf, wb)
	const k = fftHalf
	xr, xi := real(x[k]), imag(x[k])
	f, b := wf[k], wb[k]
	accF[k] += complex(real(f)*xr-imag(f)*xi, real(f)*xi+imag(f)*xr)
	accB[k] += complex(real(b)*xr-imag(b)*xi, real(b)*xi+imag(b)*xr)
}

// filterPartPairs is filterPartGo for bins 0..fftHalf−1, two at a time.
//
//go:noescape
func filterPartPairs(accF, accB, x, wf, wb *[fftBins]complex64)

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

// specEnergy is specEnergyGo with bins 0..fftHalf−1 in SSE
// (specEnergyPairs): the same sums in the same order, so the same bits
// (TestSpecEnergy).
func specEnergy(w *[fftBins]complex64) float32 { return specEnergyPairs(w) + lastBinEnergy(w) }

// specEnergyPairs is specEnergyGo's sum over bins 0..fftHalf−1.
//
//go:noescape
func specEnergyPairs(w *[fftBins]complex64) float32

// addScaled is addScaledGo with bins 0..fftHalf−1 in SSE (addScaledPairs):
// the same product and sum per bin, so the same bits (TestAddScaled).
func addScaled(dst, src *[fftBins]float32, g float32) {
	addScaledPairs(dst, src, g)
	dst[fftHalf] += g * src[fftHalf]
}

// addScaledPairs is addScaledGo for bins 0..fftHalf−1, four at a time.
//
//go:noescape
func addScaledPairs(dst, src *[fftBins]float32, gain float32)
