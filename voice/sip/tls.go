package sip

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// tlsConfig builds the client TLS configuration shared by every TLS
// account: certificate verification is always on; the trust store is the
// system roots, or, when accounts name CA files, those CAs (the union of all
// of them: sipgo has one TLS configuration per user agent). It fails with
// the file name when a CA file cannot be read or holds no certificate.
func tlsConfig(accts []*Account) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	var pool *x509.CertPool
	for _, a := range accts {
		if a.Transport != "tls" || a.CAFile == "" {
			continue
		}
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("account %s: ca-file: %w", a.ID, err)
		}
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("account %s: ca-file %s: no PEM certificate in it", a.ID, a.CAFile)
		}
	}
	conf.RootCAs = pool // nil = system roots
	return conf, nil
}

// serverTLSConfig is the TLS listener's configuration: the certificate
// chain and key of two PEM files.
func serverTLSConfig(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tls listener: needs a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls listener: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// listenTLS binds the TLS listener's TCP socket (Config.TLSListen).
func (u *UA) listenTLS() (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(u.cfg.TLSListen); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			network = "tcp4"
		}
	}
	ln, err := net.Listen(network, u.cfg.TLSListen)
	if err != nil {
		return nil, fmt.Errorf("sip: tls listener: %w", err)
	}
	return ln, nil
}

// TLSAddr returns the address the TLS listener is bound to (valid after
// Start with Config.TLSListen; zero otherwise).
func (u *UA) TLSAddr() netip.AddrPort {
	if u.tlsLn == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(u.tlsLn.Addr().String())
	return ap
}

// describeTLSError turns a TLS handshake failure into a sentence naming the
// certificate problem; ok is false when err is not a certificate problem.
func describeTLSError(err error, caFile string) (msg string, ok bool) {
	trust := "the system trust store"
	if caFile != "" {
		trust = "ca-file " + caFile
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
	)
	switch {
	case errors.As(err, &unknown):
		return "the server's TLS certificate is not signed by a trusted CA (" + trust + "): " + unknown.Error(), true
	case errors.As(err, &hostname):
		return "the server's TLS certificate does not match the host: " + hostname.Error(), true
	case errors.As(err, &invalid):
		why := "invalid"
		switch invalid.Reason {
		case x509.Expired:
			why = "expired or not yet valid"
		case x509.NotAuthorizedToSign:
			why = "signed by a certificate that is not a CA"
		case x509.IncompatibleUsage:
			why = "not valid for TLS server authentication"
		}
		return "the server's TLS certificate is " + why + ": " + invalid.Error(), true
	case errors.As(err, &verify):
		return "the server's TLS certificate failed verification (" + trust + "): " + verify.Err.Error(), true
	case errors.As(err, &alert):
		return "the TLS handshake failed: the server sent alert " + alert.Error(), true
	case strings.Contains(err.Error(), "TLS handshake error"):
		return "the TLS handshake failed: " + err.Error(), true
	}
	return "", false
}
