package dsp

import (
	"math"
	"unsafe"
)

// A 128-point real FFT (through a 64-point complex FFT), float32, fixed
// tables, no allocation: the transform under the echo canceller's
// partitioned-block frequency-domain filter.

const (
	fftN    = 128         // real transform length
	fftHalf = fftN / 2    // complex transform length
	fftBins = fftHalf + 1 // bins 0..N/2 of a real signal's spectrum
)

var (
	// Radix-4 twiddles of the two stages that need them: for butterfly k
	// of a stage of size s, e^{-2πi·mk/s} for m = 1, 2, 3 (forward) and
	// their conjugates (inverse).
	fftTw16, fftTw16Inv [4][3]complex64
	fftTw64, fftTw64Inv [16][3]complex64
	// The same by m, then k (fftTw16P[m-1][k] is fftTw16[k][m-1]): a
	// stage's twiddles for consecutive butterflies side by side, as the
	// amd64 kernel loads them in pairs.
	fftTw16P, fftTw16PInv [3][4]complex64
	fftTw64P, fftTw64PInv [3][16]complex64
	fftRTw                [fftHalf/2 + 1]complex64 // e^{-2πik/fftN}, k ≤ fftHalf/2
	fftRev4               [fftHalf]uint8           // base-4 digit reversal of 3 digits
)

func init() {
	tw := func(fw, inv [][3]complex64, s int) {
		for k := range fw {
			for m := 1; m <= 3; m++ {
				sn, c := math.Sincos(-2 * math.Pi * float64(m*k) / float64(s))
				fw[k][m-1] = complex(float32(c), float32(sn))
				inv[k][m-1] = complex(float32(c), -float32(sn))
			}
		}
	}
	tw(fftTw16[:], fftTw16Inv[:], 16)
	tw(fftTw64[:], fftTw64Inv[:], 64)
	for m := range 3 {
		for k := range 4 {
			fftTw16P[m][k], fftTw16PInv[m][k] = fftTw16[k][m], fftTw16Inv[k][m]
		}
		for k := range 16 {
			fftTw64P[m][k], fftTw64PInv[m][k] = fftTw64[k][m], fftTw64Inv[k][m]
		}
	}
	for k := range fftRTw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / fftN)
		fftRTw[k] = complex(float32(c), float32(s))
	}
	for i := range fftRev4 {
		fftRev4[i] = uint8(i>>4 | i&12 | (i&3)<<4)
	}
}

// cfft transforms z in place: forward (e^{-i…}) or, with inv, backward
// without the 1/N scale. z holds its input in base-4 digit-reversed order
// (z[fftRev4[n]] is sample n) and gets the spectrum in natural order:
// radix-4 decimation in time, three stages, the first without twiddles.
// The inverse is the forward transform with conjugated twiddles and the
// outputs q = 1 and 3 of every butterfly exchanged.
func cfft(z *[fftHalf]complex64, inv bool) {
	o1, o3 := 1, 3
	if inv {
		o1, o3 = 3, 1
	}
	for i := 0; i < fftHalf; i += 4 {
		q := z[i : i+4 : i+4]
		b0, b1, b2, b3 := q[0], q[1], q[2], q[3]
		s02, d02 := b0+b2, b0-b2
		s13, d13 := b1+b3, b1-b3
		t := complex(imag(d13), -real(d13)) // −i·(b1 − b3)
		q[0], q[2] = s02+s13, s02-s13
		q[o1], q[o3] = d02+t, d02-t
	}
	cfft23(z, inv)
}

// cfft23 runs cfft's second and third stages.
func cfft23(z *[fftHalf]complex64, inv bool) {
	o1, o3 := 1, 3
	tw16, tw64 := &fftTw16, &fftTw64
	tw16p, tw64p := &fftTw16P, &fftTw64P
	if inv {
		o1, o3 = 3, 1
		tw16, tw64 = &fftTw16Inv, &fftTw64Inv
		tw16p, tw64p = &fftTw16PInv, &fftTw64PInv
	}
	for base := 0; base < fftHalf; base += 16 {
		radix4(z[base:base+16:base+16], tw16[:], &tw16p[0][0], o1, o3)
	}
	radix4(z[:], tw64[:], &tw64p[0][0], o1, o3)
}

// radix4Go runs one radix-4 stage over a block of 4·len(tw) values: four
// sub-transforms of a quarter each become one. Butterfly 0's twiddles
// are 1. Outputs 1 and 3 of each butterfly go to quarters o1 and o3.
func radix4Go(z []complex64, tw [][3]complex64, o1, o3 int) {
	n := len(tw)
	a0, a1, a2, a3 := z[:n:n], z[n:2*n:2*n], z[2*n:3*n:3*n], z[3*n:4*n:4*n]
	out := [4][]complex64{a0, a1, a2, a3}
	y1, y3 := out[o1], out[o3]
	a1, a2, a3, y1, y3, tw = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)], y1[:len(a0)], y3[:len(a0)], tw[:len(a0)]
	{
		b0, b1, b2, b3 := a0[0], a1[0], a2[0], a3[0]
		s02, d02 := b0+b2, b0-b2
		s13, d13 := b1+b3, b1-b3
		t := complex(imag(d13), -real(d13))
		a0[0], a2[0] = s02+s13, s02-s13
		y1[0], y3[0] = d02+t, d02-t
	}
	for k := 1; k < len(a0); k++ {
		w := &tw[k]
		b0 := a0[k]
		b1 := cmul(a1[k], w[0])
		b2 := cmul(a2[k], w[1])
		b3 := cmul(a3[k], w[2])
		s02, d02 := b0+b2, b0-b2
		s13, d13 := b1+b3, b1-b3
		t := complex(imag(d13), -real(d13))
		a0[k], a2[k] = s02+s13, s02-s13
		y1[k], y3[k] = d02+t, d02-t
	}
}

