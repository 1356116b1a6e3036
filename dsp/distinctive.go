package dsp

import "time"

// DistinctiveRing returns the ring cadence (on, off, ... durations) of a
// Telcordia GR-506 distinctive ringing pattern, the Bellcore-dr1 … dr5 an
// Alert-Info header names: 2 long-long (0.8 s on, 0.4 off, 0.8 on, 4 off),
// 3 short-short-long (0.4, 0.2, 0.4, 0.2, 0.8, 4), 4 short-long-short
// (0.3, 0.2, 1, 0.2, 0.3, 4), 5 a ring splash (0.5 s once: the off step
// lasts an hour). Pattern 1 is normal ringing and any other number none:
// both give nil, meaning the country's own cadence. The result is a fresh
// slice.
func DistinctiveRing(pattern int) []time.Duration {
	switch pattern {
	case 2:
		return ms(800, 400, 800, 4000)
	case 3:
		return ms(400, 200, 400, 200, 800, 4000)
	case 4:
		return ms(300, 200, 1000, 200, 300, 4000)
	case 5:
		return ms(500, 3600000)
	}
	return nil
}
