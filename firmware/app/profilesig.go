package app

import (
	"crypto/ed25519"
	"log/slog"
)

// profileSigningKeys returns the keys a provisioning profile's signature
// may be made with: the keys trusted to sign firmware (the built-in ones
// and the --firmware-key file, when given). A key that cannot be read is
// logged and left out; signed profiles then only verify with the others.
func profileSigningKeys(firmwareKeyFile string, log *slog.Logger) []ed25519.PublicKey {
	keys, err := trustedKeys(firmwareKeyFile)
	if err != nil {
		log.Error("provisioning: a firmware signing key is unreadable; not trusted for profiles", "err", err)
	}
	return keys
}
