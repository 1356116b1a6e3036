package update

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"
)

// Format constants of an image (see the package documentation).
const (
	// Magic starts every image.
	Magic = "LOOPSTART-FIRMWARE 1\n"
	// SignedPrefix is prepended to the manifest before signing, so a
	// firmware signature can never be mistaken for another kind.
	SignedPrefix = "loopstart firmware manifest v1\n"
	// MaxManifest bounds the manifest, in bytes.
	MaxManifest = 16 << 10
	// MaxPayload bounds the payload, in bytes.
	MaxPayload = 512 << 20
	// FormatVersion is Manifest.Format.
	FormatVersion = 1
)

// Errors callers branch on.
var (
	// ErrNotImage means the data does not start like an image.
	ErrNotImage = errors.New("not a loopstart firmware image")
	// ErrBadSignature means no trusted key signed the manifest (or it
	// was changed after signing).
	ErrBadSignature = errors.New("signature does not verify with any trusted key")
	// ErrNoKeys means the build trusts no key, so no image is accepted.
	ErrNoKeys = errors.New("no trusted firmware signing key (build with keys in firmware/update/keys or -X ...update.BuildKeys, or run with --firmware-key FILE)")
	// ErrWrongTarget means the image is for another board or architecture.
	ErrWrongTarget = errors.New("image is for another target")
	// ErrPayload means the payload does not match the signed size or hash.
	ErrPayload = errors.New("payload does not match the signed manifest")
)

// Manifest describes the payload; it is what the signature covers.
type Manifest struct {
	// Format is FormatVersion.
	Format int `json:"format"`
	// Version is the firmware version the payload reports (main.version).
	Version string `json:"version"`
	// Target is the board and architecture, e.g. "sim/amd64", "qemu/arm64".
	Target string `json:"target"`
	// Size is the payload length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the payload's hash, lowercase hex.
	SHA256 string `json:"sha256"`
	// Created is when the image was signed.
	Created time.Time `json:"created"`
	// Built is when the payload was built, for ordering releases (see
	// Compare); absent (zero) means Created. Sign leaves it out, so
	// images stay readable by firmware older than this field, whose
	// strict decoder refuses unknown fields.
	Built time.Time `json:"built,omitzero"`
	// Key is the KeyID of the signing key (informational; every trusted
	// key is tried).
	Key string `json:"key"`
}

