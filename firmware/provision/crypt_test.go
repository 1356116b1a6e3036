package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// opensslEnc encrypts plain with the real openssl binary the way a PBX
// admin would.
func opensslEnc(t *testing.T, plain, key string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("PEER MISSING: openssl is not installed")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "p.xml"), filepath.Join(dir, "p.enc")
	if err := os.WriteFile(in, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-iter", "100000", "-salt", "-pass", "pass:"+key, "-in", in, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl enc: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecryptProfileOpenSSL(t *testing.T) {
	for _, plain := range []string{gsFile, "x", strings.Repeat("0123456789abcdef", 4)} {
		enc := opensslEnc(t, plain, "s3cret pass")
		if !IsEncrypted(enc) {
			t.Fatal("no Salted__ header")
		}
		got, err := DecryptProfile(enc, "s3cret pass")
		if err != nil || string(got) != plain {
			t.Errorf("decrypt %d bytes: %v %q", len(plain), err, got)
		}
	}
	enc := opensslEnc(t, gsFile, "right")
	// A wrong key: refused as such every time (not only when the padding
	// happens to be wrong), over many salts.
	for i := range 10 {
		e := opensslEnc(t, gsFile, "right")
		if _, err := DecryptProfile(e, fmt.Sprintf("wrong%d", i)); err == nil || !strings.Contains(err.Error(), "wrong profile key") {
			t.Fatalf("wrong key %d: %v", i, err)
		}
	}
	for _, tc := range []struct {
		name, key string
		data      []byte
		want      string
	}{
		{"wrong key", "wrong", enc, "wrong profile key"},
		{"no key", "", enc, "no profile key"},
		{"truncated", "right", enc[:len(enc)-5], "whole number of AES blocks"},
		{"plain", "right", []byte(gsFile), "not an encrypted profile"},
	} {
		if _, err := DecryptProfile(tc.data, tc.key); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := DecryptProfile(enc, ""); !errors.Is(err, ErrNoProfileKey) {
		t.Errorf("no key: %v", err)
	}
}

// TestSyncEncryptedProfile: an openssl-encrypted Grandstream profile is
// applied with the key, refused without it or with another, the old
// config kept.
func TestSyncEncryptedProfile(t *testing.T) {
	enc := opensslEnc(t, gsFile, "fleet-key")
	srv := fileServer(t, map[string]string{"/p/cfg000b82abcdef.xml": string(enc)}, "", "")
	for _, tc := range []struct{ key, want string }{{"", "no profile key"}, {"other", "wrong profile key"}, {"fleet-key", ""}} {
		st := &store{cur: baseConfig(t)}
		p := newProv(t, st, srv.URL+"/p/", roots(srv))
		p.opts.ProfileKey = func() string { return tc.key }
		err := p.Sync(context.Background())
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) || st.n != 0 {
				t.Errorf("key %q: err %v, applied %d", tc.key, err, st.n)
			}
			continue
		}
		if err != nil || st.Current().Account("1").User != "2001" {
			t.Errorf("key %q: %v", tc.key, err)
		}
	}
}

func FuzzDecryptProfile(f *testing.F) {
	f.Add([]byte("Salted__12345678" + strings.Repeat("x", 32)))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := DecryptProfile(data, "k")
		if err == nil && len(out) >= len(data) {
			t.Fatal("plaintext not shorter than the file")
		}
	})
}