// cmul returns a·b.
func cmul(a, b complex64) complex64 {
	return complex(real(a)*real(b)-imag(a)*imag(b), real(a)*imag(b)+imag(a)*real(b))
}

// rfft returns in out the bins 0..fftN/2 of the DFT of the fftN real
// samples in x (unnormalised). tmp is scratch.
func rfft(out *[fftBins]complex64, x *[fftN]float32, tmp *[fftHalf]complex64) {
	// The samples packed in pairs (even real, odd imaginary) and the first
	// radix-4 stage in one pass: group j takes the pairs c, c+16, c+32 and
	// c+48, c the digit reversal of 4j.
	for j := 0; j < fftHalf; j += 4 {
		c := 2 * int(fftRev4[j]&15)
		b0 := complex(x[c], x[c+1])
		b1 := complex(x[c+32], x[c+33])
		b2 := complex(x[c+64], x[c+65])
		b3 := complex(x[c+96], x[c+97])
		s02, d02 := b0+b2, b0-b2
		s13, d13 := b1+b3, b1-b3
		t := complex(imag(d13), -real(d13))
		q := tmp[j : j+4 : j+4]
		q[0], q[1], q[2], q[3] = s02+s13, d02+t, s02-s13, d02-t
	}
	cfft23(tmp, false)
	rfftPost(out, tmp)
}

// rfftPost forms the real signal's spectrum from the complex transform of
// its even (real part) and odd (imaginary part) samples: bins k and
// fftHalf−k together from tmp[k] and tmp[fftHalf−k].
func rfftPost(out *[fftBins]complex64, tmp *[fftHalf]complex64) {
	z0 := tmp[0]
	out[0] = complex(real(z0)+imag(z0), 0)
	out[fftHalf] = complex(real(z0)-imag(z0), 0)
	for k := 1; k <= fftHalf/2; k++ {
		a, b := tmp[k], tmp[fftHalf-k]
		// xe = (a + b̄)/2, xo = (a − b̄)/2i; bin k is xe + W^k·xo and bin
		// fftHalf−k the conjugate of xe − W^k·xo.
		er, ei := 0.5*(real(a)+real(b)), 0.5*(imag(a)-imag(b))
		or, oi := 0.5*(imag(a)+imag(b)), 0.5*(real(b)-real(a))
		w := fftRTw[k]
		tr, ti := real(w)*or-imag(w)*oi, real(w)*oi+imag(w)*or
		out[k] = complex(er+tr, ei+ti)
		out[fftHalf-k] = complex(er-tr, ti-ei)
	}
}

// irfft returns in x the fftN real samples whose spectrum bins
// 0..fftN/2 are in in (the inverse of rfft, scaled by 1/fftN). tmp is
// scratch.
func irfft(x *[fftN]float32, in *[fftBins]complex64, tmp *[fftHalf]complex64) {
	// The 1/fftN scale and the halves of xe and xo in one factor.
	const h = 0.5 / fftHalf
	{
		a, b := in[0], in[fftHalf]
		er, ei := h*(real(a)+real(b)), h*(imag(a)-imag(b))
		or, oi := h*(real(a)-real(b)), h*(imag(a)+imag(b))
		tmp[0] = complex(er-oi, ei+or) // xe + i·xo
	}
	for k := 1; k <= fftHalf/2; k++ {
		a, b := in[k], in[fftHalf-k]
		// xe = (a + b̄)/2, xo = (a − b̄)/2 · conj(W^k); z[k] = xe + i·xo and
		// z[fftHalf−k] = conj(xe) + i·conj(xo).
		er, ei := h*(real(a)+real(b)), h*(imag(a)-imag(b))
		dr, di := h*(real(a)-real(b)), h*(imag(a)+imag(b))
		w := fftRTw[k]
		or, oi := dr*real(w)+di*imag(w), di*real(w)-dr*imag(w)
		tmp[fftRev4[k]&(fftHalf-1)] = complex(er-oi, ei+or)
		tmp[fftRev4[fftHalf-k]&(fftHalf-1)] = complex(er+oi, or-ei)
	}
	cfft(tmp, true)
	// Sample 2n is tmp[n]'s real part and 2n+1 its imaginary part: the
	// layout of a complex64 in memory, so one copy (a loop over the 64
	// values took a fifth of irfft's own time).
	*(*[fftHalf]complex64)(unsafe.Pointer(x)) = *tmp
}
