package media

import "time"

// E-model constants for G.711 with packet loss concealment (ITU-T G.107,
// G.113 Appendix I: Ie = 0, Bpl = 25.1).
const (
	emodelR0  = 93.2
	emodelIe  = 0
	emodelBpl = 25.1
)

// EModelMOS estimates the listening quality of a G.711 call with the
// simplified E-model of ITU-T G.107: R = 93.2 − Id − Ie,eff, where Id
// depends on the mouth-to-ear one-way delay and Ie,eff on the random packet
// loss in percent; the result is mapped to a MOS between 1 and 4.5.
func EModelMOS(oneWay time.Duration, lossPct float64) float64 {
	d := float64(oneWay) / float64(time.Millisecond)
	if d < 0 {
		d = 0
	}
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	lossPct = min(max(lossPct, 0), 100)
	ie := emodelIe + (95-emodelIe)*lossPct/(lossPct+emodelBpl)
	r := emodelR0 - id - ie
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}
