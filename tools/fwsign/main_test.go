package main

import (
	"bytes"
	"fmt"
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

func TestSignBuilt(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	name := filepath.Join(dir, "k")
	var out bytes.Buffer
	if err := run([]string{"keygen", "-o", name}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	pl := filepath.Join(dir, "payload")
	os.WriteFile(pl, []byte("a firmware payload"), 0o644)
	cases := []struct {
		name    string
		built   []string
		want    string // in verify's output; "" means refused
		notWant string
	}{
		{"default: the signing time, left out", nil, `"created": "2026-01-02T03:04:05Z"`, `"built"`},
		{"same as the signing time, left out", []string{"-built", "2026-01-02T04:04:05+01:00"}, `"created"`, `"built"`},
		{"earlier build", []string{"-built", "2025-12-24T18:00:00Z"}, `"built": "2025-12-24T18:00:00Z"`, ""},
		{"offset converted to UTC", []string{"-built", "2025-12-24T19:00:00+01:00"}, `"built": "2025-12-24T18:00:00Z"`, ""},
		{"in the future", []string{"-built", "2026-02-01T00:00:00Z"}, "", ""},
		{"not RFC 3339", []string{"-built", "yesterday"}, "", ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := filepath.Join(dir, fmt.Sprintf("fw%d.img", i))
			args := append([]string{"sign", "-key", name + ".key", "-version", "abc1234", "-target", "sim/amd64", "-o", img}, c.built...)
			err := run(append(args, pl), &out, &out, now)
			if c.want == "" {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out.Reset()
			if err := run([]string{"verify", "-pub", name + ".pub", img}, &out, &out, now); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), c.want) || c.notWant != "" && strings.Contains(out.String(), c.notWant) {
				t.Errorf("verify printed %s", out.String())
			}
		})
	}
}
