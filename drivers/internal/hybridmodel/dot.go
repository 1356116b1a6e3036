package hybridmodel

// dotsGo is dots in Go: each output a 32-tap dot product over contiguous
// memory, summed newest sample first (j from taps−1 down), from zero.
func dotsGo(out, win []float32, hr *[taps]float32) {
	for i := range out {
		x := (*[taps]float32)(win[i:])
		var acc float32
		for j := taps - 1; j >= 0; j-- {
			acc += hr[j] * x[j]
		}
		out[i] = acc
	}
}
