package webui

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// File names of the HTTPS certificate and key in the data directory.
const (
	CertFile = "webui-cert.pem"
	KeyFile  = "webui-key.pem"
)

// certStore holds the HTTPS certificate; an upload replaces it live.
type certStore struct {
	dir  string
	cert atomic.Pointer[tls.Certificate]
}

// EnableTLS loads the HTTPS certificate from the data directory, making a
// self-signed one (ECDSA P-256, ten years, for hosts) on first start, and
// returns the TLS config to serve with. A certificate uploaded later
// (POST /api/tls) takes effect for new connections at once.
func (s *Server) EnableTLS(hosts []string) (*tls.Config, error) {
	if s.opts.DataDir == "" {
		return nil, errors.New("webui: https needs a data directory")
	}
	cs := &certStore{dir: s.opts.DataDir}
	certPath, keyPath := filepath.Join(cs.dir, CertFile), filepath.Join(cs.dir, KeyFile)
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if errors.Is(err, os.ErrNotExist) {
		certPEM, keyPEM, gerr := SelfSigned(hosts, s.opts.Now())
		if gerr != nil {
			return nil, gerr
		}
		if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
			return nil, err
		}
		s.log.Info("webui: made a self-signed HTTPS certificate", "file", certPath)
		c, err = tls.X509KeyPair(certPEM, keyPEM)
	}
	if err != nil {
		return nil, fmt.Errorf("webui: https certificate: %w", err)
	}
	cs.cert.Store(&c)
	s.certs = cs
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cs.cert.Load(), nil
		},
	}, nil
}

// SelfSigned makes a self-signed certificate and key, PEM encoded, valid
// for hosts (names or IP addresses) from now for ten years.
func SelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("webui: key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "loopstart", Organization: []string{"Loopstart gateway"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("webui: certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("webui: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// writeFileAtomic writes data to path through a synced temporary file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("webui: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	werr := f.Chmod(mode)
	_, err2 := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, err2, serr, cerr); err != nil {
		return fmt.Errorf("webui: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("webui: write %s: %w", path, err)
	}
	return nil
}

// handleCertUpload replaces the HTTPS certificate with an uploaded PEM
// bundle: the certificate chain and its private key in one body. It is
// checked (the key must match, the certificate must be current) before
// anything is written.
func (s *Server) handleCertUpload(w http.ResponseWriter, r *http.Request) {
	if s.certs == nil {
		writeError(w, http.StatusNotFound, "HTTPS is not enabled")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "cannot read the body: "+err.Error())
		return
	}
	var certs, keys []byte
	rest := body
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		enc := pem.EncodeToMemory(b)
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			keys = append(keys, enc...)
		} else if b.Type == "CERTIFICATE" {
			certs = append(certs, enc...)
		}
	}
	c, err := tls.X509KeyPair(certs, keys)
	if err != nil {
		writeError(w, http.StatusBadRequest, "not a certificate with its matching key (PEM): "+err.Error())
		return
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		writeError(w, http.StatusBadRequest, "certificate: "+err.Error())
		return
	}
	if now := s.opts.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("certificate is not valid now (%s to %s)", leaf.NotBefore, leaf.NotAfter))
		return
	}
	if err := writeFileAtomic(filepath.Join(s.certs.dir, KeyFile), keys, 0o600); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if err := writeFileAtomic(filepath.Join(s.certs.dir, CertFile), certs, 0o644); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.certs.cert.Store(&c)
	s.audit("https certificate replaced", "subject", leaf.Subject.String())
	s.ok(w)
}

// RedirectToHTTPS answers every request with a redirect to the same path
// on HTTPS at httpsPort ("" or "443" for the default port), except
// /healthz, which it serves.
func RedirectToHTTPS(httpsPort string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok\n"))
			return
		}
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		if httpsPort != "" && httpsPort != "443" {
			host += ":" + httpsPort
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}
