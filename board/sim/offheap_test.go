//go:build unix

package sim

import (
	"runtime"
	"testing"
	"time"
)

// TestRecordingOffHeap: a recording's storage is outside the Go heap (the
// heap grows by far less than the storage), and is unmapped once the
// recording is gone.
func TestRecordingOffHeap(t *testing.T) {
	const phones = 8
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	live := func() int64 { return mapped.Load() - unmapped.Load() }
	settle := func(want int64) int64 {
		// Cleanups run after a collection finds their mapping unreachable.
		for deadline := time.Now().Add(10 * time.Second); live() > want && time.Now().Before(deadline); {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		return live()
	}
	base := settle(0)
	recs := make([]*recording, phones)
	tone := make([]int16, 80)
	for i := range tone {
		tone[i] = int16(1000 * (i%7 - 3)) // not all µ-law values: odd blocks too
	}
	for i := range recs {
		r := newRecording(historySamples)
		recs[i] = &r
		for range 200 {
			r.write(tone)
		}
		if !r.held() {
			t.Fatal("a recording that heard sound holds nothing")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	storage := phones * historySamples // at least a byte a sample
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > int64(storage/8) {
		t.Fatalf("the heap grew %d bytes for %d bytes of recordings: they are on the heap", grew, storage)
	}
	if got := recs[0].last(160); got[0] != tone[0] || got[159] != tone[79] {
		t.Fatalf("read back %v…", got[:4])
	}
	// Each holds two mappings at least (codes and block slots, or wide
	// samples and odd marks); what the forms it left behind held is let go.
	runtime.GC()
	if held := live(); held < base+2*phones {
		t.Fatalf("%d mappings held by %d recordings: their storage is not mapped", held-base, phones)
	}
	runtime.KeepAlive(recs)
	recs = nil
	if left := settle(base); left != base {
		t.Fatalf("%d mappings left after the recordings were dropped", left-base)
	}
}
