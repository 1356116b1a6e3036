package media

import (
	"fmt"
	"math"
)

// MinGainDB and MaxGainDB bound Session.TXGainDB and RXGainDB.
const (
	MinGainDB = -12.0
	MaxGainDB = 12.0
)

// gainOne is unity in the Q12 gain format.
const gainOne = 1 << 12

// gain is a fixed gain in Q12 (gainOne is 0 dB).
type gain int32

// newGain returns the gain for db, clamped to MinGainDB..MaxGainDB (NaN is
// 0 dB).
func newGain(db float64) gain {
	if math.IsNaN(db) {
		return gainOne
	}
	db = min(max(db, MinGainDB), MaxGainDB)
	return gain(math.Round(gainOne * math.Pow(10, db/20)))
}

// CheckGain reports whether db is a usable Session gain.
func CheckGain(db float64) error {
	if math.IsNaN(db) || db < MinGainDB || db > MaxGainDB {
		return fmt.Errorf("gain %v dB is out of range %v..%v", db, MinGainDB, MaxGainDB)
	}
	return nil
}

// apply scales x in place, saturating. Unity leaves x as it is.
func (g gain) apply(x []int16) {
	if g == gainOne {
		return
	}
	for i, v := range x {
		y := (int32(v)*int32(g) + gainOne/2) >> 12
		x[i] = int16(min(max(y, math.MinInt16), math.MaxInt16))
	}
}
