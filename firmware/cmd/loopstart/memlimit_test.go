package main

import "testing"

// TestMemoryLimit checks what --memory-limit asks of the runtime.
func TestMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		flag    int
		ports   int
		env     string
		want    int64
		ok, err bool
	}{
		{name: "default: the 2+1 sim board's", ports: 3, want: 16<<20 + 3*256<<10, ok: true},
		{name: "default: a 32-port board's", ports: 32, want: 24 << 20, ok: true},
		{name: "default: a 1-port ATA's", ports: 1, want: 16<<20 + 256<<10, ok: true},
		{name: "GOMEMLIMIT set: the runtime's", ports: 32, env: "40MiB"},
		{name: "GOMEMLIMIT=off: the runtime's (none)", ports: 32, env: "off"},
		{name: "explicit MiB over GOMEMLIMIT", flag: 48, ports: 2, env: "off", want: 48 << 20, ok: true},
		{name: "one MiB", flag: 1, want: 1 << 20, ok: true},
		{name: "1 TiB", flag: 1 << 20, want: 1 << 40, ok: true},
		{name: "negative", flag: -1, err: true},
		{name: "absurd", flag: 1<<20 + 1, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := memoryLimit(tc.flag, tc.ports, tc.env)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if got != tc.want || ok != tc.ok {
				t.Fatalf("memoryLimit(%d, %d, %q) = %d, %v; want %d, %v", tc.flag, tc.ports, tc.env, got, ok, tc.want, tc.ok)
			}
		})
	}
}
