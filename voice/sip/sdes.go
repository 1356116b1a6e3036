package sip

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SRTP policies (Account.SRTP, LocalMedia.SRTP).
const (
	// SRTPOff offers and accepts clear RTP only; an RTP/SAVP offer gets 488.
	SRTPOff = "off"
	// SRTPOptional offers RTP/AVP with a=crypto lines (best-effort SDES)
	// and takes SRTP when the peer does, clear RTP otherwise.
	SRTPOptional = "optional"
	// SRTPMandatory offers RTP/SAVP only, answers a clear offer with 488 and
	// never sends clear media.
	SRTPMandatory = "mandatory"
)

// SDES crypto suites (RFC 4568, RFC 7714) we offer, in preference order.
const (
	SuiteAESCM128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAESCM128SHA1_32 = "AES_CM_128_HMAC_SHA1_32"
	SuiteAEADAES128GCM   = "AEAD_AES_128_GCM"
)

// MaxSRTPKeyLen is the longest master key plus salt of our suites, in bytes.
const MaxSRTPKeyLen = 30

// ErrSRTPRequired means the account's policy is mandatory and the peer
// offered or answered clear RTP (answer 488 Not Acceptable Here).
var ErrSRTPRequired = errors.New("srtp is mandatory and the peer offers clear rtp")

// ErrNoCryptoSuite means the peer wants SRTP with no suite we support.
var ErrNoCryptoSuite = errors.New("no supported srtp crypto suite")

// suites lists our crypto suites with their master key and salt lengths.
var suites = []struct {
	name      string
	key, salt int
}{
	{SuiteAESCM128SHA1_80, 16, 14},
	{SuiteAESCM128SHA1_32, 16, 14},
	{SuiteAEADAES128GCM, 16, 12},
}

// SuiteKeyLen returns a suite's master key and salt lengths in bytes.
func SuiteKeyLen(suite string) (key, salt int, ok bool) {
	for _, s := range suites {
		if s.name == suite {
			return s.key, s.salt, true
		}
	}
	return 0, 0, false
}

// SRTPKeys are a call's negotiated SDES keys; the zero value means clear
// RTP. Each side encrypts with its own key and decrypts with the peer's.
type SRTPKeys struct {
	// Suite is the crypto suite, e.g. SuiteAESCM128SHA1_80; "" = clear RTP.
	Suite string
	// Local is our master key followed by our master salt (we encrypt).
	Local [MaxSRTPKeyLen]byte
	// Remote is the peer's master key and salt (we decrypt).
	Remote [MaxSRTPKeyLen]byte
}

// Enabled reports whether the call's media is SRTP.
func (k SRTPKeys) Enabled() bool { return k.Suite != "" }

// parseSRTPMode checks a policy name; "" means SRTPOff.
func parseSRTPMode(s string) (string, error) {
	switch m := strings.ToLower(strings.TrimSpace(s)); m {
	case "", SRTPOff:
		return SRTPOff, nil
	case SRTPOptional, SRTPMandatory:
		return m, nil
	}
	return "", fmt.Errorf("srtp %q: want off, optional or mandatory", s)
}

// accountSRTP is an account's policy: mode checked, and "" defaulted by
// transport tp (SRTPOptional on tls, SRTPOff otherwise).
func accountSRTP(mode, tp string) (string, error) {
	if strings.TrimSpace(mode) == "" && tp == "tls" {
		return SRTPOptional, nil
	}
	return parseSRTPMode(mode)
}

// cryptoAttr is one a=crypto line we can use.
type cryptoAttr struct {
	tag   int
	suite string
	key   [MaxSRTPKeyLen]byte
}

