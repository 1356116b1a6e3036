package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadASound(t *testing.T) {
	proc := t.TempDir()
	files := map[string]string{
		"asound/card0/pcm0c/sub0/status":    "state: RUNNING\nowner_pid   : 103\nhw_ptr      : 800\nappl_ptr    : 720\n",
		"asound/card0/pcm0c/sub0/hw_params": "access: RW_INTERLEAVED\nchannels: 2",
		"asound/card0/pcm1p/sub1/status":    "closed\n",
		"asound/card0/pcm1p/sub1/hw_params": "closed\n",
		"asound/card0/pcm0p/info":           "not a substream\n",
	}
	for name, body := range files {
		p := filepath.Join(proc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readASound(proc)
	if err != nil {
		t.Fatal(err)
	}
	want := "== asound/card0/pcm0c/sub0/status\nstate: RUNNING\nowner_pid   : 103\nhw_ptr      : 800\nappl_ptr    : 720\n" +
		"== asound/card0/pcm0c/sub0/hw_params\naccess: RW_INTERLEAVED\nchannels: 2\n" +
		"== asound/card0/pcm1p/sub1/status\nclosed\n" +
		"== asound/card0/pcm1p/sub1/hw_params\nclosed\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := readASound(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no PCM substreams") {
		t.Errorf("no sound card: err %v, want no PCM substreams", err)
	}
}
