package system

import (
	"strings"
	"testing"
)

const meminfo64 = `MemTotal:          56924 kB
MemFree:           17312 kB
MemAvailable:      21544 kB
Buffers:               0 kB
Cached:            19064 kB
`

func TestParseMemInfo(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     MemInfo
		err      string
	}{
		{"64 MiB guest", meminfo64, MemInfo{Total: 56924, Free: 17312, Available: 21544}, ""},
		{"order and other fields", "Cached: 1 kB\nMemAvailable: 3 kB\nMemFree: 2 kB\nMemTotal: 9 kB\n", MemInfo{Total: 9, Free: 2, Available: 3}, ""},
		{"no MemAvailable (old kernel)", "MemTotal: 9 kB\nMemFree: 2 kB\n", MemInfo{}, "no MemAvailable"},
		{"not a number", "MemTotal: x kB\nMemFree: 2 kB\nMemAvailable: 3 kB\n", MemInfo{}, "is not a size"},
		{"negative", "MemTotal: -1 kB\nMemFree: 2 kB\nMemAvailable: 3 kB\n", MemInfo{}, "is not a size"},
		{"other unit", "MemTotal: 1 MB\nMemFree: 2 kB\nMemAvailable: 3 kB\n", MemInfo{}, "unexpected"},
		{"empty", "", MemInfo{}, "no Mem"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseMemInfo(strings.NewReader(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
}

func FuzzParseMemInfo(f *testing.F) {
	f.Add(meminfo64)
	f.Add("MemTotal: 1\nMemFree: 0 kB\nMemAvailable: 0 kB")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMemInfo(strings.NewReader(s))
		if err == nil && (m.Total < 0 || m.Free < 0 || m.Available < 0) {
			t.Fatalf("negative sizes accepted: %+v", m)
		}
	})
}
