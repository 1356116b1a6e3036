package sip

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Digest authentication as a client (RFC 3261 section 22, RFC 7616,
// RFC 8760): every challenge of a 401 or 407 is read, whatever the number
// of header fields it spans; per realm the topmost challenge with an
// algorithm we support is answered with qop=auth, a random cnonce and a
// nonce count kept per nonce.

// ErrUnsupportedChallenge matches the error returned when a 401 or 407
// carries no challenge we can answer (an unknown scheme, an algorithm such
// as AKAv1-MD5, or qop=auth-int only). The error's text says what was asked.
var ErrUnsupportedChallenge = errors.New("no digest challenge we can answer")

// maxAuthRounds bounds the requests sent with credentials for one request:
// a challenge answered once is only answered again when it is new (stale
// nonce, or a realm we have not answered yet).
const maxAuthRounds = 3

// challengeError explains why no challenge could be answered.
type challengeError struct{ msg string }

func (e *challengeError) Error() string        { return e.msg }
func (e *challengeError) Is(target error) bool { return target == ErrUnsupportedChallenge }

// challenge is one authentication challenge (RFC 7235 section 2.1) from a
// WWW-Authenticate or Proxy-Authenticate header field.
type challenge struct {
	scheme  string            // as sent, e.g. "Digest"
	token68 string            // the scheme's token68 form, if it used one
	params  map[string]string // names lower-cased, values unquoted; the first of duplicates
}

// parseChallenges reads every challenge in one header field value: a comma
// separated list of challenges, each a scheme followed by a token68 or by
// comma separated auth-params (quoted strings may hold commas). On a syntax
// error it returns the challenges before it.
func parseChallenges(s string) ([]challenge, error) {
	l := authLexer{s: s}
	var out []challenge
	for {
		l.skip(", \t\r\n")
		if l.eof() {
			return out, nil
		}
		scheme := l.token()
		if scheme == "" {
			return out, fmt.Errorf("challenge: unexpected %q at offset %d", l.s[l.i], l.i)
		}
		ch := challenge{scheme: scheme, params: map[string]string{}}
		if !l.eof() && !l.at(" \t\r\n,") {
			return out, fmt.Errorf("challenge: unexpected %q after scheme %q", l.s[l.i], scheme)
		}
		l.skip(" \t\r\n")
		if t := l.token68(); t != "" {
			ch.token68 = t
		} else {
			for l.paramAhead() {
				name := strings.ToLower(l.token())
				l.skip(" \t\r\n")
				l.i++ // '='
				l.skip(" \t\r\n")
				val, err := l.value()
				if err != nil {
					return out, fmt.Errorf("challenge %s, parameter %s: %w", scheme, name, err)
				}
				if _, dup := ch.params[name]; !dup {
					ch.params[name] = val
				}
				l.skip(" \t\r\n")
				if l.eof() {
					break
				}
				if !l.at(",") {
					return out, fmt.Errorf("challenge %s: unexpected %q after parameter %s", scheme, l.s[l.i], name)
				}
				l.skip(", \t\r\n")
			}
		}
		out = append(out, ch)
	}
}

// authLexer scans the auth-param syntax of RFC 7235.
type authLexer struct {
	s string
	i int
}

func (l *authLexer) eof() bool { return l.i >= len(l.s) }

func (l *authLexer) at(set string) bool { return !l.eof() && strings.IndexByte(set, l.s[l.i]) >= 0 }

func (l *authLexer) skip(set string) {
	for l.at(set) {
		l.i++
	}
}

// isTokenChar reports a tchar of RFC 7230.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (l *authLexer) token() string {
	start := l.i
	for !l.eof() && isTokenChar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

// token68 consumes a token68 (RFC 7235: letters, digits, "-._~+/", then
// "=" padding) when one stands alone before the end or a comma.
func (l *authLexer) token68() string {
	j := l.i
	for j < len(l.s) && (isAlnum(l.s[j]) || strings.IndexByte("-._~+/", l.s[j]) >= 0) {
		j++
	}
	if j == l.i {
		return ""
	}
	for j < len(l.s) && l.s[j] == '=' {
		j++
	}
	end := j
	for j < len(l.s) && strings.IndexByte(" \t\r\n", l.s[j]) >= 0 {
		j++
	}
	if j < len(l.s) && l.s[j] != ',' {
		return ""
	}
	t := l.s[l.i:end]
	l.i = j
	return t
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// paramAhead reports whether an auth-param (token, "=") starts here, as
// opposed to the scheme of the next challenge.
func (l *authLexer) paramAhead() bool {
	save := l.i
	defer func() { l.i = save }()
	if l.token() == "" {
		return false
	}
	l.skip(" \t\r\n")
	return l.at("=")
}

// value reads a quoted-string (unescaped) or an unquoted value, which is
// taken leniently up to the next comma or white space.
func (l *authLexer) value() (string, error) {
	if !l.at(`"`) {
		start := l.i
		for !l.eof() && !l.at(", \t\r\n") {
			l.i++
		}
		if l.i == start {
			return "", errors.New("empty value")
		}
		return l.s[start:l.i], nil
	}
	l.i++
	var b strings.Builder
	for !l.eof() {
		c := l.s[l.i]
		l.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if l.eof() {
				return "", errors.New("unterminated quoted string")
			}
			b.WriteByte(l.s[l.i])
			l.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted string")
}

// digestChallenge is a Digest challenge we can answer.
type digestChallenge struct {
	realm, nonce, opaque string
	algorithm            string // as we echo it: canonical spelling, "" when the challenge named none
	base                 string // the hash: "MD5", "SHA-256" or "SHA-512-256"
	sess                 bool   // a -sess variant: H(A1) also covers nonce and cnonce
	qop                  string // "auth", or "" for a challenge without qop (RFC 2069)
	stale, userhash      bool
}

// digestAlgorithms maps the upper-cased algorithm names we answer to their
// canonical spelling (RFC 7616 section 6.1).
var digestAlgorithms = map[string]string{
	"":                 "",
	"MD5":              "MD5",
	"MD5-SESS":         "MD5-sess",
	"SHA-256":          "SHA-256",
	"SHA-256-SESS":     "SHA-256-sess",
	"SHA-512-256":      "SHA-512-256",
	"SHA-512-256-SESS": "SHA-512-256-sess",
}

// usable turns a challenge into a digestChallenge, or says what in it we do
// not support.
func usable(ch challenge) (digestChallenge, string) {
	p := ch.params
	alg := p["algorithm"]
	canon, ok := digestAlgorithms[strings.ToUpper(alg)]
	if !ok {
		return digestChallenge{}, "algorithm " + alg
	}
	d := digestChallenge{
		realm: p["realm"], nonce: p["nonce"], opaque: p["opaque"], algorithm: canon,
		stale:    strings.EqualFold(p["stale"], "true"),
		userhash: strings.EqualFold(p["userhash"], "true"),
	}
	d.base, d.sess = strings.CutSuffix(canon, "-sess")
	if d.base == "" {
		d.base = "MD5"
	}
	if q, offered := p["qop"]; offered {
		for o := range strings.SplitSeq(q, ",") {
			if strings.EqualFold(strings.TrimSpace(o), "auth") {
				d.qop = "auth"
			}
		}
		if d.qop == "" {
			return digestChallenge{}, "qop=" + q
		}
	} else if d.sess {
		return digestChallenge{}, "algorithm " + alg + " without qop"
	}
	if d.nonce == "" {
		return digestChallenge{}, "a challenge without a nonce"
	}
	return d, ""
}

// pickChallenges chooses, per realm in the order the realms first appear,
// the topmost Digest challenge we can answer (RFC 8760 section 2.4). who
// names the challenger in the error when there is none.
func pickChallenges(chs []challenge, who string) ([]digestChallenge, error) {
	var (
		picked  []digestChallenge
		seen    = map[string]bool{}
		refused []string
		schemes []string
	)
	for _, ch := range chs {
		if !strings.EqualFold(ch.scheme, "Digest") {
			schemes = appendOnce(schemes, ch.scheme)
			continue
		}
		d, why := usable(ch)
		if why != "" {
			refused = appendOnce(refused, why)
			continue
		}
		if seen[d.realm] {
			continue
		}
		seen[d.realm] = true
		picked = append(picked, d)
	}
	switch {
	case len(picked) > 0:
		return picked, nil
	case len(refused) > 0:
		return nil, &challengeError{fmt.Sprintf("%s asks for digest %s only, which we do not support", who, strings.Join(refused, " or "))}
	case len(schemes) > 0:
		return nil, &challengeError{fmt.Sprintf("%s asks for authentication scheme %s only, which we do not support", who, strings.Join(schemes, " or "))}
	}
	return nil, &challengeError{who + " asks for authentication without a challenge"}
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// newDigestHash returns the hash of a base algorithm name.
func newDigestHash(base string) hash.Hash {
	switch base {
	case "SHA-256":
		return sha256.New()
	case "SHA-512-256":
		return sha512.New512_256()
	}
	return md5.New()
}

func hexHash(h hash.Hash, parts ...string) string {
	h.Reset()
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

// newCnonce returns a random client nonce.
func newCnonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// credentials answers d for a request with method and digest URI: the
// value of an Authorization or Proxy-Authorization header. nc and cnonce
// are used when d asks for qop.
func (d digestChallenge) credentials(method, uri, user, password string, nc int, cnonce string) (string, error) {
	chal := &digest.Challenge{Realm: d.realm, Nonce: d.nonce, Opaque: d.opaque, Algorithm: d.base, Userhash: d.userhash}
	if d.qop != "" {
		chal.QOP = []string{d.qop}
	}
	o := digest.Options{Method: method, URI: uri, Username: user, Password: password, Count: nc, Cnonce: cnonce}
	if d.sess {
		// RFC 7616 section 3.4.2: H(A1) = H(H(user:realm:password):nonce:cnonce).
		h := newDigestHash(d.base)
		o.A1 = hexHash(h, hexHash(h, user, d.realm, password), d.nonce, cnonce)
	}
	cred, err := digest.Digest(chal, o)
	if err != nil {
		return "", fmt.Errorf("digest for realm %q: %w", d.realm, err)
	}
	cred.Algorithm = d.algorithm
	return cred.String(), nil
}

// nonceCounts keeps the nonce count (nc) we last sent per realm and nonce.
type nonceCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// maxClientNonces bounds the nonces remembered; beyond it the table starts over
// (a registrar's nonces are short-lived, so old ones are not missed).
const maxClientNonces = 64

// next returns the count to send with the next use of realm's nonce.
func (c *nonceCounts) next(realm, nonce string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil || len(c.n) >= maxClientNonces {
		c.n = map[string]int{}
	}
	k := realm + "\x00" + nonce
	c.n[k]++
	return c.n[k]
}

// challengeHeaders returns the header names of a challenge in res and of
// its answer: WWW-Authenticate/Authorization for a 401,
// Proxy-Authenticate/Proxy-Authorization for a 407.
func challengeHeaders(code int) (challengeName, answerName string) {
	if code == 407 {
		return "Proxy-Authenticate", "Proxy-Authorization"
	}
	return "WWW-Authenticate", "Authorization"
}

// challenger names who challenged req for error messages.
func challenger(req *sipmsg.Request, code int) string {
	switch {
	case code == 407:
		return "proxy"
	case req.Method == sipmsg.REGISTER:
		return "registrar"
	}
	return "server"
}

// responseChallenges parses every challenge of a 401 or 407. Header fields
// that do not parse contribute the challenges before the error.
func responseChallenges(res *sipmsg.Response) []challenge {
	name, _ := challengeHeaders(res.StatusCode)
	var all []challenge
	for _, h := range res.GetHeaders(name) {
		chs, _ := parseChallenges(h.Value())
		all = append(all, chs...)
	}
	return all
}

// authorize answers the challenges of res (a 401 or 407 to req) with
// acct's credentials: it puts one Authorization or Proxy-Authorization per
// chosen realm on req, replacing earlier ones for the same realms and
// keeping the others. It returns the challenges answered.
func (u *UA) authorize(req *sipmsg.Request, res *sipmsg.Response, acct *Account) ([]digestChallenge, error) {
	picked, err := pickChallenges(responseChallenges(res), challenger(req, res.StatusCode))
	if err != nil {
		return nil, err
	}
	_, answerName := challengeHeaders(res.StatusCode)
	user := acct.AuthUser
	if user == "" {
		user = acct.User
	}
	uri := req.Recipient.String()
	values := make([]string, 0, len(picked))
	realms := map[string]bool{}
	for _, d := range picked {
		nc := u.nonces.next(d.realm, d.nonce)
		v, err := d.credentials(string(req.Method), uri, user, acct.Password, nc, newCnonce())
		if err != nil {
			return nil, err
		}
		values = append(values, v)
		realms[d.realm] = true
	}
	var keep []sipmsg.Header
	for _, h := range req.GetHeaders(answerName) {
		if chs, _ := parseChallenges(h.Value()); len(chs) == 1 && !realms[chs[0].params["realm"]] {
			keep = append(keep, h)
		}
	}
	for req.RemoveHeader(answerName) {
	}
	for _, h := range keep {
		req.AppendHeader(h)
	}
	for _, v := range values {
		req.AppendHeader(sipmsg.NewHeader(answerName, v))
	}
	return picked, nil
}

// authRounds tracks the challenges answered for one request, so that a
// challenge repeated after our credentials (a wrong password) ends the
// exchange while a stale nonce or a new realm is answered again.
type authRounds struct {
	n        int
	answered map[string]bool // "401\x00realm" or "407\x00realm"
}

// retry answers res's challenges on req when it is worth another round:
// it reports false (and no error) when res is not a challenge, acct has no
// password, the rounds are used up, or every challenge is for a realm we
// answered already without stale=true.
func (u *UA) retry(st *authRounds, req *sipmsg.Request, res *sipmsg.Response, acct *Account) (bool, error) {
	if res == nil || (res.StatusCode != 401 && res.StatusCode != 407) || acct.Password == "" || st.n >= maxAuthRounds {
		return false, nil
	}
	picked, err := pickChallenges(responseChallenges(res), challenger(req, res.StatusCode))
	if err != nil {
		return false, err
	}
	fresh := false
	for _, d := range picked {
		if d.stale || !st.answered[fmt.Sprint(res.StatusCode, "\x00", d.realm)] {
			fresh = true
		}
	}
	if !fresh {
		return false, nil
	}
	if _, err := u.authorize(req, res, acct); err != nil {
		return false, err
	}
	if st.answered == nil {
		st.answered = map[string]bool{}
	}
	for _, d := range picked {
		st.answered[fmt.Sprint(res.StatusCode, "\x00", d.realm)] = true
	}
	st.n++
	return true, nil
}

// doWithAuth sends req (out of dialog) through client and answers digest
// challenges with acct's credentials: each retry carries the credentials,
// CSeq+1 and a new Via, as RFC 3261 section 22.2 asks. It returns the last
// final response. When a 401 or 407 has no challenge we can answer it
// returns that response together with an error matching
// ErrUnsupportedChallenge. A challenge that comes back after our
// credentials (a wrong password) is returned as the response, no error.
func (u *UA) doWithAuth(ctx context.Context, client *sipgo.Client, req *sipmsg.Request, acct *Account) (*sipmsg.Response, error) {
	res, err := client.Do(ctx, req)
	var st authRounds
	for err == nil {
		again, aerr := u.retry(&st, req, res, acct)
		if aerr != nil {
			return res, aerr
		}
		if !again {
			break
		}
		if cs := req.CSeq(); cs != nil {
			cs.SeqNo++
		}
		req.RemoveHeader("Via")
		res, err = client.Do(ctx, req, sipgo.ClientRequestAddVia)
	}
	return res, err
}
