package webui

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Authentication limits and parameters.
const (
	// MinPasswordLen and MaxPasswordLen bound the admin password, in bytes.
	MinPasswordLen, MaxPasswordLen = 8, 256
	// PasswordFile is the admin password hash's file name in the data directory.
	PasswordFile = "webui-password"
	// SetupCodeFile is the setup code's file name in the data directory.
	// It exists while no password is set: the first POST /api/setup must
	// carry the code it holds, which the log shows at every start too.
	SetupCodeFile = "setup-code"
	// SessionCookie is the session cookie's name.
	SessionCookie = "loopstart_session"
	// CSRFHeader carries the CSRF token on state-changing browser requests;
	// HTML forms may send it as the form field csrf_token instead.
	CSRFHeader = "X-CSRF-Token"
	// SessionIdle and SessionMax bound a session's life.
	SessionIdle, SessionMax = 8 * time.Hour, 7 * 24 * time.Hour
	// maxSessions bounds the session table; the oldest is dropped.
	maxSessions = 64
	// LoginFailures is how many wrong passwords (or setup codes) a client
	// may send before it is locked out for LockoutBase, doubling with every
	// further failure up to LockoutMax. A success or LoginWindow without
	// failures resets it. Checks still running count as failures, so
	// parallel guesses get no more checks than sequential ones, and after
	// a lockout a client gets one check at a time.
	LoginFailures = 5
	// LockoutBase, LockoutMax and LoginWindow shape the lockout.
	LockoutBase, LockoutMax, LoginWindow = time.Minute, 15 * time.Minute, 15 * time.Minute
	// SourceAttempts and GlobalAttempts bound the password and setup code
	// checks (right or wrong) of one client and of all clients together in
	// each AttemptWindow; more are answered 429.
	SourceAttempts, GlobalAttempts = 10, 60
	// AttemptWindow is the rate limits' window.
	AttemptWindow = time.Minute
	// MaxHashes is how many password hashes (19 MiB each) run at once,
	// process-wide. A check waits up to hashWait for its turn and is
	// otherwise answered 429.
	MaxHashes = 2
	hashWait  = 2 * time.Second
	// maxClients bounds the client table. A full table drops idle
	// clients, then the unlocked client with the oldest failure; when
	// every client is locked out or being checked, new clients are refused.
	maxClients = 1024
	// minCodeLen is the shortest setup code accepted from SetupCodeFile
	// (40 bits in base32); made codes have 10 characters (50 bits).
	minCodeLen = 8
)

// argonParams are the argon2id cost parameters.
type argonParams struct {
	time, memKiB uint32
	threads      uint8
}

// defaultArgon follows the OWASP minimum for argon2id (19 MiB, 2 passes),
// which a small ATA can afford once per login.
var defaultArgon = argonParams{time: 2, memKiB: 19 * 1024, threads: 1}

// hashSlots admits MaxHashes password hashes at once in the process.
var hashSlots = make(chan struct{}, MaxHashes)

// argonKey derives an argon2id key.
func argonKey(pw, salt []byte, p argonParams, n uint32) []byte {
	return argon2.IDKey(pw, salt, p.time, p.memKiB, p.threads, n)
}

// Errors of the auth store.
var (
	errPasswordSet   = errors.New("a password is already set")
	errNoPassword    = errors.New("no password is set yet")
	errWrongPassword = errors.New("wrong password")
	errWrongCode     = errors.New("wrong setup code")
)

// errLimited refuses a check for a while: a lockout, a rate limit, a full
// hash queue or client table. retry is how long the client should wait.
type errLimited struct {
	retry time.Duration
	why   string
}

func (e errLimited) Error() string {
	return fmt.Sprintf("%s: try again in %d s", e.why, e.seconds())
}

// seconds is the Retry-After value, at least 1.
func (e errLimited) seconds() int {
	return max(1, int(e.retry.Seconds()+0.999))
}

// session is one logged-in client.
type session struct {
	token, csrf string
	created     time.Time
	lastUsed    time.Time
}

// window counts events in fixed windows of time.
type window struct {
	start time.Time
	n     int
}

