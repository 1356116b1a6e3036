package main

import "testing"

// TestMemoryLimit checks what --memory-limit asks of the runtime.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flag    int
		want    int64
		ok, err bool
	}{
		{name: "default: the runtime's own", flag: 0},
		{name: "explicit MiB", flag: 48, want: 48 << 20, ok: true},
		{name: "one MiB", flag: 1, want: 1 << 20, ok: true},
		{name: "1 TiB", flag: 1 << 20, want: 1 << 40, ok: true},
		{name: "negative", flag: -1, err: true},
		{name: "absurd", flag: 1<<20 + 1, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := memoryLimit(tc.flag)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if got != tc.want || ok != tc.ok {
				t.Fatalf("memoryLimit(%d) = %d, %v; want %d, %v", tc.flag, got, ok, tc.want, tc.ok)
			}
		})
	}
}
