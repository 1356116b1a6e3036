package sip

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// testPKI is a throw-away CA and a server certificate it signed.
type testPKI struct {
	caFile string
	server tls.Certificate
}

// newTestPKI makes a CA and a server certificate for ips/dns names, valid
// from notBefore for a day.
func newTestPKI(t *testing.T, notBefore time.Time, ips []net.IP, dns ...string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loopstart test CA"},
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "registrar"},
		NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour),
		IPAddresses: ips, DNSNames: dns,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return testPKI{caFile: caFile, server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// tlsRegistrar accepts every REGISTER over TLS and remembers the
// connections so a test can cut them.
type tlsRegistrar struct {
	addr string
	mu   sync.Mutex
	regs int
	srcs []string
	conn []net.Conn
	got  chan struct{}
}

type recordingListener struct {
	net.Listener
	r *tlsRegistrar
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.r.mu.Lock()
		l.r.conn = append(l.r.conn, c)
		l.r.mu.Unlock()
	}
	return c, err
}

func startTLSRegistrar(t *testing.T, cert tls.Certificate) *tlsRegistrar {
	t.Helper()
	r := &tlsRegistrar{got: make(chan struct{}, 16)}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
		if ct := req.Contact(); ct != nil {
			res.AppendHeader(sipmsg.HeaderClone(ct))
		}
		_ = tx.Respond(res)
		r.mu.Lock()
		r.regs++
		r.srcs = append(r.srcs, req.Source())
		r.mu.Unlock()
		r.got <- struct{}{}
	})
	ln, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go srv.ServeTLS(recordingListener{ln, r})
	t.Cleanup(func() {
		ua.Close()
		ln.Close()
	})
	return r
}

// cut closes every connection the registrar accepted.
func (r *tlsRegistrar) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conn {
		c.Close()
	}
	r.conn = nil
}

func (r *tlsRegistrar) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no REGISTER arrived")
	}
}

func waitRegState(t *testing.T, u *UA, state string) RegStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := u.Registrations()[0]
		if st.State == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration state %q (%s), want %q", st.State, st.LastError, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRegisterTLSVerification(t *testing.T) {
	lo := []net.IP{net.IPv4(127, 0, 0, 1)}
	good := newTestPKI(t, time.Now().Add(-time.Hour), lo)
	other := newTestPKI(t, time.Now().Add(-time.Hour), lo)
	wrongHost := newTestPKI(t, time.Now().Add(-time.Hour), nil, "pbx.example")
	expired := newTestPKI(t, time.Now().Add(-48*time.Hour), lo)
	tests := []struct {
		name    string
		server  tls.Certificate
		caFile  string
		want    string // registration state
		wantErr string
	}{
		{"trusted", good.server, good.caFile, RegRegistered, ""},
		{"unknown ca", good.server, other.caFile, RegFailed, "not signed by a trusted CA (ca-file " + other.caFile},
		{"wrong host", wrongHost.server, wrongHost.caFile, RegFailed, "does not match the host"},
		{"expired", expired.server, expired.caFile, RegFailed, "expired or not yet valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := startTLSRegistrar(t, tt.server)
			u := startUA(t, nil, Account{ID: "1", User: "1001", Password: "x", Registrar: "sips:" + reg.addr, CAFile: tt.caFile})
			st := waitRegState(t, u, tt.want)
			if !strings.Contains(st.LastError, tt.wantErr) {
				t.Fatalf("LastError = %q, want it to contain %q", st.LastError, tt.wantErr)
			}
		})
	}
}

func TestRegisterTLSReconnect(t *testing.T) {
	pki := newTestPKI(t, time.Now().Add(-time.Hour), []net.IP{net.IPv4(127, 0, 0, 1)})
	reg := startTLSRegistrar(t, pki.server)
	u := startUA(t, nil, Account{ID: "1", User: "1001", Password: "x", Registrar: "sip:" + reg.addr + ";transport=tls", CAFile: pki.caFile})
	reg.wait(t)
	waitRegState(t, u, RegRegistered)
	reg.mu.Lock()
	conns := len(reg.conn)
	reg.mu.Unlock()
	if conns != 1 {
		t.Fatalf("%d connections, want 1", conns)
	}
	reg.cut()
	reg.wait(t) // re-registered on a new connection, long before the refresh
	waitRegState(t, u, RegRegistered)
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.regs != 2 || len(reg.conn) != 1 || reg.srcs[0] == reg.srcs[1] {
		t.Fatalf("regs=%d conns=%d sources=%v: want a second REGISTER on a new connection", reg.regs, len(reg.conn), reg.srcs)
	}
}

func TestTLSConfigUsesCAFile(t *testing.T) {
	pki := newTestPKI(t, time.Now(), nil, "x")
	conf, err := tlsConfig([]*Account{{ID: "1", Transport: "tls", CAFile: pki.caFile}})
	if err != nil {
		t.Fatal(err)
	}
	if conf.RootCAs == nil || conf.InsecureSkipVerify {
		t.Fatal("want verification against the CA file")
	}
	conf, err = tlsConfig([]*Account{{ID: "1", Transport: "tls"}})
	if err != nil || conf.RootCAs != nil || conf.InsecureSkipVerify {
		t.Fatalf("want system roots, got %v %v", conf, err)
	}
}