// parseCrypto parses the value of an a=crypto attribute:
// "<tag> <suite> inline:<base64>[|lifetime][|MKI:len][;inline:...] [session params]".
// Lines with MKIs, several keys or session parameters are reported as
// unusable rather than half understood.
func parseCrypto(v string) (cryptoAttr, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return cryptoAttr{}, fmt.Errorf("crypto %q: want tag, suite and key", v)
	}
	if len(f) > 3 {
		return cryptoAttr{}, fmt.Errorf("crypto %q: session parameters not supported", v)
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 {
		return cryptoAttr{}, fmt.Errorf("crypto %q: bad tag", v)
	}
	kl, sl, ok := SuiteKeyLen(f[1])
	if !ok {
		return cryptoAttr{}, fmt.Errorf("crypto %q: %w %s", v, ErrNoCryptoSuite, f[1])
	}
	kp := f[2]
	if strings.Contains(kp, ";") {
		return cryptoAttr{}, fmt.Errorf("crypto %q: several master keys not supported", v)
	}
	b64, ok := strings.CutPrefix(kp, "inline:")
	if !ok {
		return cryptoAttr{}, fmt.Errorf("crypto %q: key method is not inline", v)
	}
	parts := strings.Split(b64, "|")
	for _, p := range parts[1:] {
		if strings.Contains(p, ":") {
			return cryptoAttr{}, fmt.Errorf("crypto %q: MKI not supported", v)
		}
	}
	raw, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil {
		return cryptoAttr{}, fmt.Errorf("crypto %q: key is not base64", v)
	}
	if len(raw) != kl+sl {
		return cryptoAttr{}, fmt.Errorf("crypto %q: key is %d bytes, %s needs %d", v, len(raw), f[1], kl+sl)
	}
	c := cryptoAttr{tag: tag, suite: f[1]}
	copy(c.key[:], raw)
	return c, nil
}

// newCrypto makes a crypto line for suite with a fresh random key.
func newCrypto(tag int, suite string) (cryptoAttr, error) {
	kl, sl, ok := SuiteKeyLen(suite)
	if !ok {
		return cryptoAttr{}, fmt.Errorf("%w %s", ErrNoCryptoSuite, suite)
	}
	c := cryptoAttr{tag: tag, suite: suite}
	if _, err := rand.Read(c.key[:kl+sl]); err != nil {
		return cryptoAttr{}, fmt.Errorf("srtp key: %w", err)
	}
	return c, nil
}

// value renders the attribute value (after "a=crypto:").
func (c cryptoAttr) value() string {
	kl, sl, _ := SuiteKeyLen(c.suite)
	return strconv.Itoa(c.tag) + " " + c.suite + " inline:" + base64.StdEncoding.EncodeToString(c.key[:kl+sl])
}

// offerCryptos makes one fresh crypto line per suite we support.
func offerCryptos() ([]cryptoAttr, error) {
	out := make([]cryptoAttr, 0, len(suites))
	for i, s := range suites {
		c, err := newCrypto(i+1, s.name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// answerCrypto decides SRTP for an offer under policy mode: the first
// offered suite we support, answered with the offer's tag and a fresh key.
// It returns the zero cryptoAttr for clear RTP, and ErrSRTPRequired or
// ErrNoCryptoSuite when the offer is not acceptable.
func answerCrypto(mode string, offer audioDesc) (ours, theirs cryptoAttr, err error) {
	if len(offer.cryptos) == 0 {
		switch {
		case offer.secure:
			return ours, theirs, fmt.Errorf("%w in the RTP/SAVP offer", ErrNoCryptoSuite)
		case mode == SRTPMandatory:
			return ours, theirs, ErrSRTPRequired
		}
		return ours, theirs, nil
	}
	if mode == SRTPOff {
		if offer.secure {
			return ours, theirs, errors.New("srtp is off for this account and the peer offers only RTP/SAVP")
		}
		return ours, theirs, nil // best-effort SDES on RTP/AVP: decline it
	}
	theirs = offer.cryptos[0]
	ours, err = newCrypto(theirs.tag, theirs.suite)
	return ours, theirs, err
}

// keysFrom assembles the negotiated keys.
func keysFrom(ours, theirs cryptoAttr) SRTPKeys {
	if ours.suite == "" {
		return SRTPKeys{}
	}
	return SRTPKeys{Suite: ours.suite, Local: ours.key, Remote: theirs.key}
}
