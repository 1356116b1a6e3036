package webui

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestTLSCertificate(t *testing.T) {
	s, clk, _ := newAuthServer(t, false)
	tcfg, err := s.EnableTLS([]string{"127.0.0.1", "ata.example"})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := tcfg.GetCertificate(&tls.ClientHelloInfo{})
	leaf, err := x509.ParseCertificate(first.Certificate[0])
	if err != nil || leaf.VerifyHostname("ata.example") != nil || leaf.VerifyHostname("127.0.0.1") != nil {
		t.Fatalf("self-signed certificate %v: %v", leaf.DNSNames, err)
	}
	if fi, err := os.Stat(filepath.Join(s.opts.DataDir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	// A restart keeps the same certificate.
	s2 := New(Options{DataDir: s.opts.DataDir})
	t2, err := s2.EnableTLS(nil)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := t2.GetCertificate(nil); string(again.Certificate[0]) != string(first.Certificate[0]) {
		t.Error("certificate remade on restart")
	}

	lr, _ := login(t, s, "")
	auth := map[string]string{"Authorization": "Bearer " + lr.Token}
	certPEM, keyPEM, err := SelfSigned([]string{"new.example"}, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	otherCert, _, _ := SelfSigned([]string{"x"}, clk.now())
	oldCert, oldKey, _ := SelfSigned([]string{"x"}, clk.now().AddDate(-20, 0, 0))
	for name, body := range map[string]string{
		"garbage":      "hello",
		"key mismatch": string(otherCert) + string(keyPEM),
		"no key":       string(certPEM),
		"expired":      string(oldCert) + string(oldKey),
	} {
		if w := send(t, s, req{method: "POST", path: "/api/tls", body: body, ctype: "application/x-pem-file", hdr: auth}); w.Code != 400 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	if now, _ := tcfg.GetCertificate(nil); string(now.Certificate[0]) != string(first.Certificate[0]) {
		t.Fatal("a bad upload replaced the certificate")
	}
	if w := send(t, s, req{method: "POST", path: "/api/tls", body: string(certPEM) + string(keyPEM), ctype: "application/x-pem-file", hdr: auth}); w.Code != 200 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	now, _ := tcfg.GetCertificate(nil)
	if l, _ := x509.ParseCertificate(now.Certificate[0]); l.VerifyHostname("new.example") != nil {
		t.Error("uploaded certificate not in use")
	}
}

func TestRedirectToHTTPS(t *testing.T) {
	for _, c := range []struct{ host, port, want string }{
		{"192.0.2.1:80", "443", "https://192.0.2.1/a?b=1"},
		{"192.0.2.1", "8443", "https://192.0.2.1:8443/a?b=1"},
		{"[2001:db8::1]:80", "", "https://[2001:db8::1]/a?b=1"},
	} {
		r := httptest.NewRequest("GET", "/a?b=1", nil)
		r.Host = c.host
		w := httptest.NewRecorder()
		RedirectToHTTPS(c.port).ServeHTTP(w, r)
		if w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != c.want {
			t.Errorf("%s: %d %q", c.host, w.Code, w.Header().Get("Location"))
		}
	}
}
