package status

import (
	"slices"
	"testing"
)

func TestCallQuality(t *testing.T) {
	q := NewCallQuality()
	for _, cs := range []CallStats{
		{PacketsReceived: 100, MOS: 4.4, LossPercent: 0, JitterMS: 0.5},
		{PacketsReceived: 100, MOS: 3.2, LossPercent: 3, JitterMS: 25},
		{PacketsReceived: 100, MOS: 1, LossPercent: 50, JitterMS: 400},
		{PacketsReceived: 0, MOS: 0}, // no media: left out
	} {
		q.Observe(cs)
	}
	var none *CallQuality
	none.Observe(CallStats{PacketsReceived: 1})
	s := q.Snapshot()
	for _, tc := range []struct {
		name string
		h    Histogram
		want []uint64
		sum  float64
	}{
		{"mos", s.MOS, []uint64{1, 0, 0, 0, 0, 1, 0, 0, 1}, 8.6},
		{"loss", s.Loss, []uint64{1, 0, 0, 0, 0, 1, 0, 0, 1}, 0.53},
		{"jitter", s.Jitter, []uint64{1, 0, 0, 0, 1, 0, 0, 0, 1}, 0.4255},
	} {
		if !slices.Equal(tc.h.Counts, tc.want) || tc.h.Count != 3 || tc.h.Sum < tc.sum-1e-9 || tc.h.Sum > tc.sum+1e-9 {
			t.Errorf("%s: counts %v sum %v count %d, want %v %v 3", tc.name, tc.h.Counts, tc.h.Sum, tc.h.Count, tc.want, tc.sum)
		}
	}
	// The snapshot is a copy.
	s.MOS.Counts[0] = 99
	if q.Snapshot().MOS.Counts[0] != 1 {
		t.Error("snapshot shares its counts")
	}
}
