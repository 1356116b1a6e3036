// Command fwsign makes firmware signing keys and signs and verifies
// firmware images (see firmware/update for the format).
//
//	fwsign keygen -o NAME                                  writes NAME.key (secret, mode 0600) and NAME.pub
//	fwsign sign -key NAME.key -version V -target T [-built RFC3339] [-o OUT] PAYLOAD
//	fwsign verify -pub NAME.pub [-target T] IMAGE
//	fwsign profile -key NAME.key [-o OUT] PROFILE           writes PROFILE.sig (or OUT), the profile's detached signature
//	fwsign verify-profile -pub NAME.pub [-sig SIG] PROFILE  checks PROFILE against PROFILE.sig (or SIG)
//	fwsign pem -key NAME.key -o NAME.pem                   writes the key as PKCS#8 PEM (mode 0600) for openssl
//
// -built is the payload's build date (default: now, the signing time),
// which orders releases whose versions are not semantic versions: give
// the binary's own build date (the Makefile's BUILT) when signing a build
// made earlier, so the gateway recognises older builds as downgrades.
// The date is stored in the manifest only when it differs from the
// signing time.
//
// Provisioning profiles are signed with the same keys (see
// firmware/provision: the signature covers the exact bytes served, so
// sign an encrypted profile after encrypting it). `fwsign pem` lets a
// PBX that already runs openssl sign with
// `openssl pkeyutl -sign -rawin -inkey NAME.pem -in PROFILE -out PROFILE.sig`.
//
// A build trusts the keys in firmware/update/keys/*.pub and
// -X github.com/loopstart/loopstart/firmware/update.BuildKeys=BASE64;
// `loopstart run --firmware-key NAME.pub` adds one at run time.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/loopstart/loopstart/firmware/update"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "fwsign:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  fwsign keygen -o NAME
  fwsign sign -key NAME.key -version V -target T [-built RFC3339] [-o OUT] PAYLOAD
  fwsign verify -pub NAME.pub [-target T] IMAGE
  fwsign profile -key NAME.key [-o OUT] PROFILE
  fwsign verify-profile -pub NAME.pub [-sig SIG] PROFILE
  fwsign pem -key NAME.key -o NAME.pem`

func run(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("fwsign "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "keygen":
		out := fs.String("o", "", "output name: NAME.key and NAME.pub")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" || fs.NArg() != 0 {
			return errors.New(usage)
		}
		pub, priv, err := update.GenerateKey()
		if err != nil {
			return err
		}
		// O_EXCL: never overwrite a key.
		f, err := os.OpenFile(*out+".key", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		if _, err := f.WriteString(update.FormatPrivateKey(priv)); err != nil {
			f.Close()
			return fmt.Errorf("keygen: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		if err := os.WriteFile(*out+".pub", []byte(update.FormatPublicKey(pub)), 0o644); err != nil {
			return fmt.Errorf("keygen: %w", err)
		}
		fmt.Fprintf(stdout, "key %s: secret %s.key, public %s.pub\n", update.KeyID(pub), *out, *out)
		return nil
	case "sign":
		key := fs.String("key", "", "private key file")
		version := fs.String("version", "", "firmware version of the payload")
		target := fs.String("target", "", "target board/arch, e.g. sim/amd64")
		out := fs.String("o", "", "output image (default PAYLOAD.img)")
		builtArg := fs.String("built", "", "build date of the payload, RFC 3339 (default now)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *key == "" || *version == "" || *target == "" || fs.NArg() != 1 {
			return errors.New(usage)
		}
		signed := now().UTC()
		var built time.Time
		if *builtArg != "" {
			t, err := time.Parse(time.RFC3339, *builtArg)
			if err != nil {
				return fmt.Errorf("sign: -built: %w", err)
			}
			// A date in the future would make every later build look older.
			if t.After(signed.Add(time.Minute)) {
				return fmt.Errorf("sign: -built %s is after the signing time %s", t.UTC().Format(time.RFC3339), signed.Format(time.RFC3339))
			}
			if !t.Equal(signed) {
				built = t
			}
		}
		priv, err := update.ReadPrivateKeyFile(*key)
		if err != nil {
			return err
		}
		payload, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		img, err := update.SignBuilt(priv, *version, *target, signed, built, payload)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		if *out == "" {
			*out = fs.Arg(0) + ".img"
		}
		if err := os.WriteFile(*out, img, 0o644); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		if built.IsZero() {
			built = signed
		}
		fmt.Fprintf(stdout, "signed %s: version %s, target %s, built %s, %d bytes\n", *out, *version, *target,
			built.UTC().Format(time.RFC3339), len(payload))
		return nil
	case "verify":
		pubf := fs.String("pub", "", "public key file")
		target := fs.String("target", "", "refuse images for another target")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *pubf == "" || fs.NArg() != 1 {
			return errors.New(usage)
		}
		pub, err := update.ReadPublicKeyFile(*pubf)
		if err != nil {
			return err
		}
		img, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		m, _, err := update.VerifyImage(img, update.Keys{pub}, *target)
		if err != nil {
			return fmt.Errorf("verify %s: %w", fs.Arg(0), err)
		}
		b, _ := json.MarshalIndent(m, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	case "profile", "verify-profile", "pem":
		return runProfile(fs, args, stdout)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
