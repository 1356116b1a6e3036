package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

//go:embed peers/kamailio-tls.cfg
var kamailioTLSCfg string

// TestCert is a throw-away CA and a server certificate for 127.0.0.1 it
// signed, written as PEM files.
type TestCert struct {
	// CAFile is the CA certificate: the trust store clients get.
	CAFile string
	// CertFile and KeyFile are the server's certificate and private key.
	CertFile, KeyFile string
}

// WriteTestCert makes a fresh CA and a server certificate (IP SAN
// 127.0.0.1, valid for a day) with crypto/x509 and writes them into dir.
func WriteTestCert(t testing.TB, dir string) TestCert {
	t.Helper()
	now := time.Now().Add(-time.Hour)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loopstart lab CA"},
		NotBefore: now, NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now, NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := TestCert{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "cert.pem"),
		KeyFile:  filepath.Join(dir, "key.pem"),
	}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(c.CAFile, "CERTIFICATE", caDER)
	write(c.CertFile, "CERTIFICATE", der)
	write(c.KeyFile, "EC PRIVATE KEY", keyDER)
	return c
}

// KamailioTLS is Kamailio with the TLS listener variant of the lab config.
type KamailioTLS struct {
	*Kamailio
	// TLSPort is the TLS SIP port on 127.0.0.1; TLSAddr is "127.0.0.1:TLSPort".
	TLSPort int
	TLSAddr string
	// Cert is the certificate Kamailio serves; Cert.CAFile is the trust store.
	Cert TestCert
}

// StartKamailioTLS starts Kamailio listening on UDP/TCP (Port) and TLS
// (TLSPort) with a certificate made by WriteTestCert, and with connection
// reuse for TCP/TLS clients.
func StartKamailioTLS(t testing.TB) *KamailioTLS {
	t.Helper()
	return startKamailioTLS(t, 0)
}

// startKamailioTLS is StartKamailioTLS with users 1005 to 1004+extra
// (passwords secret5, ...) besides the lab's four.
func startKamailioTLS(t testing.TB, extra int) *KamailioTLS {
	t.Helper()
	Need(t, "kamailio", "kamcmd")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"); err != nil {
		Need(t, "kamailio-tls-module(tls.so)")
	}
	dir := t.TempDir()
	cert := WriteTestCert(t, dir)
	port := FreePort(t, 1)
	tlsPort := FreePort(t, 1)
	ctl := filepath.Join(dir, "kamailio.ctl")
	tlsCfg := filepath.Join(dir, "tls.cfg")
	tlsText := fmt.Sprintf(`[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = %s
certificate = %s

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
`, cert.KeyFile, cert.CertFile)
	if err := os.WriteFile(tlsCfg, []byte(tlsText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("@PORT@", fmt.Sprint(port), "@TLSPORT@", fmt.Sprint(tlsPort), "@CTL@", ctl,
		"@QOP@", "1", "@TLSCFG@", tlsCfg, "@AUTHPARAMS@", "", "@PRECHALLENGE@", "", "@AUTHORIZED@", "", "@AUTHANY@", "").Replace(kamailioTLSCfg)
	if extra > 0 {
		const last = `$sht(users=>1004) = "secret4";`
		more := last
		for u := 1005; u <= 1004+extra; u++ {
			more += fmt.Sprintf("\n\t$sht(users=>%d) = \"secret%d\";", u, u-1000)
		}
		cfg = strings.Replace(cfg, last, more, 1)
	}
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &Kamailio{Port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port), ctl: ctl}
	k.proc = Start(t, dir, "kamailio", "-DD", "-E", "-f", cfgPath, "-P", filepath.Join(dir, "kamailio.pid"),
		"-Y", dir, "-m", "64", "-M", "8")
	if err := waitSIP(k.Addr, 10*time.Second); err != nil {
		t.Fatalf("kamailio did not come up: %v\n%s", err, tail(k.proc.Log(), 40))
	}
	return &KamailioTLS{Kamailio: k, TLSPort: tlsPort, TLSAddr: fmt.Sprintf("127.0.0.1:%d", tlsPort), Cert: cert}
}

// SecureConfig is the gateway config for two accounts registering over TLS
// to tlsAddr (sips:), trusting caFile, with the given SRTP policy.
func SecureConfig(tlsAddr, caFile, srtp string) string {
	return strings.NewReplacer("ADDR", tlsAddr, "CAFILE", caFile, "SRTP", srtp).Replace(`<loopstart>
  <account id="1"><registrar>sips:ADDR</registrar><user>1001</user><password>secret1</password><ca-file>CAFILE</ca-file><srtp>SRTP</srtp></account>
  <account id="2"><registrar>sips:ADDR</registrar><user>1002</user><password>secret2</password><ca-file>CAFILE</ca-file><srtp>SRTP</srtp></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
</loopstart>
`)
}
