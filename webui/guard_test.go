package webui

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestHostCheckEveryRoute: a request for a name that is not the device's
// (DNS rebinding) is refused with 421 on every route the server has, for
// GET and POST, logged in or not, from loopback, before any handler runs.
func TestHostCheckEveryRoute(t *testing.T) {
	s, _, _ := newAuthServer(t, true)
	s.opts.Firmware = &fakeFirmware{}
	lr, ck := login(t, s, "")
	hdr := func(host string) map[string]string {
		return map[string]string{"Host": host, CSRFHeader: lr.CSRFToken}
	}
	sessions := len(s.auth.sessions)
	if len(s.mux.patterns) < 30 {
		t.Fatalf("only %d routes recorded: %v", len(s.mux.patterns), s.mux.patterns)
	}
	for _, pat := range s.mux.patterns {
		method, path, ok := strings.Cut(pat, " ")
		methods := []string{method}
		if !ok {
			path, methods = pat, []string{"GET", "POST"}
		} else if method == "GET" {
			methods = append(methods, "POST")
		}
		path = strings.NewReplacer("{n}", "1").Replace(path)
		for _, m := range methods {
			for _, r := range []req{
				{method: m, path: path, body: `{}`, hdr: hdr("rebind.attacker.example"), cookie: ck},
				{method: m, path: path, body: `{}`, hdr: hdr("rebind.attacker.example:8080")},
			} {
				w := send(t, s, r)
				if w.Code != http.StatusMisdirectedRequest || !strings.Contains(w.Body.String(), "not a name of this device") {
					t.Errorf("%s %s Host %s = %d %q", m, path, r.hdr["Host"], w.Code, w.Body)
				}
			}
		}
	}
	if len(s.auth.sessions) != sessions {
		t.Errorf("sessions %d, were %d: a refused request reached a handler", len(s.auth.sessions), sessions)
	}
}

// TestHostNames: which Host values pass.
func TestHostNames(t *testing.T) {
	hn, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	short, _, _ := strings.Cut(strings.ToLower(hn), ".")
	s := New(Options{Status: fakeStatus, Hosts: []string{"ata.example.net", "Gw.Example.:443"}})
	cases := []struct {
		host string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1", true},
		{"127.0.0.1:8080", true},
		{"192.0.2.5:80", true},
		{"[::1]:8080", true},
		{"[2001:db8::1]", true},
		{"[fe80::1%25eth0]:80", true},
		{"localhost", true},
		{"LOCALHOST.:8080", true},
		{hn, true},
		{strings.ToUpper(short) + ".local", true},
		{short + ".local.:80", true},
		{"ata.example.net", true},
		{"gw.example:8443", true},
		{"rebind.attacker.example", false},
		{"localhost.attacker.example", false},
		{short + ".attacker.example", false},
		{"x.ata.example.net", false},
		{"127.0.0.1.nip.io", false},
		{"2130706433", false},
		{"0x7f.1", false},
		{"[127.0.0.1", false},
	}
	for _, c := range cases {
		w := serve(s, httptestRequest("GET", "/healthz", c.host))
		if got := w.Code != http.StatusMisdirectedRequest; got != c.ok {
			t.Errorf("Host %q: %d, want allowed=%v", c.host, w.Code, c.ok)
		}
	}
	// The HTTP-to-HTTPS redirect checks too.
	red := s.CheckHost(RedirectToHTTPS("443"))
	if w := serve(red, httptestRequest("GET", "/", "rebind.attacker.example")); w.Code != http.StatusMisdirectedRequest {
		t.Errorf("redirect for another name = %d", w.Code)
	}
	if w := serve(red, httptestRequest("GET", "/", "192.0.2.5")); w.Code != http.StatusMovedPermanently {
		t.Errorf("redirect for an address = %d", w.Code)
	}
}

