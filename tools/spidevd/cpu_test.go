package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadCPU(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\n")
	write("98/stat", "98 (loopstart) S 1 98 98 0 -1 4194560 100 0 0 0 40 20 0 0 -11 0 12 0 900 0 0\n")
	write("99/stat", "99 (loopstart) S 1 99 99 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 12 0 900 0 0\n")
	write("70/stat", "70 (spidev d) R 1 70 70 0 -1 4194560 100 0 0 0 5 5 0 0 20 0 3 0 400 0 0\n")
	c, err := readCPU(root)
	if err != nil {
		t.Fatal(err)
	}
	if c.Total != 1000 || c.Idle != 850 || c.Procs["loopstart"] != 63 || c.Procs["spidev d"] != 10 {
		t.Errorf("got %+v", c)
	}
	write("stat", "intr 1\n")
	if _, err := readCPU(root); err == nil {
		t.Error("a stat without its cpu line parsed")
	}
}
