package webui

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
)

// fastArgon keeps tests quick; production uses defaultArgon.
var fastArgon = argonParams{time: 1, memKiB: 64, threads: 1}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeConfig is a Configurator that keeps the config in memory.
type fakeConfig struct {
	mu      sync.Mutex
	cur     *config.Config
	applied int
	refuse  error
}

func (f *fakeConfig) Current() *config.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur.Clone()
}

func (f *fakeConfig) Apply(c *config.Config, source string) (ApplyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := c.Validate(); err != nil {
		return ApplyResult{}, err
	}
	if f.refuse != nil {
		return ApplyResult{}, f.refuse
	}
	f.cur = c
	f.applied++
	return ApplyResult{Applied: true, Message: "applied"}, nil
}

func newAuthServer(t *testing.T, sim bool) (*Server, *fakeClock, *fakeConfig) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	fc := &fakeConfig{cur: config.Default(2)}
	opts := Options{Status: fakeStatus, DataDir: t.TempDir(), Config: fc, Now: clk.now, Logs: NewLogRing(10),
		Logger: slog.New(slog.DiscardHandler)}
	if sim {
		opts.Sim = newFakeSim()
	}
	s := New(opts)
	if s.initErr != nil {
		t.Fatal(s.initErr)
	}
	s.auth.argon = fastArgon
	return s, clk, fc
}

type req struct {
	method, path, body, remote, ctype string
	hdr                               map[string]string
	cookie                            *http.Cookie
}

