package provision

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testKey is a fixed signing key pair for the signature tests.
func testKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return priv.Public().(ed25519.PublicKey), priv
}

// TestSyncSignedProfile: a profile's detached signature is fetched from
// <file>.sig and checked against the trusted keys; a missing signature
// refuses the profile only under <require-signature>, a bad one always,
// and a refused profile leaves the old configuration in force.
func TestSyncSignedProfile(t *testing.T) {
	pub, priv := testKey(1)
	otherPub, otherPriv := testKey(2)
	const path = "/p/cfg000b82abcdef.xml"
	enc := opensslEnc(t, gsFile, "fleet-key")
	rawSig := string(ed25519.Sign(priv, []byte(gsFile)))
	for _, tc := range []struct {
		name     string
		body     string
		sig      string // "" means no .sig file
		require  bool
		keys     []ed25519.PublicKey
		wantErr  error  // errors.Is, nil means applied
		wantText string // in the error
		tried    string // in Status.Tried
	}{
		{name: "signed base64", body: gsFile, sig: string(SignProfile(priv, []byte(gsFile))), keys: []ed25519.PublicKey{pub},
			tried: ".sig: signature verified (key " + SigningKeyID(pub) + ")"},
		{name: "signed raw, required", body: gsFile, sig: rawSig, require: true, keys: []ed25519.PublicKey{otherPub, pub},
			tried: "signature verified"},
		{name: "unsigned, not required", body: gsFile, keys: []ed25519.PublicKey{pub}},
		{name: "unsigned, not required, no keys", body: gsFile},
		{name: "unsigned, required", body: gsFile, require: true, keys: []ed25519.PublicKey{pub},
			wantErr: ErrUnsigned, tried: ".sig: not found"},
		{name: "wrong key", body: gsFile, sig: string(SignProfile(otherPriv, []byte(gsFile))), keys: []ed25519.PublicKey{pub},
			wantErr: ErrBadSignature, tried: ".sig: refused"},
		{name: "wrong key, required", body: gsFile, sig: string(SignProfile(otherPriv, []byte(gsFile))), require: true, keys: []ed25519.PublicKey{pub},
			wantErr: ErrBadSignature},
		{name: "tampered body", body: strings.Replace(gsFile, "2001", "6666", 1), sig: rawSig, keys: []ed25519.PublicKey{pub},
			wantErr: ErrBadSignature, tried: "refused: the profile's signature does not verify"},
		{name: "signed, no trusted keys", body: gsFile, sig: rawSig, wantErr: ErrNoSigningKeys},
		{name: "garbage signature", body: gsFile, sig: "not a signature", keys: []ed25519.PublicKey{pub},
			wantText: "signature file: want the raw 64-byte signature or one line of base64"},
		{name: "encrypted, signature over the encrypted bytes", body: string(enc), sig: string(SignProfile(priv, enc)), require: true,
			keys: []ed25519.PublicKey{pub}, tried: "signature verified"},
		{name: "encrypted, signature over the plaintext", body: string(enc), sig: rawSig, require: true,
			keys: []ed25519.PublicKey{pub}, wantErr: ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{path: tc.body}
			if tc.sig != "" {
				files[path+SignatureSuffix] = tc.sig
			}
			srv := fileServer(t, files, "", "")
			st := &store{cur: baseConfig(t)}
			p := newProv(t, st, srv.URL+"/p/", roots(srv))
			st.cur.Provisioning.RequireSignature = map[bool]string{true: "true", false: ""}[tc.require]
			p.opts.SigningKeys = tc.keys
			p.opts.ProfileKey = func() string { return "fleet-key" }
			err := p.Sync(context.Background())
			stat := p.Status()
			tried := strings.Join(stat.Tried, "\n")
			if tc.tried != "" && !strings.Contains(tried, tc.tried) {
				t.Errorf("tried:\n%s\nwant %q", tried, tc.tried)
			}
			if tc.wantErr == nil && tc.wantText == "" {
				if err != nil || st.n != 1 || st.Current().Account("1").User != "2001" {
					t.Fatalf("err %v, applied %d", err, st.n)
				}
				if tc.sig == "" && tc.tried == "" && strings.Contains(tried, SignatureSuffix) {
					t.Errorf("an unsigned profile that needs no signature lists its .sig: %s", tried)
				}
				return
			}
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err %v, want %v %q", err, tc.wantErr, tc.wantText)
			}
			if st.n != 0 || st.Current().Account("1").User != "1001" {
				t.Errorf("refused profile applied (%d)", st.n)
			}
			if stat.LastError != err.Error() || !strings.Contains(tried, path+": refused: ") {
				t.Errorf("status: last_error %q, tried %q", stat.LastError, tried)
			}
		})
	}
}