// room reports whether another event fits under limit in the window of
// length d that holds now, and otherwise how long until it ends.
func (w *window) room(now time.Time, limit int, d time.Duration) (time.Duration, bool) {
	if now.Before(w.start) || now.Sub(w.start) >= d {
		w.start, w.n = now, 0
	}
	if w.n >= limit {
		return w.start.Add(d).Sub(now), false
	}
	return 0, true
}

// client is one source's login record: its recent failures, its checks
// running and its attempts in the current rate window.
type client struct {
	fails       int
	pending     int
	last        time.Time // of the last failure
	lockedUntil time.Time
	rate        window
}

func (c *client) locked(now time.Time) bool { return now.Before(c.lockedUntil) }

// auth holds the admin password hash, the setup code, the sessions and
// the login limiter.
type auth struct {
	path, codePath string
	now            func() time.Time
	argon          argonParams
	// kdf derives a key from a password (argonKey; tests count calls).
	kdf func(pw, salt []byte, p argonParams, n uint32) []byte
	// slots admits the hashes that may run at once (hashSlots); wait is
	// how long a check waits for its turn.
	slots chan struct{}
	wait  time.Duration

	mu       sync.Mutex
	phc      string // the password's PHC string; "" = no password yet
	code     string // the setup code while no password is set
	sessions map[string]*session
	clients  map[string]*client
	global   window
}

// newAuth loads the password hash from dir (none yet is fine); without
// one it loads the setup code from dir or makes and stores a new one.
func newAuth(dir string, now func() time.Time, p argonParams) (*auth, error) {
	a := &auth{path: filepath.Join(dir, PasswordFile), codePath: filepath.Join(dir, SetupCodeFile),
		now: now, argon: p, kdf: argonKey, slots: hashSlots, wait: hashWait,
		sessions: map[string]*session{}, clients: map[string]*client{}}
	b, err := os.ReadFile(a.path)
	switch {
	case err == nil:
		a.phc = strings.TrimSpace(string(b))
		if _, _, _, err := parsePHC(a.phc); err != nil {
			return nil, fmt.Errorf("webui: %s: %w", a.path, err)
		}
		// Left over if the last setup stopped before removing it.
		_ = os.Remove(a.codePath)
		return a, nil
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, fmt.Errorf("webui: read password: %w", err)
	}
	if a.code, err = loadSetupCode(a.codePath); err != nil {
		return nil, err
	}
	return a, nil
}

// crockford is Crockford's base32 alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newSetupCode makes a setup code: 50 random bits as XXXXX-XXXXX.
func newSetupCode() string {
	var b [8]byte
	rand.Read(b[:])
	v := binary.BigEndian.Uint64(b[:])
	out := make([]byte, 0, 11)
	for i := range 10 {
		if i == 5 {
			out = append(out, '-')
		}
		out = append(out, crockford[(v>>(59-5*i))&31])
	}
	return string(out)
}

// normalizeCode makes a typed code comparable: upper case, without dashes
// and white space, with Crockford's look-alikes (O, I, L) read as digits.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || unicode.IsSpace(r):
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validCode reports a usable stored code: 8 to 64 letters and digits.
func validCode(s string) bool {
	n := normalizeCode(s)
	if len(n) < minCodeLen || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if (r < '0' || r > '9') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// loadSetupCode reads the setup code at path, or makes one and stores it
// there (0600) when the file is missing or unusable.
func loadSetupCode(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if c := strings.TrimSpace(string(b)); validCode(c) {
			return c, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("webui: read setup code: %w", err)
	}
	code := newSetupCode()
	if err := writeSecret(path, code+"\n", true); err != nil {
		return "", fmt.Errorf("webui: store setup code: %w", err)
	}
	return code, nil
}

// setupCode returns the setup code, "" once a password is set.
func (a *auth) setupCode() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.code
}

// hasPassword reports whether the admin password is set.
func (a *auth) hasPassword() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.phc != ""
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

