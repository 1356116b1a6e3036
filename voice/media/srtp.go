package media

import (
	"fmt"

	"github.com/pion/srtp/v3"
)

// SRTP crypto suite names (RFC 4568, RFC 7714), as in SDP a=crypto lines.
const (
	SuiteAESCM128SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAESCM128SHA1_32 = "AES_CM_128_HMAC_SHA1_32"
	SuiteAEADAES128GCM   = "AEAD_AES_128_GCM"
)

// srtpOverhead is the most SRTP adds to an RTP packet (a 16-byte GCM tag;
// the HMAC-SHA1 suites add 10 or 4).
const srtpOverhead = 16

// Crypto is one call's SRTP state (pion/srtp): the key we encrypt with and
// the peer's key we decrypt with. Build it off the loop with NewCrypto (it
// allocates) and hand it to Stream.Start in the Session; the stream then
// protects and unprotects packets in fixed buffers without allocating.
type Crypto struct {
	suite  string
	tx     *srtp.Context // our RTP and RTCP: used by the loop only
	rxRTP  *srtp.Context // the peer's RTP: used by the RTP reader only
	rxRTCP *srtp.Context // the peer's RTCP: used by the RTCP reader only
	// tag is what the suite adds to an RTP packet (its authentication
	// tag): a received packet at most this much longer than a ring slot
	// decrypts into the slot.
	tag int
}

// profileOf maps a suite name to pion's protection profile.
func profileOf(suite string) (srtp.ProtectionProfile, error) {
	switch suite {
	case SuiteAESCM128SHA1_80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case SuiteAESCM128SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	case SuiteAEADAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	}
	return 0, fmt.Errorf("media: srtp suite %q not supported", suite)
}

// NewCrypto builds the SRTP contexts for suite from our master key and salt
// (local, concatenated as in SDES inline keys) and the peer's (remote).
// Replay protection is on for received SRTP and SRTCP.
func NewCrypto(suite string, local, remote []byte) (*Crypto, error) {
	prof, err := profileOf(suite)
	if err != nil {
		return nil, err
	}
	kl, _ := prof.KeyLen()
	sl, _ := prof.SaltLen()
	if len(local) < kl+sl || len(remote) < kl+sl {
		return nil, fmt.Errorf("media: srtp %s needs %d bytes of key and salt, got %d and %d", suite, kl+sl, len(local), len(remote))
	}
	mk := func(key []byte, opts ...srtp.ContextOption) (*srtp.Context, error) {
		c, err := srtp.CreateContext(key[:kl], key[kl:kl+sl], prof, opts...)
		if err != nil {
			return nil, fmt.Errorf("media: srtp %s: %w", suite, err)
		}
		return c, nil
	}
	c := &Crypto{suite: suite}
	if c.tag, err = prof.AuthTagRTPLen(); err != nil {
		return nil, fmt.Errorf("media: srtp %s: %w", suite, err)
	}
	if prof == srtp.ProtectionProfileAeadAes128Gcm {
		c.tag, _ = prof.AEADAuthTagLen()
	}
	if c.tx, err = mk(local); err != nil {
		return nil, err
	}
	if c.rxRTP, err = mk(remote, srtp.SRTPReplayProtection(128)); err != nil {
		return nil, err
	}
	if c.rxRTCP, err = mk(remote, srtp.SRTCPReplayProtection(128)); err != nil {
		return nil, err
	}
	return c, nil
}

// Suite names the crypto suite.
func (c *Crypto) Suite() string { return c.suite }
