package dsp

import "unsafe"

// filterPairsGo is filterPairs in Go: for bins 0..fftHalf−1, accF[k] =
// Σ_p wf_p(k)·X_p(k) and accB[k] = Σ_p wb_p(k)·X_p(k), p from 0 to
// parts−1 in order, each sum from zero. wf and wb point at partition 0
// of parts consecutive partitions; xs holds each partition's reference
// spectrum. The complex products are written out (Go's complex64 product
// compiles to slower code) in the order the amd64 kernel computes them,
// which gives the same bits.
func filterPairsGo(accF, accB *[fftBins]complex64, xs *[ecParts]*[fftBins]complex64, wf, wb *[fftBins]complex64, parts int) {
	wfs := unsafe.Slice(wf, parts)
	wbs := unsafe.Slice(wb, parts)
	x := xs[:parts]
	for k := range fftHalf {
		var fr, fi, br, bi float32
		for p, xp := range x {
			xr, xi := real(xp[k]), imag(xp[k])
			f, b := wfs[p][k], wbs[p][k]
			fr += real(f)*xr - imag(f)*xi
			fi += real(f)*xi + imag(f)*xr
			br += real(b)*xr - imag(b)*xi
			bi += real(b)*xi + imag(b)*xr
		}
		accF[k], accB[k] = complex(fr, fi), complex(br, bi)
	}
}

// gradientPairsGo is gradientPairs in Go: for bins 0..fftHalf−1,
// w[k] += g·conj(X(k))·E(k), written out in the order the amd64 kernel
// computes it (the same bits).
func gradientPairsGo(w, x, E *[fftBins]complex64, g float32) {
	for k := range fftHalf {
		xr, xi := g*real(x[k]), g*imag(x[k])
		er, ei := real(E[k]), imag(E[k])
		w[k] += complex(xr*er+xi*ei, xr*ei-xi*er)
	}
}