// checkCode checks client's setup code (a pressed setup button stands in
// for it). A wrong or missing code counts as a failed login; the check
// runs under a.mu, so parallel guesses cannot pass the lockout.
func (a *auth) checkCode(client, code string, button bool) error {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.phc != "" {
		return errPasswordSet
	}
	c, err := a.admit(client, now)
	if err != nil {
		return err
	}
	if button {
		return nil
	}
	got, want := normalizeCode(code), normalizeCode(a.code)
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return a.failed(c, now, errWrongCode)
	}
	return nil
}

// setup sets the first password and opens a session; it fails once one
// is set. The setup code is checked before (checkCode) and removed here.
func (a *auth) setup(ctx context.Context, pw string) (*session, error) {
	if a.hasPassword() {
		return nil, errPasswordSet
	}
	phc, err := a.makePHC(ctx, pw)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.phc != "" {
		return nil, errPasswordSet
	}
	if err := a.store(phc, false); err != nil {
		return nil, err
	}
	a.code = ""
	_ = os.Remove(a.codePath) // newAuth removes it at the next start if this fails
	return a.newSession(a.now()), nil
}

// change replaces the password after checking the old one (a check that
// counts toward client's lockout), and ends every other session.
func (a *auth) change(ctx context.Context, client, old, pw string, keep *session) error {
	phc, err := a.check(ctx, client, old)
	if err != nil {
		return err
	}
	newPHC, err := a.makePHC(ctx, pw)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.phc != phc {
		return errors.New("the password was changed meanwhile")
	}
	if err := a.store(newPHC, true); err != nil {
		return err
	}
	for t, s := range a.sessions {
		if s != keep {
			delete(a.sessions, t)
		}
	}
	return nil
}

// store writes the PHC string atomically and makes it the password; a.mu
// is held. Unless replace, an existing file is never overwritten, so two
// concurrent first-run setups cannot both win.
func (a *auth) store(phc string, replace bool) error {
	err := writeSecret(a.path, phc+"\n", replace)
	if errors.Is(err, os.ErrExist) {
		return errPasswordSet
	}
	if err != nil {
		return fmt.Errorf("webui: store password: %w", err)
	}
	a.phc = phc
	return nil
}

// writeSecret writes data to path (0600) through a synced temporary file.
// Unless replace, an existing file is kept (os.Link fails on it: the
// error is os.ErrExist).
func writeSecret(path, data string, replace bool) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, werr := f.WriteString(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return err
	}
	if replace {
		return os.Rename(tmp, path)
	}
	return os.Link(tmp, path)
}