func send(t *testing.T, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	hr := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
	hr.RemoteAddr = "127.0.0.1:40000"
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	} else if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Host = "localhost"
	for k, v := range r.hdr {
		if k == "Host" {
			hr.Host = v
			continue
		}
		hr.Header.Set(k, v)
	}
	if r.cookie != nil {
		hr.AddCookie(r.cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	return w
}

// setupCode reads the setup code from the server's data directory.
func setupCode(t *testing.T, s *Server) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.opts.DataDir, SetupCodeFile))
	if err != nil {
		t.Fatalf("setup code: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// setupBody is the JSON body of a first setup.
func setupBody(pw, code string) string {
	b, _ := json.Marshal(map[string]string{"password": pw, "setup_code": code})
	return string(b)
}

// login sets the password if needed and logs in; it returns the tokens and cookie.
func login(t *testing.T, s *Server, remote string) (loginResponse, *http.Cookie) {
	t.Helper()
	if !s.auth.hasPassword() {
		if w := send(t, s, req{method: "POST", path: "/api/setup", body: setupBody("correct horse", setupCode(t, s))}); w.Code != 200 {
			t.Fatalf("setup = %d %s", w.Code, w.Body)
		}
	}
	w := send(t, s, req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: remote})
	if w.Code != 200 {
		t.Fatalf("login = %d %s", w.Code, w.Body)
	}
	var lr loginResponse
	if err := json.Unmarshal(w.Body.Bytes(), &lr); err != nil || lr.Token == "" || lr.CSRFToken == "" {
		t.Fatalf("login body %s: %v", w.Body, err)
	}
	var c *http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.Name == SessionCookie {
			c = ck
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value != lr.Token {
		t.Fatalf("session cookie %+v", c)
	}
	return lr, c
}

func TestFirstRunSetup(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	// Before setup: pages lead to /setup, the API says what to do.
	if w := send(t, s, req{method: "GET", path: "/", remote: "192.0.2.1:1"}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/setup" {
		t.Errorf("GET / = %d %q", w.Code, w.Header().Get("Location"))
	}
	w := send(t, s, req{method: "GET", path: "/api/config"})
	if w.Code != http.StatusUnauthorized || !strings.Contains(jsonError(t, w), "/api/setup") {
		t.Errorf("GET /api/config = %d %s", w.Code, w.Body)
	}
	if w := send(t, s, req{method: "GET", path: "/setup"}); w.Code != 200 || !strings.Contains(w.Body.String(), `id="setup-form"`) {
		t.Errorf("GET /setup = %d", w.Code)
	}
	code := setupCode(t, s)
	for _, bad := range []string{setupBody("short", code), setupBody("", code), `{"setup_code":"` + code + `"}`,
		setupBody(strings.Repeat("x", 300), code), `not json`} {
		if w := send(t, s, req{method: "POST", path: "/api/setup", body: bad}); w.Code != http.StatusBadRequest {
			t.Errorf("setup %s = %d", bad, w.Code)
		}
	}
	if s.auth.hasPassword() {
		t.Fatal("a bad password was stored")
	}
	login(t, s, "")
	b, err := os.ReadFile(filepath.Join(s.opts.DataDir, PasswordFile))
	if err != nil || !strings.HasPrefix(string(b), "$argon2id$v=19$") || strings.Contains(string(b), "correct horse") {
		t.Fatalf("stored hash %q: %v", b, err)
	}
	// Setup works only once.
	if w := send(t, s, req{method: "POST", path: "/api/setup", body: `{"password":"another password"}`}); w.Code != http.StatusConflict {
		t.Errorf("second setup = %d", w.Code)
	}
	// A restart reads the hash back.
	s2 := New(Options{Status: fakeStatus, DataDir: s.opts.DataDir})
	if !s2.auth.hasPassword() {
		t.Error("password not loaded on restart")
	}
	if _, err := s2.auth.login(t.Context(), "x", "correct horse"); err != nil {
		t.Errorf("login after restart: %v", err)
	}
	if _, err := s2.auth.login(t.Context(), "x", "Correct horse"); err == nil {
		t.Error("wrong password accepted after restart")
	}
}

func TestSetupRace(t *testing.T) {
	s, _, _ := newAuthServer(t, false)
	code := setupCode(t, s)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = send(t, s, req{method: "POST", path: "/api/setup", body: setupBody("password number "+string(rune('a'+i)), code)}).Code
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		if c == 200 {
			won++
		} else if c != http.StatusConflict {
			t.Errorf("code %d", c)
		}
	}
	if won != 1 {
		t.Errorf("%d setups won, want 1 (%v)", won, codes)
	}
}

func TestLoginLockout(t *testing.T) {
	s, clk, _ := newAuthServer(t, false)
	login(t, s, "")
	wrong := req{method: "POST", path: "/api/login", body: `{"password":"wrong password"}`, remote: "192.0.2.9:1"}
	for i := 1; i < LoginFailures; i++ {
		if w := send(t, s, wrong); w.Code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d = %d", i, w.Code)
		}
	}
	w := send(t, s, wrong)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("failure %d = %d Retry-After %q", LoginFailures, w.Code, w.Header().Get("Retry-After"))
	}
	// Locked out: even the right password is refused, from that client only.
	right := req{method: "POST", path: "/api/login", body: `{"password":"correct horse"}`, remote: "192.0.2.9:2"}
	if w := send(t, s, right); w.Code != http.StatusTooManyRequests {
		t.Errorf("right password while locked = %d", w.Code)
	}
	login(t, s, "192.0.2.10:1")
	clk.add(LockoutBase + time.Second)
	// One more failure doubles the lockout.
	send(t, s, wrong)
	if w := send(t, s, right); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "120" {
		t.Errorf("after another failure = %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	clk.add(2*LockoutBase + time.Second)
	if w := send(t, s, right); w.Code != 200 {
		t.Errorf("after the lockout = %d", w.Code)
	}
	// Success reset the count.
	if w := send(t, s, wrong); w.Code != http.StatusUnauthorized {
		t.Errorf("first failure after success = %d", w.Code)
	}
}

func TestSessionsAndCSRF(t *testing.T) {
	s, clk, fc := newAuthServer(t, false)
	lr, ck := login(t, s, "")
	body := `{"account":[{"id":"1","user":"201"}],"port":[{"n":1,"account":"1"}]}`
	cases := []struct {
		name string
		r    req
		want int
	}{
		{"no auth", req{method: "PUT", path: "/api/config", body: body}, 401},
		{"cookie without CSRF", req{method: "PUT", path: "/api/config", body: body, cookie: ck}, 403},
		{"cookie, wrong CSRF", req{method: "PUT", path: "/api/config", body: body, cookie: ck, hdr: map[string]string{CSRFHeader: "nope"}}, 403},
		{"bad bearer", req{method: "PUT", path: "/api/config", body: body, hdr: map[string]string{"Authorization": "Bearer nope"}}, 401},
		{"cross-site with token", req{method: "PUT", path: "/api/config", body: body, cookie: ck,
			hdr: map[string]string{CSRFHeader: lr.CSRFToken, "Sec-Fetch-Site": "cross-site"}}, 403},
		{"cookie with CSRF", req{method: "PUT", path: "/api/config", body: body, cookie: ck, hdr: map[string]string{CSRFHeader: lr.CSRFToken}}, 200},
		{"bearer", req{method: "PUT", path: "/api/config", body: body, hdr: map[string]string{"Authorization": "Bearer " + lr.Token}}, 200},
		{"cookie GET", req{method: "GET", path: "/api/config", cookie: ck}, 200},
		{"form without CSRF", req{method: "POST", path: "/ports", body: "n=1&country=de", ctype: "application/x-www-form-urlencoded", cookie: ck}, 403},
		{"form with CSRF", req{method: "POST", path: "/ports", body: "n=1&country=de&csrf_token=" + lr.CSRFToken, ctype: "application/x-www-form-urlencoded", cookie: ck}, 303},
	}
	for _, c := range cases {
		if w := send(t, s, c.r); w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
	}
	if fc.applied != 3 || fc.Current().Ports[0].Country != "de" {
		t.Errorf("applied %d times, port 1 country %q", fc.applied, fc.Current().Ports[0].Country)
	}
	// Idle sessions expire.
	clk.add(SessionIdle + time.Minute)
	if w := send(t, s, req{method: "GET", path: "/api/config", cookie: ck}); w.Code != 401 {
		t.Errorf("expired session = %d", w.Code)
	}
	// Logout ends the session.
	lr, ck = login(t, s, "")
	if w := send(t, s, req{method: "POST", path: "/api/logout", cookie: ck, hdr: map[string]string{CSRFHeader: lr.CSRFToken}}); w.Code != 200 {
		t.Errorf("logout = %d", w.Code)
	}
	if w := send(t, s, req{method: "GET", path: "/api/config", hdr: map[string]string{"Authorization": "Bearer " + lr.Token}}); w.Code != 401 {
		t.Errorf("after logout = %d", w.Code)
	}
}

func TestStatusAndSimAccess(t *testing.T) {
	s, _, _ := newAuthServer(t, true)
	login(t, s, "")
	cases := []struct {
		path, remote string
		want         int
	}{
		{"/api/status", "127.0.0.1:1", 200},    // contract 6
		{"/api/status", "192.0.2.1:1", 401},    // elsewhere: login
		{"/api/sim/ports", "127.0.0.1:1", 200}, // contract 5
		{"/api/sim/ports", "192.0.2.1:1", 403},
		{"/", "127.0.0.1:1", 303},
		{"/healthz", "192.0.2.1:1", 200},
	}
	for _, c := range cases {
		if w := send(t, s, req{method: "GET", path: c.path, remote: c.remote}); w.Code != c.want {
			t.Errorf("GET %s from %s = %d, want %d", c.path, c.remote, w.Code, c.want)
		}
	}
	// Without the sim board, /api/status needs a login even from loopback.
	s2, _, _ := newAuthServer(t, false)
	if w := send(t, s2, req{method: "GET", path: "/api/status"}); w.Code != 401 {
		t.Errorf("status without sim = %d", w.Code)
	}
	// A cross-site browser POST to the sim API is refused.
	w := send(t, s, req{method: "POST", path: "/api/sim/ports/1/hook", body: `{"state":"off"}`, hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if w.Code != 403 {
		t.Errorf("cross-site sim POST = %d", w.Code)
	}
}

func TestConfigAPI(t *testing.T) {
	s, _, fc := newAuthServer(t, false)
	lr, _ := login(t, s, "")
	auth := map[string]string{"Authorization": "Bearer " + lr.Token}
	put := func(ctype, body string) *httptest.ResponseRecorder {
		return send(t, s, req{method: "PUT", path: "/api/config", body: body, ctype: ctype, hdr: auth})
	}
	const good = `<loopstart>
  <account id="1"><registrar>sip:127.0.0.1:5060</registrar><user>1001</user><password>secret1</password></account>
  <port n="1" account="1"/>
</loopstart>`
	bad := []struct{ name, ctype, body, want string }{
		{"bad xml", "application/xml", "<loopstart><account", "malformed XML"},
		{"invalid value", "application/xml", strings.Replace(good, "<port n=\"1\"", "<port n=\"99\"", 1), "loopstart/port"},
		{"truncated", "application/xml", good[:60], ""},
		{"unknown json", "application/json", `{"acount":[]}`, "loopstart/acount"},
		{"json type", "application/json", `{"account":[{"id":1,"user":["x"]}]}`, "want a string"},
	}
	for _, c := range bad {
		w := put(c.ctype, c.body)
		var ce configError
		if w.Code != 400 || json.Unmarshal(w.Body.Bytes(), &ce) != nil || len(ce.Problems) == 0 || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s: %d %s", c.name, w.Code, w.Body)
		}
	}
	if fc.applied != 0 {
		t.Fatal("an invalid config was applied")
	}
	if w := put("application/xml; charset=utf-8", good); w.Code != 200 {
		t.Fatalf("good xml: %d %s", w.Code, w.Body)
	}
	if c := fc.Current(); c.Accounts[0].Registrar != "sip:127.0.0.1:5060" || c.Accounts[0].Expires != config.DefaultExpires {
		t.Errorf("applied %+v", c.Accounts)
	}
	// GET as JSON and XML; the JSON form PUTs back unchanged.
	w := send(t, s, req{method: "GET", path: "/api/config", hdr: auth})
	js := w.Body.String()
	if !strings.Contains(js, `"registrar": "sip:127.0.0.1:5060"`) {
		t.Errorf("json = %s", js)
	}
	if w := put("application/json", js); w.Code != 200 {
		t.Errorf("json round trip: %d %s", w.Code, w.Body)
	}
	x := send(t, s, req{method: "GET", path: "/api/config", hdr: map[string]string{"Authorization": "Bearer " + lr.Token, "Accept": "application/xml"}})
	if !strings.HasPrefix(x.Header().Get("Content-Type"), "application/xml") || !strings.Contains(x.Body.String(), "<registrar>sip:127.0.0.1:5060</registrar>") {
		t.Errorf("xml = %s", x.Body)
	}
	// A valid config the gateway cannot run: 409, the old one stays.
	fc.refuse = errString("board has no port 3")
	before := fc.applied
	if w := put("application/xml", good); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "old one stays") {
		t.Errorf("refused: %d %s", w.Code, w.Body)
	}
	if fc.applied != before {
		t.Error("refused config applied")
	}
	if w := put("text/plain", good); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain = %d", w.Code)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestPagesNeedLoginAndRender(t *testing.T) {
	s, _, _ := newAuthServer(t, true)
	_, ck := login(t, s, "")
	for _, p := range pageNames {
		w := send(t, s, req{method: "GET", path: p.Path, remote: "192.0.2.1:1"})
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("%s without login = %d %q", p.Path, w.Code, w.Header().Get("Location"))
		}
		w = send(t, s, req{method: "GET", path: p.Path, cookie: ck})
		if w.Code != 200 || !strings.Contains(w.Body.String(), "<nav>") || !strings.Contains(w.Body.String(), `name="csrf-token"`) {
			t.Errorf("%s = %d", p.Path, w.Code)
		}
		w = send(t, s, req{method: "GET", path: p.Path, cookie: ck, hdr: map[string]string{"Accept": "application/json"}})
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s as JSON = %d %q", p.Path, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

func TestLogRing(t *testing.T) {
	r := NewLogRing(3)
	for i := range 5 {
		r.Add(time.Unix(int64(i), 0), 0, string(rune('a'+i)))
	}
	got := r.Since(0)
	if len(got) != 3 || got[0].Text != "c" || got[2].Text != "e" || got[2].Seq != 5 {
		t.Errorf("ring = %+v", got)
	}
	if got := r.Since(4); len(got) != 1 || got[0].Text != "e" {
		t.Errorf("since 4 = %+v", got)
	}
}