// FuzzHostAllowed: any Host value is decided without a panic, and IP
// literals are always allowed.
func FuzzHostAllowed(f *testing.F) {
	for _, s := range []string{"", "a", "[::1]:80", "[fe80::1%25eth0]", "127.0.0.1:1", "x.local.", "[", "]:", "%25"} {
		f.Add(s)
	}
	h := newHostNames([]string{"ata.example"})
	f.Fuzz(func(t *testing.T, host string) {
		ok := h.allowed(host)
		if strings.HasPrefix(host, "rebind.attacker.") && ok {
			t.Errorf("%q allowed", host)
		}
	})
}

// TestSlowBodyCutOff: a client that sends a login's header and then
// trickles its body is cut off at the server's ReadTimeout; a logged-in
// firmware upload may take longer.
func TestSlowBodyCutOff(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	fw := &fakeFirmware{}
	s.opts.Firmware = fw
	lr, _ := login(t, s, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const readTimeout = 400 * time.Millisecond
	srv := NewHTTPServer(s, ServerLimits{ReadHeaderTimeout: readTimeout, ReadTimeout: readTimeout,
		WriteTimeout: 5 * time.Second, IdleTimeout: time.Second, MaxHeaderBytes: 4 << 10})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// trickle sends the header and then body a byte at a time every gap;
	// it returns how long the server let it send and what it answered.
	trickle := func(path, extra, body string, gap time.Duration) (time.Duration, string) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n", path, extra, len(body))
		for i := range len(body) {
			if _, err := c.Write([]byte{body[i]}); err != nil {
				break
			}
			time.Sleep(gap)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, _ := io.ReadAll(bufio.NewReader(c)) // until the server closes
		return time.Since(start), string(resp)
	}

	body := `{"password":"a slow wrong password trickled byte by byte"}`
	took, resp := trickle("/api/login", "", body, 50*time.Millisecond)
	t.Logf("slow login body (%d bytes, one per 50 ms): connection closed after %v; answer %q", len(body), took, firstLine(resp))
	if took > 2*time.Second || strings.Contains(resp, "wrong password") {
		t.Errorf("slow login body held the connection %v and was answered %q", took, firstLine(resp))
	}

	// Logged in, a slow firmware upload gets past the ReadTimeout.
	img := "GOOD image sent slowly"
	took, resp = trickle("/api/firmware", "Authorization: Bearer "+lr.Token+"\r\nConnection: close\r\n", img, 50*time.Millisecond)
	if !strings.HasPrefix(resp, "HTTP/1.1 200") || string(fw.got) != img {
		t.Errorf("slow firmware upload (%v): %q, got %q", took, firstLine(resp), fw.got)
	}
	// Without a session it is cut off like any other request.
	took, resp = trickle("/api/firmware", "", img+img, 50*time.Millisecond)
	if took > 2*time.Second || strings.HasPrefix(resp, "HTTP/1.1 200") {
		t.Errorf("slow firmware upload without a session: held %v, answered %q", took, firstLine(resp))
	}
}

// httptestRequest is a request for path with Host host from loopback.
func httptestRequest(method, path, host string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.Host = host
	r.RemoteAddr = "127.0.0.1:40000"
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// TestLogStreamOutlivesTimeouts: the logged-in live log stream goes on
// past the server's read and write timeouts.
func TestLogStreamOutlivesTimeouts(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	lr, _ := login(t, s, "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const limit = 300 * time.Millisecond
	srv := NewHTTPServer(s, ServerLimits{ReadHeaderTimeout: limit, ReadTimeout: limit, WriteTimeout: limit, IdleTimeout: limit})
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	r, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/logs/stream", nil)
	r.Header.Set("Authorization", "Bearer "+lr.Token)
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	time.Sleep(4 * limit)
	s.opts.Logs.Add(time.Now(), 0, "late record")
	got := make(chan string, 1)
	go func() {
		br := bufio.NewReader(res.Body)
		for {
			l, err := br.ReadString('\n')
			if strings.Contains(l, "late record") || err != nil {
				got <- l
				return
			}
		}
	}()
	select {
	case l := <-got:
		if !strings.Contains(l, "late record") {
			t.Errorf("stream ended before the late record: %q", l)
		}
	case <-time.After(3 * time.Second):
		t.Error("late record not streamed")
	}
}
