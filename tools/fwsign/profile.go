package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/loopstart/loopstart/firmware/provision"
	"github.com/loopstart/loopstart/firmware/update"
)

// runProfile runs the profile commands: profile (sign), verify-profile
// and pem (export a key for openssl).
func runProfile(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	switch args[0] {
	case "profile":
		key := fs.String("key", "", "private key file")
		out := fs.String("o", "", "signature file (default PROFILE"+provision.SignatureSuffix+")")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *key == "" || fs.NArg() != 1 {
			return errors.New(usage)
		}
		priv, err := update.ReadPrivateKeyFile(*key)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		if len(data) > provision.MaxFile {
			return fmt.Errorf("profile: %d bytes, the gateway fetches at most %d", len(data), provision.MaxFile)
		}
		if *out == "" {
			*out = fs.Arg(0) + provision.SignatureSuffix
		}
		if err := os.WriteFile(*out, provision.SignProfile(priv, data), 0o644); err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		enc := ""
		if provision.IsEncrypted(data) {
			enc = " (encrypted)"
		}
		fmt.Fprintf(stdout, "signed %s%s with key %s: %s\n", fs.Arg(0), enc, update.KeyID(priv.Public().(ed25519.PublicKey)), *out)
		return nil
	case "verify-profile":
		pubf := fs.String("pub", "", "public key file")
		sigf := fs.String("sig", "", "signature file (default PROFILE"+provision.SignatureSuffix+")")
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
		if *sigf == "" {
			*sigf = fs.Arg(0) + provision.SignatureSuffix
		}
		data, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("verify-profile: %w", err)
		}
		sig, err := os.ReadFile(*sigf)
		if err != nil {
			return fmt.Errorf("verify-profile: %w", err)
		}
		id, err := provision.VerifyProfile(data, sig, []ed25519.PublicKey{pub})
		if err != nil {
			return fmt.Errorf("verify-profile %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "%s: signature good, key %s\n", fs.Arg(0), id)
		return nil
	case "pem":
		key := fs.String("key", "", "private key file")
		out := fs.String("o", "", "PEM output file")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *key == "" || *out == "" || fs.NArg() != 0 {
			return errors.New(usage)
		}
		priv, err := update.ReadPrivateKeyFile(*key)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return fmt.Errorf("pem: %w", err)
		}
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("pem: %w", err)
		}
		if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
			f.Close()
			return fmt.Errorf("pem: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("pem: %w", err)
		}
		fmt.Fprintf(stdout, "key %s: %s\n", update.KeyID(priv.Public().(ed25519.PublicKey)), *out)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}