func TestParseSignature(t *testing.T) {
	sig := bytes.Repeat([]byte{0xa5}, 64)
	b64 := base64.StdEncoding.EncodeToString(sig)
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"raw", sig, ""},
		{"raw with newline bytes", append(bytes.Repeat([]byte{'\n'}, 63), 'x'), ""},
		{"base64", []byte(b64), ""},
		{"base64 with newline", []byte(b64 + "\r\n"), ""},
		{"base64 unpadded", []byte(strings.TrimRight(b64, "=") + "\n"), ""},
		{"empty", nil, "empty"},
		{"blank", []byte(" \n"), "empty"},
		{"two lines", []byte(b64[:40] + "\n" + b64[40:]), "one line of base64"},
		{"short", []byte(base64.StdEncoding.EncodeToString(sig[:32])), "32 bytes of signature, want 64"},
		{"not base64", []byte("!!!!"), "neither a raw 64-byte signature nor base64"},
		{"huge", bytes.Repeat([]byte("A"), MaxSignatureFile+1), "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSignature(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(got) != 64 {
				t.Fatalf("%v, %d bytes", err, len(got))
			}
			if tc.name != "raw with newline bytes" && !bytes.Equal(got, sig) {
				t.Errorf("got %x", got)
			}
		})
	}
}

func FuzzParseSignature(f *testing.F) {
	pub, priv := testKey(3)
	f.Add(SignProfile(priv, []byte("x")))
	f.Add(ed25519.Sign(priv, []byte("x")))
	f.Add([]byte("AAAA"))
	f.Add([]byte(" \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := ParseSignature(data)
		if err != nil {
			return
		}
		if len(sig) != ed25519.SignatureSize {
			t.Fatalf("%d-byte signature accepted", len(sig))
		}
		// Whatever parses round-trips through FormatSignature.
		again, err := ParseSignature(FormatSignature(sig))
		if err != nil || !bytes.Equal(again, sig) {
			t.Fatalf("round trip: %v", err)
		}
		if _, err := VerifyProfile([]byte("y"), data, []ed25519.PublicKey{pub}); err == nil {
			t.Fatal("a signature of x verifies y")
		}
	})
}

// TestSignatureOpenSSL: a PBX admin signs a profile with stock OpenSSL
// (an ed25519 key from openssl genpkey, the raw signature from
// openssl pkeyutl -sign -rawin) and the gateway verifies it with the
// public key openssl pkey exports, as PROVISIONING-MAP.md shows.
func TestSignatureOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("PEER MISSING: openssl is not installed")
	}
	dir := t.TempDir()
	openssl := func(args ...string) []byte {
		t.Helper()
		b, err := exec.Command("openssl", args...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
			}
			t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
		}
		return b
	}
	key, cfg := filepath.Join(dir, "key.pem"), filepath.Join(dir, "cfg.xml")
	openssl("genpkey", "-algorithm", "ed25519", "-out", key)
	// The public key as a loopstart .pub line: the last 32 bytes of the
	// DER SubjectPublicKeyInfo.
	der := openssl("pkey", "-in", key, "-pubout", "-outform", "DER")
	if len(der) < ed25519.PublicKeySize {
		t.Fatalf("public key DER: %d bytes", len(der))
	}
	pub := ed25519.PublicKey(der[len(der)-ed25519.PublicKeySize:])
	other, _ := testKey(4)
	for _, profile := range []string{gsFile, string(opensslEnc(t, gsFile, "k"))} {
		if err := os.WriteFile(cfg, []byte(profile), 0o600); err != nil {
			t.Fatal(err)
		}
		openssl("pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", cfg, "-out", cfg+SignatureSuffix)
		raw, err := os.ReadFile(cfg + SignatureSuffix)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := VerifyProfile([]byte(profile), raw, []ed25519.PublicKey{other, pub}); err != nil || id != SigningKeyID(pub) {
			t.Fatalf("raw openssl signature: %v (key %s)", err, id)
		}
		// The same signature in base64, as openssl base64 -A writes it.
		b64 := openssl("base64", "-A", "-in", cfg+SignatureSuffix)
		if _, err := VerifyProfile([]byte(profile), b64, []ed25519.PublicKey{pub}); err != nil {
			t.Fatalf("base64 openssl signature: %v", err)
		}
		if _, err := VerifyProfile([]byte(profile+" "), raw, []ed25519.PublicKey{pub}); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tampered: %v", err)
		}
	}
	// And the other way: a signature the gateway's tools make verifies
	// with openssl pkeyutl -verify.
	_, priv := testKey(5)
	if err := os.WriteFile(cfg, []byte(gsFile), 0o600); err != nil {
		t.Fatal(err)
	}
	pemPub := filepath.Join(dir, "pub.pem")
	spki := append(bytes.Clone(der[:len(der)-ed25519.PublicKeySize]), priv.Public().(ed25519.PublicKey)...)
	if err := os.WriteFile(pemPub+".der", spki, 0o600); err != nil {
		t.Fatal(err)
	}
	openssl("pkey", "-pubin", "-inform", "DER", "-in", pemPub+".der", "-out", pemPub)
	if err := os.WriteFile(cfg+".raw", ed25519.Sign(priv, []byte(gsFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := openssl("pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", pemPub, "-in", cfg, "-sigfile", cfg+".raw")
	if !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Errorf("openssl verify: %s", out)
	}
}
