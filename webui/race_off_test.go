//go:build !race

package webui

// raceDetector: this test binary runs under the race detector, whose
// shadow memory makes RSS figures meaningless.
const raceDetector = false
