package gateway

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/loopstart/loopstart/voice/status"
)

func TestFeaturesFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "features.json")
	got, err := loadFeatures(path)
	if err != nil || len(got) != 0 {
		t.Fatalf("missing file: %v, %v", got, err)
	}
	want := map[string]status.Features{"1": {ForwardAll: "100", DND: true}, "2": {RejectAnonymous: true, ForwardNoAnswer: "200", NoAnswerSeconds: 15}}
	if err := writeFeatures(path, want); err != nil {
		t.Fatal(err)
	}
	got, err = loadFeatures(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["1"] != want["1"] || got["2"] != want["2"] {
		t.Fatalf("read back %+v, want %+v", got, want)
	}
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadFeatures(path); err == nil {
		t.Fatal("broken file accepted")
	}
}

func TestDirectIP(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"192*168*0*160", "sip:192.168.0.160", true},
		{"10*0*0*1*5062", "sip:10.0.0.1:5062", true},
		{"10*0*0", "", false},
		{"300*0*0*1", "", false},
		{"1*2*3*4*0", "", false},
	} {
		got, ok := directIP(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("directIP(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
