package app

import (
	"crypto/ed25519"
	"log/slog"

	"github.com/loopstart/loopstart/firmware/update"
)

// profileSigningKeys returns the keys a provisioning profile's signature
// may be made with: the keys trusted to sign firmware (the built-in ones
// and the --firmware-key file, when given). A key that cannot be read is
// logged and left out; signed profiles then only verify with the others.
func profileSigningKeys(firmwareKeyFile string, log *slog.Logger) []ed25519.PublicKey {
	keys, err := update.BuiltinKeys()
	if err != nil {
		log.Error("provisioning: built-in signing keys unreadable", "err", err)
	}
	if firmwareKeyFile != "" {
		k, err := update.ReadPublicKeyFile(firmwareKeyFile)
		if err != nil {
			log.Error("provisioning: --firmware-key unreadable; not trusted for profiles", "err", err)
		} else {
			keys = append(keys, k)
		}
	}
	return keys
}
