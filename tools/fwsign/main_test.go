package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	name := filepath.Join(dir, "k")
	var out bytes.Buffer
	if err := run([]string{"keygen", "-o", name}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(name + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if err := run([]string{"keygen", "-o", name}, &out, &out, now); err == nil {
		t.Fatal("keygen overwrote a key")
	}
	pl := filepath.Join(dir, "payload")
	os.WriteFile(pl, []byte("a firmware payload"), 0o644)
	img := filepath.Join(dir, "fw.img")
	if err := run([]string{"sign", "-key", name + ".key", "-version", "1.2.3", "-target", "sim/amd64", "-o", img, pl}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run([]string{"verify", "-pub", name + ".pub", "-target", "sim/amd64", img}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"version": "1.2.3"`) {
		t.Errorf("verify printed %s", out.String())
	}
	cases := []struct {
		name string
		args []string
	}{
		{"wrong target", []string{"verify", "-pub", name + ".pub", "-target", "qemu/arm64", img}},
		{"other key", []string{"verify", "-pub", "../../firmware/update/testdata/test.pub", img}},
		{"no args", []string{"sign"}},
		{"unknown", []string{"frobnicate"}},
	}
	for _, c := range cases {
		if err := run(c.args, &out, &out, now); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	b, _ := os.ReadFile(img)
	b[len(b)-1] ^= 1
	os.WriteFile(img, b, 0o644)
	if err := run([]string{"verify", "-pub", name + ".pub", img}, &out, &out, now); err == nil || !strings.Contains(err.Error(), "payload") {
		t.Errorf("tampered image: %v", err)
	}
}
