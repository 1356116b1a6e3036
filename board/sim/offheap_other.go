//go:build !unix

package sim

// mapAnon is not available here: recordings live on the heap.
func mapAnon(int) ([]byte, bool) { return nil, false }

func unmapAnon([]byte) {}
