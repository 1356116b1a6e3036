package media

import (
	"math"
	"testing"
	"time"
)

func TestEModelMOS(t *testing.T) {
	tests := []struct {
		delay time.Duration
		loss  float64
		want  float64
	}{
		{0, 0, 4.41},                       // R = 93.2
		{50 * time.Millisecond, 0, 4.38},   // R = 92.0
		{300 * time.Millisecond, 0, 3.71},  // Id = 7.2 + 13.5, R = 72.5
		{50 * time.Millisecond, 5, 3.87},   // Ie,eff = 15.78, R = 76.2
		{50 * time.Millisecond, 100, 1.15}, // Ie,eff = 75.9, R = 16.1
	}
	for _, tt := range tests {
		got := EModelMOS(tt.delay, tt.loss)
		if math.Abs(got-tt.want) > 0.02 {
			t.Errorf("EModelMOS(%v, %v%%) = %.3f, want %.2f", tt.delay, tt.loss, got, tt.want)
		}
	}
	if EModelMOS(20*time.Millisecond, 1) <= EModelMOS(20*time.Millisecond, 2) {
		t.Error("more loss must not score better")
	}
}
