package webui

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Authentication limits and parameters.
const (
	// MinPasswordLen and MaxPasswordLen bound the admin password, in bytes.
	MinPasswordLen, MaxPasswordLen = 8, 256
	// PasswordFile is the admin password hash's file name in the data directory.
	PasswordFile = "webui-password"
	// SessionCookie is the session cookie's name.
	SessionCookie = "loopstart_session"
	// CSRFHeader carries the CSRF token on state-changing browser requests;
	// HTML forms may send it as the form field csrf_token instead.
	CSRFHeader = "X-CSRF-Token"
	// SessionIdle and SessionMax bound a session's life.
	SessionIdle, SessionMax = 8 * time.Hour, 7 * 24 * time.Hour
	// maxSessions bounds the session table; the oldest is dropped.
	maxSessions = 64
	// LoginFailures is how many wrong passwords a client may send before it
	// is locked out for LockoutBase, doubling with every further failure up
	// to LockoutMax. A success or LoginWindow without failures resets it.
	LoginFailures = 5
	// LockoutBase, LockoutMax and LoginWindow shape the lockout.
	LockoutBase, LockoutMax, LoginWindow = time.Minute, 15 * time.Minute, 15 * time.Minute
	// maxClients bounds the failure table.
	maxClients = 1024
)

// argonParams are the argon2id cost parameters.
type argonParams struct {
	time, memKiB uint32
	threads      uint8
}

// defaultArgon follows the OWASP minimum for argon2id (19 MiB, 2 passes),
// which a small ATA can afford once per login.
var defaultArgon = argonParams{time: 2, memKiB: 19 * 1024, threads: 1}

// Errors of the auth store.
var (
	errPasswordSet   = errors.New("a password is already set")
	errNoPassword    = errors.New("no password is set yet")
	errWrongPassword = errors.New("wrong password")
)

// session is one logged-in client.
type session struct {
	token, csrf string
	created     time.Time
	lastUsed    time.Time
}

// clientFails counts one client's recent login failures.
type clientFails struct {
	fails       int
	last        time.Time
	lockedUntil time.Time
}

// auth holds the admin password hash, the sessions and the login limiter.
type auth struct {
	path  string
	now   func() time.Time
	argon argonParams

	mu       sync.Mutex
	hash     string // PHC string; "" = no password yet
	sessions map[string]*session
	clients  map[string]*clientFails
}

// newAuth loads the password hash from dir (none yet is fine).
func newAuth(dir string, now func() time.Time, p argonParams) (*auth, error) {
	a := &auth{path: filepath.Join(dir, PasswordFile), now: now, argon: p,
		sessions: map[string]*session{}, clients: map[string]*clientFails{}}
	b, err := os.ReadFile(a.path)
	switch {
	case err == nil:
		a.hash = strings.TrimSpace(string(b))
		if _, _, _, err := parsePHC(a.hash); err != nil {
			return nil, fmt.Errorf("webui: %s: %w", a.path, err)
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, fmt.Errorf("webui: read password: %w", err)
	}
	return a, nil
}

// hasPassword reports whether the admin password is set.
func (a *auth) hasPassword() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hash != ""
}

