package line

import (
	"runtime"
	"testing"
)

// TestNewFXSMemory: a port holds no caller-ID audio until it sends caller
// ID (the 4 s buffer made up front cost 64 KB a port, 2 MiB at 32), and
// the whole line stays small.
func TestNewFXSMemory(t *testing.T) {
	for _, country := range []string{"us", "uk", "de"} {
		t.Run(country, func(t *testing.T) {
			cfg := Config{Profile: profile(t, country)}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			const n = 8
			lines := make([]*FXS, n)
			for i := range lines {
				l, err := NewFXS(i+1, &fakePort{}, cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				lines[i] = l
			}
			runtime.ReadMemStats(&after)
			per := (after.TotalAlloc - before.TotalAlloc) / n
			t.Logf("%s: NewFXS allocates %d bytes", country, per)
			if cap(lines[0].cid.audio) != 0 {
				t.Errorf("caller-ID audio of %d samples made up front", cap(lines[0].cid.audio))
			}
			if per > 16<<10 {
				t.Errorf("NewFXS allocates %d bytes per port, want ≤ 16 KiB", per)
			}
			runtime.KeepAlive(lines)
		})
	}
}
