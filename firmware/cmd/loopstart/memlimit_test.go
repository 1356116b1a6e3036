package main

import "testing"

// TestMemoryLimit checks how --memory-limit, GOMEMLIMIT and the board's
// size decide the runtime's soft memory limit.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flag    int
		env     string
		ports   int
		want    int64
		ok, err bool
	}{
		{name: "default, 2+1 board", ports: 3, want: 27 << 20, ok: true},
		{name: "default, 1 port", ports: 1, want: 25 << 20, ok: true},
		{name: "default, 32 ports", ports: 32, want: 56 << 20, ok: true},
		{name: "GOMEMLIMIT set: the runtime's", env: "40MiB", ports: 3},
		{name: "explicit MiB", flag: 48, ports: 3, want: 48 << 20, ok: true},
		{name: "explicit wins over GOMEMLIMIT", flag: 48, env: "40MiB", ports: 3, want: 48 << 20, ok: true},
		{name: "none", flag: -1, ports: 3},
		{name: "negative", flag: -2, ports: 3, err: true},
		{name: "absurd", flag: 1<<20 + 1, ports: 3, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := memoryLimit(tc.flag, tc.env, tc.ports)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if got != tc.want || ok != tc.ok {
				t.Fatalf("memoryLimit(%d, %q, %d) = %d, %v; want %d, %v", tc.flag, tc.env, tc.ports, got, ok, tc.want, tc.ok)
			}
		})
	}
}
