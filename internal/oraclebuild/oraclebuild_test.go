package oraclebuild

import (
	"os/exec"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("SKIP: no gcc")
	}
	tests := []struct {
		name, src, wantErr string
	}{
		{"ok", "#include <spandsp.h>\nint main(void){return 0;}\n", ""},
		{"broken", "int main(void){ this is not C }\n", "gcc broken.c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin, err := Build(tc.name, []byte(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Build = %q, %v; want an error with %q", bin, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				if strings.Contains(err.Error(), "spandsp.h") {
					t.Skip("SKIP: no libspandsp-dev")
				}
				t.Fatal(err)
			}
			if err := exec.Command(bin).Run(); err != nil {
				t.Fatalf("run %s: %v", bin, err)
			}
			again, err := Build(tc.name, []byte(tc.src))
			if err != nil || again != bin {
				t.Errorf("second Build = %q, %v; want the cached %q", again, err, bin)
			}
		})
	}
}

func TestFirstLines(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "a | b"},
		{"a\n", 4, "a"},
		{"", 2, ""},
	}
	for _, tc := range tests {
		if got := firstLines(tc.in, tc.n); got != tc.want {
			t.Errorf("firstLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
