package app

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/loopstart/loopstart/firmware/provision"
	"github.com/loopstart/loopstart/firmware/update"
)

// TestProfileSigningKeys: profiles are verified with the firmware
// signing keys, --firmware-key included; an unreadable key file is left
// out, never trusted.
func TestProfileSigningKeys(t *testing.T) {
	builtin, err := update.BuiltinKeys()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := update.ReadPrivateKeyFile("../update/testdata/test.key")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pub")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profile := []byte("<loopstart/>\n")
	sig := provision.SignProfile(priv, profile)
	for _, tc := range []struct {
		name, file string
		extra      int
		verifies   bool
	}{
		{"built-in only", "", 0, false},
		{"firmware key", "../update/testdata/test.pub", 1, true},
		{"other firmware key", "../update/testdata/other.pub", 1, false},
		{"unreadable key", bad, 0, false},
		{"missing key", filepath.Join(t.TempDir(), "none.pub"), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := profileSigningKeys(tc.file, slog.New(slog.DiscardHandler))
			if len(keys) != len(builtin)+tc.extra {
				t.Fatalf("%d keys, want %d", len(keys), len(builtin)+tc.extra)
			}
			_, err := provision.VerifyProfile(profile, sig, keys)
			if tc.verifies != (err == nil) {
				t.Fatalf("verify: %v", err)
			}
			if err != nil && len(keys) > 0 && !errors.Is(err, provision.ErrBadSignature) {
				t.Errorf("verify: %v", err)
			}
		})
	}
}
