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

// specEnergyGo returns Σ_k |w(k)|², summed as the amd64 kernel sums it
// (the same bits): bins 0..fftHalf−1 into two sets of four lanes (real and
// imaginary parts of a pair of bins), pairs of bins taking turns; then the
// two sets lane by lane, the lanes as (l0 + l1) + (l2 + l3), and the last
// bin. Independent sums, where one running sum waited on its previous add
// at every bin: this ran at 13 % of the canceller's time.
func specEnergyGo(w *[fftBins]complex64) float32 {
	var a, b [4]float32
	for k := 0; k < fftHalf; k += 4 {
		a[0] += real(w[k]) * real(w[k])
		a[1] += imag(w[k]) * imag(w[k])
		a[2] += real(w[k+1]) * real(w[k+1])
		a[3] += imag(w[k+1]) * imag(w[k+1])
		b[0] += real(w[k+2]) * real(w[k+2])
		b[1] += imag(w[k+2]) * imag(w[k+2])
		b[2] += real(w[k+3]) * real(w[k+3])
		b[3] += imag(w[k+3]) * imag(w[k+3])
	}
	for i := range a {
		a[i] += b[i]
	}
	return (a[0] + a[1]) + (a[2] + a[3]) + lastBinEnergy(w)
}

// lastBinEnergy returns |w(fftHalf)|², the bin the kernels leave out.
func lastBinEnergy(w *[fftBins]complex64) float32 {
	v := w[fftHalf]
	return real(v)*real(v) + imag(v)*imag(v)
}

// addScaledGo adds g·src to dst, bin by bin.
func addScaledGo(dst, src *[fftBins]float32, g float32) {
	for k := range fftBins {
		dst[k] += g * src[k]
	}
}
