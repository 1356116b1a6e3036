package dsp

import "math"

// SampleRate is the sampling rate, in Hz, of all signals in this package.
const SampleRate = 8000

// fullScale is the peak amplitude of a full-scale (0 dBFS) sine.
const fullScale = 32767.0

// dBm0Offset is how far, in dB, a 0 dBm0 sine's peak sits below full scale
// (ITU-T G.711: the µ-law "digital milliwatt" convention, +3.17 dBm0 is the
// largest sine the codec carries).
const dBm0Offset = 3.17

// DBm0ToAmplitude returns the peak 16-bit linear amplitude of a sine at the
// given level in dBm0; 0 dBm0 is 32767·10^(−3.17/20) ≈ 22702.
func DBm0ToAmplitude(dbm0 float64) float64 {
	return fullScale * math.Pow(10, (dbm0-dBm0Offset)/20)
}

// DBFSToAmplitude returns the peak 16-bit linear amplitude of a sine at the
// given level in dBFS (a full-scale sine, amplitude 32767, is 0 dBFS).
func DBFSToAmplitude(dbfs float64) float64 {
	return fullScale * math.Pow(10, dbfs/20)
}

// dbfsToDBm0 converts a sine level in dBFS to dBm0.
func dbfsToDBm0(dbfs float64) float64 { return dbfs + dBm0Offset }

// silenceDBFS is the level LevelDBFS reports for digital silence.
const silenceDBFS = -120.0

// LevelDBFS returns the RMS level of samples in dBFS, on the sine scale: a
// full-scale sine is 0 dBFS (20·log10(rms·√2/32767)). Digital silence and an
// empty slice give −120; no result is below −120.
func LevelDBFS(samples []int16) float64 {
	if len(samples) == 0 {
		return silenceDBFS
	}
	var sum float64
	for _, s := range samples {
		v := float64(s)
		sum += v * v
	}
	if sum == 0 {
		return silenceDBFS
	}
	rms := math.Sqrt(sum / float64(len(samples)))
	return max(20*math.Log10(rms*math.Sqrt2/fullScale), silenceDBFS)
}

// saturate clamps v to the int16 range, rounding to nearest; NaN gives 0.
func saturate(v float64) int16 {
	if v != v {
		return 0
	}
	if v >= 32767 {
		return 32767
	}
	if v <= -32768 {
		return -32768
	}
	return int16(math.Round(v))
}
