package status

import "sync"

// Bucket bounds of the finished calls' quality histograms (upper bounds,
// inclusive; a last, unbounded bucket follows each list).
var (
	// MOSBounds are the MOS histogram's bounds (E-model, 1..4.5).
	MOSBounds = []float64{1, 1.5, 2, 2.5, 3, 3.5, 4, 4.3}
	// LossBounds are the packet loss histogram's bounds, as a ratio.
	LossBounds = []float64{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2}
	// JitterBounds are the jitter histogram's bounds, in seconds.
	JitterBounds = []float64{0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2}
)

// Histogram counts observations into buckets by upper bound.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending.
	Bounds []float64
	// Counts has one count per bound and a last one above them all (not
	// cumulative).
	Counts []uint64
	// Sum is the sum of all observations; Count their number.
	Sum   float64
	Count uint64
}

func newHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)+1)}
}

func (h *Histogram) observe(v float64) {
	i := 0
	for i < len(h.Bounds) && v > h.Bounds[i] {
		i++
	}
	h.Counts[i]++
	h.Sum += v
	h.Count++
}

func (h Histogram) clone() Histogram {
	h.Counts = append([]uint64(nil), h.Counts...)
	return h
}

// CallQuality keeps histograms of the MOS, packet loss and jitter of
// every finished call with media, for /metrics. It outlives the gateways
// a configuration change replaces; safe from any goroutine. The zero
// value is not usable: call NewCallQuality.
type CallQuality struct {
	mu                sync.Mutex
	mos, loss, jitter Histogram
}

// CallQualitySnapshot is a copy of the histograms.
type CallQualitySnapshot struct {
	// MOS, Loss (ratio) and Jitter (seconds) of the finished calls.
	MOS, Loss, Jitter Histogram
}

// NewCallQuality makes empty histograms.
func NewCallQuality() *CallQuality {
	return &CallQuality{mos: newHistogram(MOSBounds), loss: newHistogram(LossBounds), jitter: newHistogram(JitterBounds)}
}

// Observe records one finished call. A call that received no RTP has no
// MOS, loss or jitter to speak of and is left out; q may be nil.
func (q *CallQuality) Observe(cs CallStats) {
	if q == nil || cs.PacketsReceived == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.mos.observe(cs.MOS)
	q.loss.observe(cs.LossPercent / 100)
	q.jitter.observe(cs.JitterMS / 1000)
}

// Snapshot returns a copy of the histograms.
func (q *CallQuality) Snapshot() CallQualitySnapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	return CallQualitySnapshot{MOS: q.mos.clone(), Loss: q.loss.clone(), Jitter: q.jitter.clone()}
}
