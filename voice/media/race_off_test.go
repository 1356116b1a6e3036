//go:build !race

package media

// raceDetector: this test binary runs under the race detector, under
// which sync.Pool drops what is put in it, so a pooled path allocates.
const raceDetector = false
