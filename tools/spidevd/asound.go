package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// readASound returns the state of every PCM substream of the guest's
// sound cards (proc is the proc file system's root, "/proc"): for each
// /proc/asound/cardC/pcmDX/subN, its status (state, owner, hardware and
// application pointers) and hardware parameters, one file after another
// under its path; a closed substream reads "closed". For a call whose audio
// stops in one direction: which substreams of the loopback the gateway
// and the models hold, and whether they run.
func readASound(proc string) (string, error) {
	subs, err := filepath.Glob(filepath.Join(proc, "asound", "card*", "pcm*", "sub*"))
	if err != nil {
		return "", err
	}
	if len(subs) == 0 {
		return "", fmt.Errorf("no PCM substreams under %s", filepath.Join(proc, "asound"))
	}
	var b strings.Builder
	for _, sub := range subs {
		for _, f := range []string{"status", "hw_params"} {
			p := filepath.Join(sub, f)
			data, err := os.ReadFile(p)
			if err != nil {
				continue // a substream without the file (older kernels)
			}
			rel, _ := filepath.Rel(proc, p)
			fmt.Fprintf(&b, "== %s\n%s", rel, data)
			if len(data) > 0 && data[len(data)-1] != '\n' {
				b.WriteByte('\n')
			}
		}
	}
	return b.String(), nil
}
