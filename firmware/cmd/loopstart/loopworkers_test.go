package main

import (
	"strings"
	"testing"
)

// TestCheckLoopWorkers checks which --loop-workers values are taken.
func TestCheckLoopWorkers(t *testing.T) {
	for _, tc := range []struct {
		flag int
		err  bool
	}{
		{0, false}, {1, false}, {2, false}, {64, false},
		{-1, true}, {65, true}, {1 << 20, true},
	} {
		err := checkLoopWorkers(tc.flag)
		if (err != nil) != tc.err {
			t.Errorf("checkLoopWorkers(%d) = %v, want error %v", tc.flag, err, tc.err)
		}
		if err != nil && !strings.Contains(err.Error(), "--loop-workers") {
			t.Errorf("checkLoopWorkers(%d) = %q: does not name the flag", tc.flag, err)
		}
	}
}
