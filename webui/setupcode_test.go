package webui

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSetupCode: the code is made on first start (file 0600, logged),
// kept across restarts, required by POST /api/setup and the setup form,
// compared loosely, counted toward the lockout, and gone once a password
// is set.
func TestSetupCode(t *testing.T) {
	dir := t.TempDir()
	var logBuf bytes.Buffer
	start := func() *Server {
		logBuf.Reset()
		s := New(Options{Status: fakeStatus, DataDir: dir, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
		if s.initErr != nil {
			t.Fatal(s.initErr)
		}
		s.auth.argon = fastArgon
		return s
	}
	start()
	path := filepath.Join(dir, SetupCodeFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}\n$`).Match(b) {
		t.Fatalf("setup code file %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("setup code file mode %v", fi.Mode().Perm())
	}
	code := strings.TrimSpace(string(b))
	if want := `msg="first setup: setup code" setup_code=` + code; !strings.Contains(logBuf.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logBuf.String())
	}
	// A restart keeps the code and logs it again.
	s := start()
	if got := setupCode(t, s); got != code || !strings.Contains(logBuf.String(), "setup_code="+code) {
		t.Errorf("after restart: code %q (was %q), log %s", got, code, logBuf.String())
	}

	loose := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	wrong := []byte(code)
	if wrong[0] == '0' {
		wrong[0] = '1'
	} else {
		wrong[0] = '0'
	}
	cases := []struct {
		name, body, ctype string
		want              int
	}{
		{"no code", `{"password":"correct horse"}`, "", http.StatusForbidden},
		{"empty code", setupBody("correct horse", ""), "", http.StatusForbidden},
		{"wrong code", setupBody("correct horse", string(wrong)), "", http.StatusForbidden},
		{"form without code", "password=correct+horse&confirm=correct+horse", "application/x-www-form-urlencoded", http.StatusForbidden},
		{"code, short password", setupBody("short", code), "", http.StatusBadRequest},
		{"right code typed loosely", setupBody("correct horse", " "+loose+" "), "", http.StatusOK},
	}
	for _, c := range cases {
		w := send(t, s, req{method: "POST", path: "/api/setup", body: c.body, ctype: c.ctype, remote: "192.0.2.7:1"})
		if w.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, w.Code, w.Body, c.want)
		}
		if c.want == http.StatusForbidden && !strings.Contains(w.Body.String(), "setup code") {
			t.Errorf("%s: the answer does not name the setup code: %s", c.name, w.Body)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("setup code file after setup: %v", err)
	}
	if s.auth.setupCode() != "" {
		t.Error("setup code still valid after setup")
	}
	start()
	if strings.Contains(logBuf.String(), "setup code") {
		t.Errorf("setup code logged with a password set:\n%s", logBuf.String())
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("setup code file made with a password set: %v", err)
	}
}

// TestSetupCodeLockout: wrong codes lock the client out like wrong
// passwords; then even the right code is refused, from that client only.
func TestSetupCodeLockout(t *testing.T) {
	s, clk, _ := newAuthServer(t, false)
	code := setupCode(t, s)
	bad := req{method: "POST", path: "/api/setup", body: setupBody("correct horse", "AAAAA-AAAAA"), remote: "192.0.2.9:1"}
	for i := 1; i < LoginFailures; i++ {
		if w := send(t, s, bad); w.Code != http.StatusForbidden {
			t.Fatalf("wrong code %d = %d", i, w.Code)
		}
	}
	if w := send(t, s, bad); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("wrong code %d = %d Retry-After %q", LoginFailures, w.Code, w.Header().Get("Retry-After"))
	}
	right := req{method: "POST", path: "/api/setup", body: setupBody("correct horse", code), remote: "192.0.2.9:2"}
	if w := send(t, s, right); w.Code != http.StatusTooManyRequests {
		t.Errorf("right code while locked = %d", w.Code)
	}
	clk.add(LockoutBase + 1)
	if w := send(t, s, right); w.Code != http.StatusOK {
		t.Errorf("right code after the lockout = %d %s", w.Code, w.Body)
	}
}

// TestSetupButton: a pressed setup button stands in for the code.
func TestSetupButton(t *testing.T) {
	for _, c := range []struct {
		name    string
		pressed bool
		want    int
	}{{"pressed", true, http.StatusOK}, {"not pressed", false, http.StatusForbidden}} {
		t.Run(c.name, func(t *testing.T) {
			s := New(Options{Status: fakeStatus, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
				SetupButton: func() bool { return c.pressed }})
			s.auth.argon = fastArgon
			if w := send(t, s, req{method: "POST", path: "/api/setup", body: `{"password":"correct horse"}`}); w.Code != c.want {
				t.Errorf("setup without code = %d %s, want %d", w.Code, w.Body, c.want)
			}
		})
	}
}

func TestNormalizeCode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ABCDE-FGHJK", "ABCDEFGHJK"},
		{" abcde fghjk\t", "ABCDEFGHJK"},
		{"O1-IL", "0111"},
		{"", ""},
	} {
		if got := normalizeCode(c.in); got != c.want {
			t.Errorf("normalizeCode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	seen := map[string]bool{}
	for range 100 {
		c := newSetupCode()
		if !validCode(c) || len(c) != 11 || seen[c] {
			t.Fatalf("newSetupCode() = %q (valid %v, repeated %v)", c, validCode(c), seen[c])
		}
		seen[c] = true
	}
}
