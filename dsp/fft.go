package dsp

import "math"

// A 128-point real FFT (through a 64-point complex FFT), float32, fixed
// tables, no allocation: the transform under the echo canceller's
// partitioned-block frequency-domain filter.

const (
	fftN    = 128         // real transform length
	fftHalf = fftN / 2    // complex transform length
	fftBins = fftHalf + 1 // bins 0..N/2 of a real signal's spectrum
	fftBits = 6           // log2(fftHalf)
)

var (
	fftTw    [fftHalf / 2]complex64 // e^{-2πik/fftHalf}, k < fftHalf/2
	fftTwInv [fftHalf / 2]complex64 // their conjugates
	fftRTw   [fftHalf + 1]complex64 // e^{-2πik/fftN}, k ≤ fftHalf
	fftBitR  [fftHalf]uint8         // bit reversal of fftBits bits
)

func init() {
	for k := range fftTw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / fftHalf)
		fftTw[k] = complex(float32(c), float32(s))
		fftTwInv[k] = complex(float32(c), -float32(s))
	}
	for k := range fftRTw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / fftN)
		fftRTw[k] = complex(float32(c), float32(s))
	}
	for i := range fftBitR {
		r := 0
		for b := range fftBits {
			if i&(1<<b) != 0 {
				r |= 1 << (fftBits - 1 - b)
			}
		}
		fftBitR[i] = uint8(r)
	}
}

// cfft transforms z in place: forward (e^{-i…}) or, with inv, backward
// without the 1/N scale. Radix-2 decimation in time; the first two stages
// are done together without multiplications.
func cfft(z *[fftHalf]complex64, inv bool) {
	tw := &fftTw
	if inv {
		tw = &fftTwInv
	}
	for i := range fftHalf {
		if j := int(fftBitR[i]); j > i {
			z[i], z[j] = z[j], z[i]
		}
	}
	// Stages 1 and 2: radix-4 butterflies with twiddles 1 and ∓i.
	for i := 0; i < fftHalf; i += 4 {
		q := z[i : i+4 : i+4]
		b0, b1 := q[0]+q[1], q[0]-q[1]
		b2, b3 := q[2]+q[3], q[2]-q[3]
		var t complex64
		if inv {
			t = complex(-imag(b3), real(b3)) // +i·b3
		} else {
			t = complex(imag(b3), -real(b3)) // −i·b3
		}
		q[0], q[2] = b0+b2, b0-b2
		q[1], q[3] = b1+t, b1-t
	}
	for size := 8; size <= fftHalf; size <<= 1 {
		half := size >> 1
		step := fftHalf / size
		for start := 0; start < fftHalf; start += size {
			lo := z[start : start+half : start+half]
			hi := z[start+half : start+size : start+size]
			for k := range lo {
				w := tw[k*step]
				b := hi[k]
				t := complex(real(w)*real(b)-imag(w)*imag(b), real(w)*imag(b)+imag(w)*real(b))
				a := lo[k]
				lo[k], hi[k] = a+t, a-t
			}
		}
	}
}

// rfft returns in out the bins 0..fftN/2 of the DFT of the fftN real
// samples in x (unnormalised). tmp is scratch.
func rfft(out *[fftBins]complex64, x *[fftN]float32, tmp *[fftHalf]complex64) {
	for n := range fftHalf {
		tmp[n] = complex(x[2*n], x[2*n+1])
	}
	cfft(tmp, false)
	z0 := tmp[0]
	out[0] = complex(real(z0)+imag(z0), 0)
	out[fftHalf] = complex(real(z0)-imag(z0), 0)
	for k := 1; k < fftHalf; k++ {
		a, b := tmp[k], tmp[fftHalf-k]
		bc := complex(real(b), -imag(b))
		xe := (a + bc) * 0.5
		d := (a - bc) * 0.5
		xo := complex(imag(d), -real(d)) // d / i
		out[k] = xe + fftRTw[k]*xo
	}
}

// irfft returns in x the fftN real samples whose spectrum bins
// 0..fftN/2 are in in (the inverse of rfft, scaled by 1/fftN). tmp is
// scratch.
func irfft(x *[fftN]float32, in *[fftBins]complex64, tmp *[fftHalf]complex64) {
	for k := range fftHalf {
		a, b := in[k], in[fftHalf-k]
		bc := complex(real(b), -imag(b))
		xe := (a + bc) * 0.5
		w := fftRTw[k]
		xo := (a - bc) * 0.5 * complex(real(w), -imag(w))
		tmp[k] = xe + complex(-imag(xo), real(xo)) // xe + i·xo
	}
	cfft(tmp, true)
	const s = 1.0 / fftHalf
	for n := range fftHalf {
		x[2*n] = real(tmp[n]) * s
		x[2*n+1] = imag(tmp[n]) * s
	}
}
