package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSignProfile: fwsign profile writes PROFILE.sig, verify-profile
// accepts it with the right key only and refuses a changed profile.
func TestSignProfile(t *testing.T) {
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	var out bytes.Buffer
	name := filepath.Join(dir, "k")
	if err := run([]string{"keygen", "-o", name}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "cfg000b82aabbcc.xml")
	if err := os.WriteFile(prof, []byte("<loopstart/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"profile", "-key", name + ".key", prof}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prof + ".sig"); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "elsewhere.sig")
	if err := run([]string{"profile", "-key", name + ".key", "-o", other, prof}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	tampered := filepath.Join(dir, "tampered.xml")
	if err := os.WriteFile(tampered, []byte("<loopstart> </loopstart>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"good", []string{"verify-profile", "-pub", name + ".pub", prof}, ""},
		{"good, -sig", []string{"verify-profile", "-pub", name + ".pub", "-sig", other, prof}, ""},
		{"other key", []string{"verify-profile", "-pub", "../../firmware/update/testdata/test.pub", prof}, "does not verify"},
		{"tampered", []string{"verify-profile", "-pub", name + ".pub", "-sig", prof + ".sig", tampered}, "does not verify"},
		{"no signature", []string{"verify-profile", "-pub", name + ".pub", tampered}, "no such file"},
		{"sign without key", []string{"profile", prof}, "usage"},
		{"sign with a public key", []string{"profile", "-key", name + ".pub", prof}, "private key"},
		{"pem without -o", []string{"pem", "-key", name + ".key"}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out.Reset()
			err := run(tc.args, &out, &out, now)
			if tc.err == "" {
				if err != nil || !strings.Contains(out.String(), "signature good") {
					t.Fatalf("%v: %s", err, out.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}

// TestPEMOpenSSL: a fwsign key exported with fwsign pem signs a profile
// with the real openssl binary (pkeyutl -sign -rawin), and the signature
// verifies against the key's .pub as the gateway checks it.
func TestPEMOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("PEER MISSING: openssl is not installed")
	}
	dir := t.TempDir()
	now := time.Now
	var out bytes.Buffer
	name := filepath.Join(dir, "k")
	if err := run([]string{"keygen", "-o", name}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"pem", "-key", name + ".key", "-o", name + ".pem"}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(name + ".pem"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("pem file: %v %v", fi, err)
	}
	if err := run([]string{"pem", "-key", name + ".key", "-o", name + ".pem"}, &out, &out, now); err == nil {
		t.Fatal("pem overwrote a key file")
	}
	prof := filepath.Join(dir, "cfg.xml")
	if err := os.WriteFile(prof, []byte("<loopstart><provisioning><require-signature>true</require-signature></provisioning></loopstart>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("openssl", "pkeyutl", "-sign", "-rawin", "-inkey", name+".pem", "-in", prof, "-out", prof+".sig")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl pkeyutl: %v\n%s", err, b)
	}
	out.Reset()
	if err := run([]string{"verify-profile", "-pub", name + ".pub", prof}, &out, &out, now); err != nil {
		t.Fatalf("openssl signature refused: %v", err)
	}
	// openssl's raw signature and fwsign's base64 one are the same
	// signature (ed25519 is deterministic).
	raw, _ := os.ReadFile(prof + ".sig")
	if err := run([]string{"profile", "-key", name + ".key", "-o", prof + ".b64", prof}, &out, &out, now); err != nil {
		t.Fatal(err)
	}
	b64, _ := exec.Command("openssl", "base64", "-A", "-in", prof+".sig").Output()
	mine, _ := os.ReadFile(prof + ".b64")
	if len(raw) != 64 || strings.TrimSpace(string(mine)) != strings.TrimSpace(string(b64)) {
		t.Errorf("openssl %d bytes %s, fwsign %s", len(raw), b64, mine)
	}
}

// TestOpenSSLSigningDoc runs the OpenSSL signing commands of
// docs/PROVISIONING-MAP.md ("Signed profiles") as written, in a scratch
// directory, and checks that the key and signature they make verify.
func TestOpenSSLSigningDoc(t *testing.T) {
	for _, tool := range []string{"openssl", "sh", "tail", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("PEER MISSING: " + tool + " is not installed")
		}
	}
	doc, err := os.ReadFile("../../docs/PROVISIONING-MAP.md")
	if err != nil {
		t.Fatal(err)
	}
	var script string
	for _, block := range strings.Split(string(doc), "```")[1:] {
		if strings.Contains(block, "openssl genpkey") && strings.Contains(block, "pkeyutl -sign") {
			script = block
			break
		}
	}
	if script == "" {
		t.Fatal("no openssl signing commands in docs/PROVISIONING-MAP.md")
	}
	dir := t.TempDir()
	prof := filepath.Join(dir, "cfg000b82aabbcc.xml")
	if err := os.WriteFile(prof, []byte("<loopstart><provisioning><interval>3600</interval></provisioning></loopstart>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-eu")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(script)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("doc commands: %v\n%s\n%s", err, script, b)
	}
	var out bytes.Buffer
	if err := run([]string{"verify-profile", "-pub", filepath.Join(dir, "fleet.pub"), prof}, &out, &out, time.Now); err != nil {
		t.Fatalf("the documented openssl signature does not verify: %v", err)
	}
	if err := os.WriteFile(prof, []byte("<loopstart/>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"verify-profile", "-pub", filepath.Join(dir, "fleet.pub"), prof}, &out, &out, time.Now); err == nil {
		t.Fatal("a changed profile verifies")
	}
}
