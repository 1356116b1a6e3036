package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Text forms of keys: one line, a tag and the base64 key.
const (
	// PublicKeyTag starts a public key line.
	PublicKeyTag = "loopstart-fw-ed25519"
	// PrivateKeyTag starts a private key line (the base64 of the 32-byte seed).
	PrivateKeyTag = "loopstart-fw-ed25519-private"
)

// BuildKeys are extra trusted public keys set at link time:
// -ldflags "-X github.com/loopstart/loopstart/firmware/update.BuildKeys=BASE64[,BASE64]".
var BuildKeys string

//go:embed keys
var embeddedKeys embed.FS

// Keys are the public keys trusted to sign firmware.
type Keys []ed25519.PublicKey

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// BuiltinKeys returns the keys this build trusts: keys/*.pub and BuildKeys.
func BuiltinKeys() (Keys, error) {
	var out Keys
	ents, _ := fs.ReadDir(embeddedKeys, "keys")
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".pub") {
			continue
		}
		b, err := fs.ReadFile(embeddedKeys, "keys/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("built-in key %s: %w", e.Name(), err)
		}
		k, err := ParsePublicKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("built-in key %s: %w", e.Name(), err)
		}
		out = append(out, k)
	}
	for _, s := range strings.Split(BuildKeys, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		k, err := ParsePublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("BuildKeys: %w", err)
		}
		out = append(out, k)
	}
	return out, nil
}

// ParsePublicKey reads a public key: "loopstart-fw-ed25519 BASE64" or the
// bare base64 of the 32-byte key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	f := strings.Fields(s)
	if len(f) == 2 && f[0] == PublicKeyTag {
		f = f[1:]
	}
	if len(f) != 1 {
		return nil, errors.New("public key: want one line \"" + PublicKeyTag + " BASE64\"")
	}
	b, err := base64.StdEncoding.DecodeString(f[0])
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// ParsePrivateKey reads a private key line as FormatPrivateKey writes it.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] != PrivateKeyTag {
		return nil, errors.New("private key: want one line \"" + PrivateKeyTag + " BASE64\"")
	}
	b, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	if len(b) != ed25519.SeedSize {
		return nil, fmt.Errorf("private key: %d bytes, want %d", len(b), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// FormatPublicKey renders pub as one line for a .pub file.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return PublicKeyTag + " " + base64.StdEncoding.EncodeToString(pub) + "\n"
}

// FormatPrivateKey renders priv as one line for a .key file.
func FormatPrivateKey(priv ed25519.PrivateKey) string {
	return PrivateKeyTag + " " + base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"
}

// GenerateKey makes a new signing key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	return pub, priv, nil
}

// ReadPublicKeyFile reads a .pub file.
func ReadPublicKeyFile(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := ParsePublicKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ReadPrivateKeyFile reads a .key file.
func ReadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := ParsePrivateKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
