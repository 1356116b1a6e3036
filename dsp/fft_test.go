package dsp

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestRFFTMatchesDFT(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x, y [fftN]float32
	for i := range x {
		x[i] = float32(r.NormFloat64() * 1000)
	}
	var X [fftBins]complex64
	var tmp [fftHalf]complex64
	rfft(&X, &x, &tmp)
	for k := range fftBins {
		var ref complex128
		for n := range fftN {
			ref += complex(float64(x[n]), 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*n)/fftN))
		}
		if d := cmplx.Abs(complex128(X[k]) - ref); d > 1e-4*16000 {
			t.Fatalf("bin %d: %v, want %v", k, X[k], ref)
		}
	}
	irfft(&y, &X, &tmp)
	for n := range fftN {
		if d := math.Abs(float64(y[n] - x[n])); d > 0.05 {
			t.Fatalf("sample %d: %v after round trip, want %v", n, y[n], x[n])
		}
	}
}
