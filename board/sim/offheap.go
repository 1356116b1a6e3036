package sim

import (
	"runtime"
	"unsafe"
)

// Storage outside the Go heap for the recordings, which are test equipment
// living in the gateway's process. The collector sizes its heap at twice
// what is live (GOGC 100): 8.5 MiB of recordings at 32 ports held another
// 8.5 MiB of headroom in the gateway's RSS. Mapped storage counts once:
// only what is written of it is resident, and the collector neither scans
// it nor lets the heap grow over it. It holds no Go pointers (the element
// types are plain values), so nothing it refers to can be collected under
// it.

// mapping is one region mapped for a slice; its cleanup unmaps it once the
// mapping is unreachable, i.e. once its holder dropped it with the slice.
type mapping struct{ mem []byte }

// makeOff returns a zeroed slice of n Ts outside the Go heap and the
// mapping that keeps it (nil, and the slice on the heap, when the system
// cannot map memory). The holder keeps both and drops both at once: the
// slice does not keep the mapping. T must hold no pointers.
func makeOff[T any](n int) ([]T, *mapping) {
	var zero T
	size := int(unsafe.Sizeof(zero)) * n
	if size == 0 {
		return make([]T, n), nil
	}
	mem, ok := mapAnon(size)
	if !ok {
		return make([]T, n), nil
	}
	m := &mapping{mem: mem}
	runtime.AddCleanup(m, unmapAnon, mem)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n), m
}
