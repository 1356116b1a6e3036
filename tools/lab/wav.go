package lab

import (
	"bytes"
	"fmt"
	"math"
	"os"

	"github.com/loopstart/loopstart/dsp/wav"
)

// ReadWAV reads a 16-bit PCM WAV recording (possibly still being written)
// and returns its first channel and rate.
func ReadWAV(path string) (samples []int16, rate int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	samples, rate, err = wav.ReadFirstChannel(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return samples, rate, nil
}

// WriteToneWAV writes seconds of a sine at hz and dbfs as 8 kHz mono 16-bit WAV.
func WriteToneWAV(path string, hz, dbfs, seconds float64) error {
	n := int(seconds * 8000)
	amp := 32767 * math.Pow(10, dbfs/20)
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(i)/8000))
	}
	var b bytes.Buffer
	if err := wav.Write(&b, x, 8000); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
