package provision

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Encrypted profiles are what
//
//	openssl enc -aes-256-cbc -pbkdf2 -iter 100000 -salt -pass pass:KEY -in profile.xml -out profile.xml
//
// writes: "Salted__", an 8-byte salt, then the AES-256-CBC ciphertext
// (PKCS#7 padded) under a key and IV derived together (48 bytes) from the
// pass phrase and the salt with PBKDF2-HMAC-SHA256, ProfileIterations
// rounds. A PBX admin makes them with stock tools.
const (
	// ProfileIterations is the PBKDF2 iteration count (openssl's -iter).
	ProfileIterations = 100000
	saltMagic         = "Salted__"
)

// ErrNoProfileKey means a fetched profile is encrypted but the gateway
// has no key to decrypt it with.
var ErrNoProfileKey = errors.New("the profile is encrypted, but no profile key is set")

// IsEncrypted reports a file in the openssl enc format.
func IsEncrypted(data []byte) bool {
	return len(data) >= 16 && bytes.HasPrefix(data, []byte(saltMagic))
}

// DecryptProfile decrypts an openssl enc -aes-256-cbc -pbkdf2 -iter
// 100000 file with the pass phrase key. A wrong key is reported as such
// (bad padding, or a plaintext that is not text), never as a parse error
// of garbage.
func DecryptProfile(data []byte, key string) ([]byte, error) {
	if !IsEncrypted(data) {
		return nil, errors.New("not an encrypted profile (no Salted__ header)")
	}
	if key == "" {
		return nil, ErrNoProfileKey
	}
	salt, ct := data[8:16], data[16:]
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("encrypted profile: %d bytes of ciphertext is not a whole number of AES blocks", len(ct))
	}
	kiv, err := pbkdf2.Key(sha256.New, key, salt, ProfileIterations, 48)
	if err != nil {
		return nil, fmt.Errorf("encrypted profile: %w", err)
	}
	block, err := aes.NewCipher(kiv[:32])
	if err != nil {
		return nil, fmt.Errorf("encrypted profile: %w", err)
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, kiv[32:48]).CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	if pad < 1 || pad > aes.BlockSize || pad > len(out) || !bytes.Equal(out[len(out)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("encrypted profile: wrong profile key (or a damaged file)")
	}
	out = out[:len(out)-pad]
	// A wrong key gives valid padding one time in 256; profiles are text,
	// the garbage a wrong key gives is not.
	if !utf8.Valid(out) || bytes.IndexByte(out, 0) >= 0 {
		return nil, errors.New("encrypted profile: wrong profile key (or a damaged file)")
	}
	return out, nil
}