// The manifest's patterns, compiled at first use rather than at package
// initialisation (which every start of the program pays, three times in a
// boot).
var (
	tokenRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~/-]{0,63}$`) })
	hashRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })
)

// check validates the manifest's fields.
func (m *Manifest) check() error {
	switch {
	case m.Format != FormatVersion:
		return fmt.Errorf("manifest format %d, want %d", m.Format, FormatVersion)
	case !tokenRE().MatchString(m.Version):
		return fmt.Errorf("manifest version %q is not a plain token", m.Version)
	case !tokenRE().MatchString(m.Target):
		return fmt.Errorf("manifest target %q is not a plain token", m.Target)
	case m.Size <= 0 || m.Size > MaxPayload:
		return fmt.Errorf("manifest size %d out of range 1..%d", m.Size, MaxPayload)
	case !hashRE().MatchString(m.SHA256):
		return fmt.Errorf("manifest sha256 %q is not 64 lowercase hex digits", m.SHA256)
	}
	return nil
}

// Header is an image's verified beginning: the manifest and the bytes it
// was read from (kept with the slot, so the slot can be verified again).
type Header struct {
	Manifest Manifest
	// Raw is magic + length + manifest + signature, exactly as in the image.
	Raw []byte
}

// Sign builds an image of payload for the given version and target,
// signed with priv. created is stored in the manifest and is also the
// image's build date.
func Sign(priv ed25519.PrivateKey, version, target string, created time.Time, payload []byte) ([]byte, error) {
	return SignBuilt(priv, version, target, created, time.Time{}, payload)
}

// SignBuilt is Sign with a build date (Manifest.Built) other than the
// signing time; a zero built leaves it out.
func SignBuilt(priv ed25519.PrivateKey, version, target string, created, built time.Time, payload []byte) ([]byte, error) {
	h := sha256.Sum256(payload)
	m := Manifest{Format: FormatVersion, Version: version, Target: target, Size: int64(len(payload)),
		SHA256: hex.EncodeToString(h[:]), Created: created.UTC(), Key: KeyID(priv.Public().(ed25519.PublicKey))}
	if !built.IsZero() {
		m.Built = built.UTC()
	}
	hdr, err := SignManifest(priv, m)
	if err != nil {
		return nil, err
	}
	return append(hdr, payload...), nil
}

// SignManifest renders and signs m and returns the image header to put
// before the payload.
func SignManifest(priv ed25519.PrivateKey, m Manifest) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	sig := ed25519.Sign(priv, append([]byte(SignedPrefix), mb...))
	var b bytes.Buffer
	b.WriteString(Magic)
	binary.Write(&b, binary.BigEndian, uint32(len(mb)))
	b.Write(mb)
	b.Write(sig)
	return b.Bytes(), nil
}

// ReadHeader reads and verifies an image's header from r: magic, a
// manifest that parses strictly, and a signature by one of keys. It
// reads nothing past the signature, so the payload follows in r.
func ReadHeader(r io.Reader, keys Keys) (*Header, error) {
	if len(keys) == 0 {
		return nil, ErrNoKeys
	}
	var raw bytes.Buffer
	tr := io.TeeReader(r, &raw)
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(tr, magic); err != nil || string(magic) != Magic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("read image: %w", err)
		}
		return nil, ErrNotImage
	}
	var n uint32
	if err := binary.Read(tr, binary.BigEndian, &n); err != nil {
		return nil, fmt.Errorf("%w: truncated header", ErrNotImage)
	}
	if n == 0 || n > MaxManifest {
		return nil, fmt.Errorf("%w: manifest length %d out of range", ErrNotImage, n)
	}
	mb := make([]byte, n)
	if _, err := io.ReadFull(tr, mb); err != nil {
		return nil, fmt.Errorf("%w: truncated manifest", ErrNotImage)
	}
	sig := make([]byte, ed25519.SignatureSize)
	if _, err := io.ReadFull(tr, sig); err != nil {
		return nil, fmt.Errorf("%w: truncated signature", ErrNotImage)
	}
	msg := append([]byte(SignedPrefix), mb...)
	ok := false
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, ErrBadSignature
	}
	var m Manifest
	d := json.NewDecoder(bytes.NewReader(mb))
	d.DisallowUnknownFields()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if d.More() {
		return nil, errors.New("manifest: data after the JSON object")
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &Header{Manifest: m, Raw: raw.Bytes()}, nil
}

// VerifyImage checks a whole image held in memory: header, target (when
// not empty) and payload. It returns the manifest and the payload.
func VerifyImage(img []byte, keys Keys, target string) (*Manifest, []byte, error) {
	r := bytes.NewReader(img)
	h, err := ReadHeader(r, keys)
	if err != nil {
		return nil, nil, err
	}
	if target != "" && h.Manifest.Target != target {
		return nil, nil, fmt.Errorf("%w: %s, this is %s", ErrWrongTarget, h.Manifest.Target, target)
	}
	payload := img[len(h.Raw):]
	if err := checkPayload(&h.Manifest, bytes.NewReader(payload), io.Discard, nil); err != nil {
		return nil, nil, err
	}
	return &h.Manifest, payload, nil
}

// checkPayload copies exactly m.Size bytes from r to w, calling progress
// with the count so far, and checks the hash and that r ends there.
func checkPayload(m *Manifest, r io.Reader, w io.Writer, progress func(int64)) error {
	h := sha256.New()
	buf := make([]byte, 64<<10)
	var done int64
	for done < m.Size {
		want := min(int64(len(buf)), m.Size-done)
		n, err := io.ReadFull(r, buf[:want])
		if n > 0 {
			h.Write(buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				return fmt.Errorf("write: %w", werr)
			}
			done += int64(n)
			if progress != nil {
				progress(done)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: payload ends after %d of %d bytes", ErrPayload, done, m.Size)
			}
			return fmt.Errorf("read payload: %w", err)
		}
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		return fmt.Errorf("%w: data after the %d-byte payload", ErrPayload, m.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("%w: sha256 %s, signed %s", ErrPayload, got, m.SHA256)
	}
	return nil
}
