package provision

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
)

func TestServerFromDHCP(t *testing.T) {
	cases := []struct {
		name string
		opts map[uint8][]byte
		want []string
		err  string
	}{
		{"66 host", map[uint8][]byte{66: []byte("10.0.0.5")}, []string{"tftp://10.0.0.5/"}, ""},
		{"66 padded", map[uint8][]byte{66: []byte("pbx.example.com\x00")}, []string{"tftp://pbx.example.com/"}, ""},
		{"66 url", map[uint8][]byte{66: []byte("https://pbx.example.com/prov/")}, []string{"https://pbx.example.com/prov/"}, ""},
		{"160 before 66", map[uint8][]byte{66: []byte("10.0.0.5"), 160: []byte("http://p.example/$MAC.xml")},
			[]string{"http://p.example/$MAC.xml", "tftp://10.0.0.5/"}, ""},
		{"150 list", map[uint8][]byte{150: {10, 0, 0, 1, 10, 0, 0, 2}}, []string{"tftp://10.0.0.1/", "tftp://10.0.0.2/"}, ""},
		{"43 text", map[uint8][]byte{43: []byte("https://a.example/x/")}, []string{"https://a.example/x/"}, ""},
		{"43 sub-options", map[uint8][]byte{43: append([]byte{1, 3, 'a', 'b', 'c', 2, 20}, []byte("http://b.example/ab/")...)},
			[]string{"http://b.example/ab/"}, ""},
		{"dedup", map[uint8][]byte{66: []byte("10.0.0.1"), 150: {10, 0, 0, 1}}, []string{"tftp://10.0.0.1/"}, ""},
		{"none", map[uint8][]byte{}, nil, "no provisioning server"},
		{"ftp refused", map[uint8][]byte{66: []byte("ftp://x/")}, nil, "scheme ftp"},
		{"150 bad length", map[uint8][]byte{150: {1, 2, 3}}, nil, "multiple of 4"},
		{"43 truncated", map[uint8][]byte{43: {1, 9, 'a'}}, nil, "truncated"},
		{"binary 66", map[uint8][]byte{66: {0xff, 0x01}}, nil, "not text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			us, err := ServerFromDHCP(c.opts)
			var got []string
			for _, u := range us {
				got = append(got, u.String())
			}
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrNoServer) {
					t.Errorf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("= %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func FuzzServerFromDHCP(f *testing.F) {
	f.Add(byte(66), []byte("10.0.0.1"))
	f.Add(byte(43), []byte{1, 3, 'a', 'b', 'c'})
	f.Add(byte(150), []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, code byte, v []byte) {
		us, err := ServerFromDHCP(map[uint8][]byte{code: v})
		if err == nil && len(us) == 0 {
			t.Fatal("no error and no server")
		}
		for _, u := range us {
			if u.Scheme != "tftp" && u.Scheme != "http" && u.Scheme != "https" {
				t.Fatalf("scheme %q", u.Scheme)
			}
		}
	})
}

var testID = Identity{MAC: net.HardwareAddr{0x00, 0x0B, 0x82, 0xAB, 0xCD, 0xEF}, Model: "loopstart-sim", Version: "1.2"}

func TestCandidates(t *testing.T) {
	for _, c := range []struct{ server, want string }{
		{"tftp://10.0.0.1/", "tftp://10.0.0.1/loopstart-000b82abcdef.xml tftp://10.0.0.1/cfg000b82abcdef.xml tftp://10.0.0.1/spa000b82abcdef.cfg tftp://10.0.0.1/spa000b82abcdef.xml tftp://10.0.0.1/loopstart.xml tftp://10.0.0.1/cfg.xml"},
		{"https://u:p@h.example/prov/$MODEL/", "https://u:p@h.example/prov/loopstart-sim/loopstart-000b82abcdef.xml https://u:p@h.example/prov/loopstart-sim/cfg000b82abcdef.xml https://u:p@h.example/prov/loopstart-sim/spa000b82abcdef.cfg https://u:p@h.example/prov/loopstart-sim/spa000b82abcdef.xml https://u:p@h.example/prov/loopstart-sim/loopstart.xml https://u:p@h.example/prov/loopstart-sim/cfg.xml"},
		{"http://h/gs/cfg$MAC", "http://h/gs/cfg000b82abcdef http://h/gs/loopstart-000b82abcdef.xml http://h/gs/cfg000b82abcdef.xml http://h/gs/spa000b82abcdef.cfg http://h/gs/spa000b82abcdef.xml http://h/gs/loopstart.xml http://h/gs/cfg.xml"},
		{"http://h/cfg/$MAC.xml?v=$VERSION", "http://h/cfg/000b82abcdef.xml?v=1.2"},
	} {
		u, _ := url.Parse(c.server)
		cs, err := Candidates(u, testID)
		var got []string
		for _, x := range cs {
			got = append(got, x.String())
		}
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("%s: %v %v", c.server, got, err)
		}
	}
}

const baseXML = `<loopstart>
  <account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user><password>secret1</password></account>
  <account id="2"><registrar>sip:127.0.0.1:5060</registrar><user>1002</user><password>secret2</password></account>
  <port n="1" account="1"/>
  <port n="2" account="2"/>
</loopstart>`

func baseConfig(t testing.TB) *config.Config {
	c, err := config.Parse(strings.NewReader(baseXML))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// store is the config in force for Provisioner tests.
type store struct {
	mu  sync.Mutex
	cur *config.Config
	n   int
}

func (s *store) Current() *config.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Clone()
}

func (s *store) Apply(c *config.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = c
	s.n++
	return nil
}

func newProv(t *testing.T, st *store, url string, roots *x509.CertPool) *Provisioner {
	st.mu.Lock()
	st.cur.Provisioning = &config.Provisioning{URL: url, Interval: 3600}
	st.mu.Unlock()
	return New(Options{Identity: testID, Current: st.Current, Apply: st.Apply,
		Fetcher: &Fetcher{Roots: roots, Timeout: 3 * time.Second},
		Logger:  slog.New(slog.DiscardHandler)})
}

// fileServer serves files by path over HTTPS, optionally behind basic auth.
func fileServer(t *testing.T, files map[string]string, user, pass string) *httptest.Server {
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="prov"`)
				w.WriteHeader(401)
				return
			}
		}
		mu.Lock()
		body, ok := files[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(body, "CUT:") { // a connection that breaks mid-file
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, body[4:])
			return
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func roots(srv *httptest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(srv.Certificate())
	return p
}

func TestSyncHTTPS(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{
		"/prov/cfg000b82abcdef.xml": `<loopstart><account id="2"><user>2002</user></account></loopstart>`,
		"/bad/loopstart.xml":        `<loopstart><account id="2"><user>2002</user>`,
		"/invalid/loopstart.xml":    `<loopstart><account id="2"><expires>1</expires></account></loopstart>`,
		"/cut/loopstart.xml":        `CUT:<loopstart><account id="2"><user>30`,
	}
	srv := fileServer(t, files, "", "")
	st := &store{cur: baseConfig(t)}

	p := newProv(t, st, srv.URL+"/prov/", roots(srv))
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	s := p.Status()
	if st.Current().Account("2").User != "2002" || s.LastFile != srv.URL+"/prov/cfg000b82abcdef.xml" || s.LastSuccess.IsZero() || s.LastError != "" {
		t.Fatalf("after sync: user %s status %+v", st.Current().Account("2").User, s)
	}
	// Unchanged file: no apply.
	n := st.n
	if err := p.Sync(ctx); err != nil || st.n != n {
		t.Errorf("unchanged: %v applied %d", err, st.n-n)
	}

	closed := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		a := l.Addr().String()
		l.Close()
		return "https://" + a + "/"
	}()
	// The same server's certificate (127.0.0.1, ::1, example.com) served on
	// 127.0.0.2: a name mismatch that needs no DNS or /etc/hosts entry.
	other := httptest.NewUnstartedServer(srv.Config.Handler)
	l2, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2: %v", err)
	}
	other.Listener.Close()
	other.Listener = l2
	other.StartTLS()
	defer other.Close()
	mismatch := other.URL
	for _, c := range []struct {
		name, url string
		roots     *x509.CertPool
		want      string
	}{
		{"bad xml", srv.URL + "/bad/", roots(srv), "malformed XML"},
		{"invalid value", srv.URL + "/invalid/", roots(srv), "expires"},
		{"truncated", srv.URL + "/cut/", roots(srv), "transfer broke off"},
		{"unreachable", closed, roots(srv), "unreachable"},
		{"certificate not trusted", srv.URL + "/prov/", otherRoots(t), "certificate not trusted"},
		{"certificate mismatch", mismatch + "/prov/", roots(srv), "certificate mismatch"},
		{"no file", srv.URL + "/none/", roots(srv), "none of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newProv(t, st, c.url, c.roots)
			before, _ := st.Current().Marshal()
			n := st.n
			err := p.Sync(ctx)
			s := p.Status()
			if err == nil || !strings.Contains(err.Error(), c.want) || s.LastError != err.Error() || s.LastFailure.IsZero() {
				t.Errorf("err %v, status %+v", err, s)
			}
			after, _ := st.Current().Marshal()
			if st.n != n || !bytes.Equal(before, after) {
				t.Error("the old config did not stay")
			}
		})
	}
}

func TestSyncBasicAuth(t *testing.T) {
	srv := fileServer(t, map[string]string{"/p/loopstart.xml": `<loopstart><port n="1"><country>uk</country></port></loopstart>`}, "ata", "s3cret")
	st := &store{cur: baseConfig(t)}
	u := strings.Replace(srv.URL, "https://", "https://ata:wrong@", 1) + "/p/"
	if err := newProv(t, st, u, roots(srv)).Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
		t.Errorf("wrong password: %v", err)
	}
	p := newProv(t, st, strings.Replace(srv.URL, "https://", "https://ata:s3cret@", 1)+"/p/", roots(srv))
	if err := p.Sync(context.Background()); err != nil || st.Current().Ports[0].Country != "uk" {
		t.Fatalf("basic auth: %v", err)
	}
	if s := p.Status(); strings.Contains(strings.Join(s.Servers, " ")+s.LastFile, "s3cret") {
		t.Errorf("password shown in status: %+v", s)
	}
}

func TestCheckSync(t *testing.T) {
	p := New(Options{Current: func() *config.Config { return config.Default(2) }, Apply: func(*config.Config) error { return nil },
		Logger: slog.New(slog.DiscardHandler)})
	for ev, want := range map[string]bool{"check-sync": true, "check-sync;reboot=false": true, "Resync": true,
		"message-summary": false, "presence": false} {
		if got := p.CheckSync(ev); got != want {
			t.Errorf("%s = %v", ev, got)
		}
		select {
		case <-p.kick:
		default:
		}
	}
}

// TestRunDefersWhileBusy: a periodic resync waits for the call to end; an
// explicit resync does not.
func TestRunDefersWhileBusy(t *testing.T) {
	srv := fileServer(t, map[string]string{"/p/loopstart.xml": `<loopstart><port n="1"><country>fr</country></port></loopstart>`}, "", "")
	st := &store{cur: baseConfig(t)}
	st.cur.Provisioning = &config.Provisioning{URL: srv.URL + "/p/", Interval: 60}
	var busyMu sync.Mutex
	busy := true
	timers := make(chan chan time.Time, 10)
	p := New(Options{Identity: testID, Current: st.Current, Apply: st.Apply,
		Fetcher: &Fetcher{Roots: roots(srv)}, Logger: slog.New(slog.DiscardHandler),
		Busy:       func() bool { busyMu.Lock(); defer busyMu.Unlock(); return busy },
		After:      func(time.Duration) <-chan time.Time { c := make(chan time.Time, 1); timers <- c; return c },
		Jitter:     func(time.Duration) time.Duration { return 0 },
		FirstDelay: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	(<-timers) <- time.Now() // the first sync is due, but a call is up
	(<-timers) <- time.Now() // still busy
	<-timers
	if s := p.Status(); s.State != "deferred" || st.n != 0 {
		t.Fatalf("status %+v, applied %d", s, st.n)
	}
	busyMu.Lock()
	busy = false
	busyMu.Unlock()
	// fire the poll timer: now it syncs
	p.Resync()
	deadline := time.Now().Add(5 * time.Second)
	for st.Current().Ports[0].Country != "fr" {
		if time.Now().After(deadline) {
			t.Fatalf("no sync after the call: %+v", p.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// otherRoots trusts only a CA that signed nothing the servers use.
func otherRoots(t *testing.T) *x509.CertPool {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	p := x509.NewCertPool()
	p.AddCert(c)
	return p
}
