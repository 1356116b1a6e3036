package dsp

import (
	"math"
	"math/rand/v2"
)

// sines returns n samples of the sum of sines with the given frequencies and
// peak amplitudes, starting at phase 0.
func sines(n int, freqs, amps []float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		var v float64
		for k, f := range freqs {
			v += amps[k] * math.Sin(2*math.Pi*f*float64(i)/SampleRate)
		}
		out[i] = saturate(v)
	}
	return out
}

// mulawTrip returns x after a G.711 µ-law encode/decode round trip.
func mulawTrip(x []int16) []int16 {
	b := make([]byte, len(x))
	EncodeMulaw(b, x)
	out := make([]int16, len(x))
	DecodeMulaw(out, b)
	return out
}

// alawTrip returns x after a G.711 A-law encode/decode round trip.
func alawTrip(x []int16) []int16 {
	b := make([]byte, len(x))
	EncodeAlaw(b, x)
	out := make([]int16, len(x))
	DecodeAlaw(out, b)
	return out
}

// noise returns n samples of seeded Gaussian white noise with the given RMS.
func noise(n int, rms float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int16, n)
	for i := range out {
		out[i] = saturate(r.NormFloat64() * rms)
	}
	return out
}

// mix adds b onto a (saturating) and returns a.
func mix(a, b []int16) []int16 {
	for i := range min(len(a), len(b)) {
		a[i] = saturate(float64(a[i]) + float64(b[i]))
	}
	return a
}

// fillInChunks returns n samples of fill, asked for in frames of 80
// samples and, from the middle on, of 37: a generator must carry its
// state across calls of any length.
func fillInChunks(n int, fill func([]int16)) []int16 {
	got := make([]int16, n)
	for i, chunk := 0, 80; i < n; i += chunk {
		if i > n/2 {
			chunk = 37
		}
		fill(got[i:min(i+chunk, n)])
	}
	return got
}
