package provision

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
)

// Signed profiles. A profile may carry a detached ed25519 signature in a
// file next to it, its name plus SignatureSuffix (cfg000b82aabbcc.xml.sig),
// signed with a firmware signing key (tools/fwsign keygen; the gateway
// trusts the same keys for profiles as for firmware images). The
// signature covers the exact bytes fetched: for an encrypted profile, the
// encrypted file, so it is checked before anything is decrypted and
// covers what travelled. The .sig file holds the 64-byte signature raw
// (openssl pkeyutl -sign -rawin writes that) or in base64 on one line
// (tools/fwsign profile writes that).
const (
	// SignatureSuffix is appended to a profile's URL path to get its
	// signature file.
	SignatureSuffix = ".sig"
	// MaxSignatureFile bounds a signature file, in bytes.
	MaxSignatureFile = 1024
)

// Reasons a profile's signature refuses it.
var (
	// ErrUnsigned means there is no signature file but
	// <provisioning><require-signature> is true.
	ErrUnsigned = errors.New("the profile has no signature (" + SignatureSuffix + " file), but <provisioning><require-signature> is true")
	// ErrBadSignature means the signature does not verify with any
	// trusted key: the profile was changed after signing, or another key
	// signed it.
	ErrBadSignature = errors.New("the profile's signature does not verify with any trusted key (changed after signing, or signed by another key)")
	// ErrNoSigningKeys means a signature is to be checked but the
	// gateway trusts no signing key.
	ErrNoSigningKeys = errors.New("the profile is signed, but this gateway trusts no signing key")
)

// ParseSignature reads a signature file: the raw 64-byte ed25519
// signature, or its base64 (standard alphabet, padded or not) on one
// line with surrounding white space.
func ParseSignature(b []byte) ([]byte, error) {
	if len(b) > MaxSignatureFile {
		return nil, fmt.Errorf("signature file: %d bytes, at most %d", len(b), MaxSignatureFile)
	}
	if len(b) == ed25519.SignatureSize {
		return bytes.Clone(b), nil
	}
	s := bytes.TrimSpace(b)
	if len(s) == 0 {
		return nil, errors.New("signature file: empty")
	}
	if bytes.ContainsAny(s, " \t\r\n") {
		return nil, errors.New("signature file: want the raw 64-byte signature or one line of base64")
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	sig, err := enc.DecodeString(string(s))
	if err != nil {
		return nil, fmt.Errorf("signature file: neither a raw 64-byte signature nor base64: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("signature file: %d bytes of signature, want %d", len(sig), ed25519.SignatureSize)
	}
	return sig, nil
}

// FormatSignature renders sig as a signature file: one line of base64.
func FormatSignature(sig []byte) []byte {
	return []byte(base64.StdEncoding.EncodeToString(sig) + "\n")
}

// SignProfile signs the exact bytes of a profile file (encrypted or not)
// and returns the signature file's contents (FormatSignature).
func SignProfile(priv ed25519.PrivateKey, data []byte) []byte {
	return FormatSignature(ed25519.Sign(priv, data))
}

// VerifyProfile checks a signature file's contents against the bytes
// of the profile with each trusted key and returns the ID of the key
// that signed it (SigningKeyID).
func VerifyProfile(data, sigFile []byte, keys []ed25519.PublicKey) (string, error) {
	sig, err := ParseSignature(sigFile)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return "", ErrNoSigningKeys
	}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, data, sig) {
			return SigningKeyID(k), nil
		}
	}
	return "", ErrBadSignature
}

// SigningKeyID names a public key as tools/fwsign and firmware/update
// do: the first 8 bytes of its SHA-256, in hex.
func SigningKeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// SignatureURL is the URL of u's signature file: its path plus
// SignatureSuffix (the query, if any, kept).
func SignatureURL(u *url.URL) *url.URL {
	s := *u
	s.Path += SignatureSuffix
	s.RawPath = ""
	return &s
}

// checkSignature fetches the signature file of the profile fetched from
// u and verifies it. It returns a line for Status.Tried ("" when there is
// nothing to say: no signature and none required) or why the profile is
// refused.
func (p *Provisioner) checkSignature(ctx context.Context, u *url.URL, data []byte) (string, error) {
	required := p.opts.Current().Provisioning.SignatureRequired()
	su := SignatureURL(u)
	sigFile, err := p.opts.Fetcher.Fetch(ctx, su)
	switch {
	case errors.Is(err, ErrNotFound):
		if required {
			return su.Redacted() + ": not found", ErrUnsigned
		}
		return "", nil
	case err != nil && required:
		return su.Redacted() + ": " + err.Error(), fmt.Errorf("signature not fetched, and <provisioning><require-signature> is true: %w", err)
	case err != nil:
		// Without the requirement a server that fails on the .sig is
		// treated as one that has none (an attacker able to make it fail
		// could as well answer "not found").
		p.log.Warn("provisioning: signature file not fetched; profile taken as unsigned", "file", su.Redacted(), "err", err)
		return "", nil
	}
	id, err := VerifyProfile(data, sigFile, p.opts.SigningKeys)
	if err != nil {
		return su.Redacted() + ": refused", err
	}
	p.log.Info("provisioning: profile signature verified", "file", u.Redacted(), "key", id)
	return su.Redacted() + ": signature verified (key " + id + ")", nil
}
