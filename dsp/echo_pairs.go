package dsp

// filterPartGo adds one partition's products to both filters' sums:
// accF[k] += wf[k]·x[k] and accB[k] += wb[k]·x[k], for every bin. The
// complex products are written out (Go's complex64 product compiles to
// slower code), in the order the amd64 kernel computes them: the same
// bits.
func filterPartGo(accF, accB, x, wf, wb *[fftBins]complex64) {
	for k := range fftBins {
		xr, xi := real(x[k]), imag(x[k])
		f, b := wf[k], wb[k]
		accF[k] += complex(real(f)*xr-imag(f)*xi, real(f)*xi+imag(f)*xr)
		accB[k] += complex(real(b)*xr-imag(b)*xi, real(b)*xi+imag(b)*xr)
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
