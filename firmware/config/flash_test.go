package config

import (
	"testing"
	"time"
)

func TestFlashWindow(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi time.Duration
		bad    bool
	}{
		{in: ""},
		{in: "100ms-800ms", lo: 100 * time.Millisecond, hi: 800 * time.Millisecond},
		{in: " 80ms - 1s ", lo: 80 * time.Millisecond, hi: time.Second},
		{in: "800ms-100ms", bad: true},
		{in: "100ms", bad: true},
		{in: "0s-1s", bad: true},
		{in: "100ms-9s", bad: true},
	}
	for _, tt := range tests {
		p := Port{Flash: tt.in}
		lo, hi, err := p.FlashWindow()
		if (err != nil) != tt.bad || lo != tt.lo || hi != tt.hi {
			t.Errorf("FlashWindow(%q) = %v, %v, %v", tt.in, lo, hi, err)
		}
	}
}