// checkNewPassword says what is wrong with a new password, or "".
func checkNewPassword(pw string) string {
	switch {
	case len(pw) < MinPasswordLen:
		return fmt.Sprintf("the password must have at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fmt.Sprintf("the password must have at most %d bytes", MaxPasswordLen)
	}
	return ""
}

// setup sets the first password; it fails once one is set.
func (a *auth) setup(pw string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hash != "" {
		return errPasswordSet
	}
	return a.store(pw, false)
}

// change replaces the password after checking the old one, and ends every
// other session.
func (a *auth) change(old, pw string, keep *session) error {
	a.mu.Lock()
	hash := a.hash
	a.mu.Unlock()
	if hash == "" {
		return errNoPassword
	}
	if !verifyPHC(hash, old) {
		return errWrongPassword
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.store(pw, true); err != nil {
		return err
	}
	for t, s := range a.sessions {
		if s != keep {
			delete(a.sessions, t)
		}
	}
	return nil
}

// store hashes pw and writes it atomically; a.mu is held. Unless replace,
// an existing file is never overwritten (os.Link fails on it), so two
// concurrent first-run setups cannot both win.
func (a *auth) store(pw string, replace bool) error {
	salt := make([]byte, 16)
	rand.Read(salt)
	p := a.argon
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memKiB, p.threads, 32)
	phc := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memKiB, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
	if err := os.MkdirAll(filepath.Dir(a.path), 0o700); err != nil {
		return fmt.Errorf("webui: store password: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(a.path), "."+PasswordFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("webui: store password: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.WriteString(phc + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("webui: store password: %w", err)
	}
	if replace {
		err = os.Rename(tmp, a.path)
	} else {
		err = os.Link(tmp, a.path)
	}
	if errors.Is(err, os.ErrExist) {
		return errPasswordSet
	}
	if err != nil {
		return fmt.Errorf("webui: store password: %w", err)
	}
	a.hash = phc
	return nil
}

var b64 = base64.RawStdEncoding

// parsePHC splits an argon2id PHC string.
func parsePHC(s string) (argonParams, []byte, []byte, error) {
	var p argonParams
	f := strings.Split(s, "$")
	if len(f) != 6 || f[1] != "argon2id" || f[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errors.New("not an argon2id hash")
	}
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.memKiB, &p.time, &p.threads); err != nil {
		return p, nil, nil, fmt.Errorf("argon2id parameters: %w", err)
	}
	if p.time == 0 || p.time > 16 || p.memKiB < 8 || p.memKiB > 1<<20 || p.threads == 0 {
		return p, nil, nil, errors.New("argon2id parameters out of range")
	}
	salt, err1 := b64.DecodeString(f[4])
	key, err2 := b64.DecodeString(f[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errors.New("argon2id salt or key malformed")
	}
	return p, salt, key, nil
}

// verifyPHC checks pw against a PHC string in constant time.
func verifyPHC(phc, pw string) bool {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memKiB, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// errLocked is returned by login while a client is locked out.
type errLocked struct{ retry time.Duration }

func (e errLocked) Error() string {
	return fmt.Sprintf("too many wrong passwords: try again in %d s", int(e.retry.Seconds()+0.999))
}

// login checks pw for client and opens a session.
func (a *auth) login(client, pw string) (*session, error) {
	now := a.now()
	a.mu.Lock()
	hash := a.hash
	c := a.clients[client]
	if c != nil && now.Before(c.lockedUntil) {
		a.mu.Unlock()
		return nil, errLocked{c.lockedUntil.Sub(now)}
	}
	a.mu.Unlock()
	if hash == "" {
		return nil, errNoPassword
	}
	ok := verifyPHC(hash, pw)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !ok {
		a.fail(client, now)
		if c := a.clients[client]; c != nil && now.Before(c.lockedUntil) {
			return nil, errLocked{c.lockedUntil.Sub(now)}
		}
		return nil, errWrongPassword
	}
	delete(a.clients, client)
	return a.newSession(now), nil
}

// fail records a failed login; a.mu is held.
func (a *auth) fail(client string, now time.Time) {
	c := a.clients[client]
	if c == nil || now.Sub(c.last) > LoginWindow {
		if len(a.clients) >= maxClients {
			a.pruneClients(now)
		}
		c = &clientFails{}
		a.clients[client] = c
	}
	c.fails++
	c.last = now
	if c.fails >= LoginFailures {
		d := LockoutBase << min(c.fails-LoginFailures, 10)
		c.lockedUntil = now.Add(min(d, LockoutMax))
	}
}

// pruneClients drops stale entries, or all of them if none is stale (a
// flood from many addresses then cannot grow the table).
func (a *auth) pruneClients(now time.Time) {
	for k, c := range a.clients {
		if now.Sub(c.last) > LoginWindow && !now.Before(c.lockedUntil) {
			delete(a.clients, k)
		}
	}
	if len(a.clients) >= maxClients {
		clear(a.clients)
	}
}

// newSession opens a session; a.mu is held.
func (a *auth) newSession(now time.Time) *session {
	if len(a.sessions) >= maxSessions {
		var oldest *session
		for _, s := range a.sessions {
			if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
				oldest = s
			}
		}
		delete(a.sessions, oldest.token)
	}
	s := &session{token: randomToken(), csrf: randomToken(), created: now, lastUsed: now}
	a.sessions[s.token] = s
	return s
}

// lookup finds a live session by token and touches it.
func (a *auth) lookup(token string) *session {
	if token == "" {
		return nil
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[token]
	if s == nil {
		return nil
	}
	if now.Sub(s.lastUsed) > SessionIdle || now.Sub(s.created) > SessionMax {
		delete(a.sessions, token)
		return nil
	}
	s.lastUsed = now
	return s
}

// logout ends a session.
func (a *auth) logout(s *session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, s.token)
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientKey is the rate limiter's key for a request: its IP address.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authKind says how a request authenticated.
type authKind int

const (
	authNone   authKind = iota
	authCookie          // browser session: state changes need the CSRF token
	authBearer          // API client: no CSRF (browsers never send it by themselves)
)

// requestSession finds the request's session.
func (s *Server) requestSession(r *http.Request) (*session, authKind) {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			if ss := s.auth.lookup(strings.TrimSpace(tok)); ss != nil {
				return ss, authBearer
			}
		}
		return nil, authNone
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		if ss := s.auth.lookup(c.Value); ss != nil {
			return ss, authCookie
		}
	}
	return nil, authNone
}

// safeMethod reports methods that never change state.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfOK checks the CSRF token of a cookie-authenticated request.
func csrfOK(r *http.Request, ss *session) bool {
	tok := r.Header.Get(CSRFHeader)
	if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		tok = r.PostFormValue("csrf_token")
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(ss.csrf)) == 1
}

// sessionKey is the context key of the request's session.
type sessionKey struct{}

// wantsHTML reports a browser page request (not an API call).
func wantsHTML(r *http.Request) bool {
	return !strings.HasPrefix(r.URL.Path, "/api/") && !strings.Contains(r.Header.Get("Accept"), "application/json")
}

// requireAuth lets only logged-in requests through; state-changing
// cookie-authenticated ones must also carry the CSRF token. Without an
// auth store (no data directory) it falls back to loopback only.
func (s *Server) requireAuth(h http.Handler) http.Handler {
	if s.auth == nil {
		return s.loopbackOnly(h)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss, kind := s.requestSession(r)
		if ss == nil {
			if wantsHTML(r) && safeMethod(r.Method) {
				to := "/login?next=" + urlQueryEscape(r.URL.RequestURI())
				if !s.auth.hasPassword() {
					to = "/setup"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			msg := "login required (POST /api/login, then send the session cookie or Authorization: Bearer TOKEN)"
			if !s.auth.hasPassword() {
				msg = "no password is set yet: POST /api/setup {\"password\":\"...\"} first"
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="loopstart"`)
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		if kind == authCookie && !safeMethod(r.Method) && !csrfOK(r, ss) {
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token (send the "+CSRFHeader+" header from /api/login's csrf_token)")
			return
		}
		h.ServeHTTP(w, r.WithContext(withSession(r.Context(), ss)))
	})
}

// setSessionCookie hands the browser its session cookie.
func setSessionCookie(w http.ResponseWriter, r *http.Request, ss *session) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: ss.token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		MaxAge: int(SessionMax / time.Second),
	})
}

// loginResponse is the JSON answer of /api/login and /api/setup.
type loginResponse struct {
	Token     string `json:"token"`
	CSRFToken string `json:"csrf_token"`
}

// readPassword reads {"password":"..."} (JSON) or a form field password.
func readPassword(w http.ResponseWriter, r *http.Request, fields ...string) (map[string]string, bool) {
	out := map[string]string{}
	// curl -d labels JSON as a form: go by the body.
	br := bufio.NewReader(http.MaxBytesReader(w, r.Body, maxBody))
	r.Body = io.NopCloser(br)
	if first, _ := br.Peek(1); len(first) == 1 && first[0] == '{' {
		r.Header.Set("Content-Type", "application/json")
	}
	if isForm(r) {
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "cannot read the form: "+err.Error())
			return nil, false
		}
		for _, f := range fields {
			out[f] = r.PostFormValue(f)
		}
		return out, true
	}
	var req map[string]string
	if !decodeBody(w, r, &req) {
		return nil, false
	}
	for _, f := range fields {
		out[f] = req[f]
	}
	return out, true
}

// isForm reports an HTML form post, answered with a redirect.
func isForm(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	in, ok := readPassword(w, r, "password", "confirm")
	if !ok {
		return
	}
	fail := func(code int, msg string) {
		if isForm(r) {
			s.renderAuthPage(w, r, "setup.html", code, msg)
			return
		}
		writeError(w, code, msg)
	}
	if s.auth.hasPassword() {
		fail(http.StatusConflict, "a password is already set: log in instead")
		return
	}
	if msg := checkNewPassword(in["password"]); msg != "" {
		fail(http.StatusBadRequest, msg)
		return
	}
	if isForm(r) && in["confirm"] != in["password"] {
		fail(http.StatusBadRequest, "the two passwords differ")
		return
	}
	if err := s.auth.setup(in["password"]); err != nil {
		if errors.Is(err, errPasswordSet) {
			fail(http.StatusConflict, "a password is already set: log in instead")
			return
		}
		s.log.Error("webui: setup", "err", err)
		fail(http.StatusInternalServerError, "cannot store the password: "+err.Error())
		return
	}
	s.audit("admin password set", "client", clientKey(r))
	ss, err := s.auth.login(clientKey(r), in["password"])
	if err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	s.loggedIn(w, r, ss)
}

func (s *Server) loggedIn(w http.ResponseWriter, r *http.Request, ss *session) {
	setSessionCookie(w, r, ss)
	if isForm(r) {
		next := r.URL.Query().Get("next")
		if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
			next = "/"
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, loginResponse{Token: ss.token, CSRFToken: ss.csrf})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	in, ok := readPassword(w, r, "password")
	if !ok {
		return
	}
	fail := func(code int, msg string) {
		if isForm(r) {
			s.renderAuthPage(w, r, "login.html", code, msg)
			return
		}
		writeError(w, code, msg)
	}
	ss, err := s.auth.login(clientKey(r), in["password"])
	var locked errLocked
	switch {
	case err == nil:
		s.log.Info("webui: login", "client", clientKey(r))
		s.loggedIn(w, r, ss)
	case errors.As(err, &locked):
		s.log.Warn("webui: login refused, client locked out", "client", clientKey(r))
		w.Header().Set("Retry-After", strconv.Itoa(int(locked.retry.Seconds()+0.999)))
		fail(http.StatusTooManyRequests, err.Error())
	case errors.Is(err, errNoPassword):
		fail(http.StatusConflict, "no password is set yet: set one first (POST /api/setup)")
	default:
		s.log.Warn("webui: wrong password", "client", clientKey(r))
		fail(http.StatusUnauthorized, "wrong password")
	}
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if ss := sessionOf(r); ss != nil {
		s.auth.logout(ss)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	if isForm(r) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.ok(w)
}

func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request) {
	in, ok := readPassword(w, r, "old", "password")
	if !ok {
		return
	}
	if msg := checkNewPassword(in["password"]); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if err := s.auth.change(in["old"], in["password"], sessionOf(r)); err != nil {
		if errors.Is(err, errWrongPassword) {
			writeError(w, http.StatusForbidden, "the current password is wrong")
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.audit("admin password changed")
	s.ok(w)
}