// hashTurn waits for one of the process's hash turns for a hash of
// memKiB; the returned function gives it back.
func (a *auth) hashTurn(ctx context.Context, memKiB uint32) (func(), error) {
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return func() { a.hashDone(memKiB) }, nil
	case <-t.C:
		return nil, errLimited{time.Second, "busy checking other passwords"}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hashDone collects a hash's memory and then gives its turn back: unlike
// the garbage of ordinary requests, 19 MiB per hash would otherwise pile
// up to the collector's next goal (twice the live heap, which includes
// the other hash running) and next to the hashes the freed turn starts.
// The last hash of a burst also hands the memory back to the kernel.
func (a *auth) hashDone(memKiB uint32) {
	if memKiB >= 1024 {
		if len(a.slots) == 1 {
			debug.FreeOSMemory()
		} else {
			runtime.GC()
		}
	}
	<-a.slots
}

// makePHC hashes pw with a new salt into a PHC string.
func (a *auth) makePHC(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	p := a.argon
	done, err := a.hashTurn(ctx, p.memKiB)
	if err != nil {
		return "", err
	}
	defer done()
	key := a.kdf([]byte(pw), salt, p, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memKiB, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
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

// verify checks pw against a PHC string in constant time, in one of the
// process's hash turns.
func (a *auth) verify(ctx context.Context, phc, pw string) (bool, error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, nil
	}
	done, err := a.hashTurn(ctx, p.memKiB)
	if err != nil {
		return false, err
	}
	defer done()
	got := a.kdf([]byte(pw), salt, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// login checks pw for client and opens a session.
func (a *auth) login(ctx context.Context, client, pw string) (*session, error) {
	if _, err := a.check(ctx, client, pw); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.newSession(a.now()), nil
}

// check checks client's password pw and returns the PHC string it
// matched. The client's slot is taken before the hash runs: a check
// running counts as a failure until it ends.
func (a *auth) check(ctx context.Context, key, pw string) (string, error) {
	now := a.now()
	a.mu.Lock()
	phc := a.phc
	if phc == "" {
		a.mu.Unlock()
		return "", errNoPassword
	}
	c, err := a.admit(key, now)
	if err != nil {
		a.mu.Unlock()
		return "", err
	}
	c.pending++
	a.mu.Unlock()

	ok, err := a.verify(ctx, phc, pw)

	a.mu.Lock()
	defer a.mu.Unlock()
	c.pending--
	switch {
	case err != nil: // no hash ran: nothing to count
		return "", err
	case !ok:
		return "", a.failed(c, now, errWrongPassword)
	}
	c.fails, c.lockedUntil = 0, time.Time{}
	return phc, nil
}

// admit lets client key try a password or setup code now, or says why
// not, and counts the attempt in the rate windows; a.mu is held.
func (a *auth) admit(key string, now time.Time) (*client, error) {
	c := a.clients[key]
	if c == nil {
		if len(a.clients) >= maxClients && !a.evict(now) {
			return nil, errLimited{LockoutBase, "too many clients are locked out"}
		}
		c = &client{}
		a.clients[key] = c
	}
	if c.locked(now) {
		return nil, errLimited{c.lockedUntil.Sub(now), "too many wrong passwords"}
	}
	if c.pending == 0 && now.Sub(c.last) > LoginWindow {
		c.fails = 0
	}
	if allow := max(1, LoginFailures-c.fails); c.pending >= allow {
		return nil, errLimited{time.Second, "this client's other password checks are still running"}
	}
	if d, ok := c.rate.room(now, SourceAttempts, AttemptWindow); !ok {
		return nil, errLimited{d, "too many attempts from this client"}
	}
	if d, ok := a.global.room(now, GlobalAttempts, AttemptWindow); !ok {
		return nil, errLimited{d, "too many login attempts"}
	}
	c.rate.n++
	a.global.n++
	return c, nil
}

// failed records a failed check of c and returns wrong, or the lockout
// the failure started; a.mu is held.
func (a *auth) failed(c *client, now time.Time, wrong error) error {
	c.fails++
	c.last = now
	if c.fails < LoginFailures {
		return wrong
	}
	d := min(LockoutBase<<min(c.fails-LoginFailures, 10), LockoutMax)
	c.lockedUntil = now.Add(d)
	return errLimited{d, "too many wrong passwords"}
}

// evict makes room in the full client table without ever dropping a
// locked client or one being checked: it drops the idle clients, or else
// the unlocked client whose last failure is oldest. It reports whether
// there is room; a.mu is held.
func (a *auth) evict(now time.Time) bool {
	var oldest string
	var oldestAt time.Time
	found := false
	for k, c := range a.clients {
		if c.locked(now) || c.pending > 0 {
			continue
		}
		if now.Sub(c.last) > LoginWindow && now.Sub(c.rate.start) >= AttemptWindow {
			delete(a.clients, k)
			continue
		}
		if !found || c.last.Before(oldestAt) {
			oldest, oldestAt, found = k, c.last, true
		}
	}
	if len(a.clients) < maxClients {
		return true
	}
	if !found {
		return false
	}
	delete(a.clients, oldest)
	return true
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

// clientKey is the rate limiter's key for a request: its IP address, or
// for IPv6 its /64 (one host may hold all of its addresses).
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() && !ip.IsLoopback() {
		if p, err := ip.WithZone("").Prefix(64); err == nil {
			return p.String()
		}
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

// maxFormUpload bounds a multipart form other than the firmware upload.
const maxFormUpload = 2 << 20

// csrfOK checks the CSRF token of a cookie-authenticated request.
func csrfOK(r *http.Request, ss *session) bool {
	tok := r.Header.Get(CSRFHeader)
	ct := r.Header.Get("Content-Type")
	switch {
	case tok != "":
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		tok = r.PostFormValue("csrf_token")
	case strings.HasPrefix(ct, "multipart/form-data") && r.URL.Path != "/api/firmware":
		// The settings and restore forms upload small files; the firmware
		// upload streams its image and sends the header.
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormUpload)
		if r.ParseMultipartForm(maxFormUpload) == nil {
			tok = r.PostFormValue("csrf_token")
		}
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
				msg = "no password is set yet: POST /api/setup {\"password\":\"...\",\"setup_code\":\"...\"} first (" + setupCodeHint + ")"
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

// setupCodeHint says where the setup code is.
const setupCodeHint = "the setup code is in the gateway's log and on its console at start, and in the data directory's " + SetupCodeFile + " file"

// refuse answers a refused check: 429 with Retry-After for a limit, else
// code with msg.
func refuse(w http.ResponseWriter, err error, code int, msg string, fail func(int, string)) {
	var lim errLimited
	if errors.As(err, &lim) {
		w.Header().Set("Retry-After", strconv.Itoa(lim.seconds()))
		fail(http.StatusTooManyRequests, err.Error())
		return
	}
	fail(code, msg)
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	in, ok := readPassword(w, r, "password", "confirm", "setup_code")
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
	const conflict = "a password is already set: log in instead"
	if s.auth.hasPassword() {
		fail(http.StatusConflict, conflict)
		return
	}
	button := s.opts.SetupButton != nil && s.opts.SetupButton()
	if err := s.auth.checkCode(clientKey(r), in["setup_code"], button); err != nil {
		switch {
		case errors.Is(err, errPasswordSet):
			fail(http.StatusConflict, conflict)
		case errors.Is(err, errWrongCode):
			s.log.Warn("webui: wrong setup code", "client", clientKey(r))
			fail(http.StatusForbidden, "missing or wrong setup code ("+setupCodeHint+")")
		default:
			s.log.Warn("webui: setup refused", "client", clientKey(r), "err", err)
			refuse(w, err, http.StatusForbidden, "missing or wrong setup code ("+setupCodeHint+")", fail)
		}
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
	ss, err := s.auth.setup(r.Context(), in["password"])
	if err != nil {
		var lim errLimited
		switch {
		case errors.Is(err, errPasswordSet):
			fail(http.StatusConflict, conflict)
		case errors.As(err, &lim):
			refuse(w, err, 0, "", fail)
		default:
			s.log.Error("webui: setup", "err", err)
			fail(http.StatusInternalServerError, "cannot store the password: "+err.Error())
		}
		return
	}
	s.audit("admin password set", "client", clientKey(r))
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
	ss, err := s.auth.login(r.Context(), clientKey(r), in["password"])
	var lim errLimited
	switch {
	case err == nil:
		s.log.Info("webui: login", "client", clientKey(r))
		s.loggedIn(w, r, ss)
	case errors.As(err, &lim):
		s.log.Warn("webui: login refused", "client", clientKey(r), "why", lim.why)
		refuse(w, err, 0, "", fail)
	case errors.Is(err, errNoPassword):
		fail(http.StatusConflict, "no password is set yet: set one first (POST /api/setup)")
	case errors.Is(err, errWrongPassword):
		s.log.Warn("webui: wrong password", "client", clientKey(r))
		fail(http.StatusUnauthorized, "wrong password")
	default:
		fail(http.StatusServiceUnavailable, "cannot check the password now: "+err.Error())
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
	if err := s.auth.change(r.Context(), clientKey(r), in["old"], in["password"], sessionOf(r)); err != nil {
		fail := func(code int, msg string) { writeError(w, code, msg) }
		var lim errLimited
		switch {
		case errors.As(err, &lim):
			refuse(w, err, 0, "", fail)
		case errors.Is(err, errWrongPassword):
			writeError(w, http.StatusForbidden, "the current password is wrong")
		default:
			writeError(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	s.audit("admin password changed")
	s.ok(w)
}
