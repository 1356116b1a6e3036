package sip

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// challengeResponse builds a 401 (or 407) carrying one header field per value.
func challengeResponse(code int, values ...string) *sipmsg.Response {
	name, _ := challengeHeaders(code)
	res := sipmsg.NewResponse(code, "Challenge")
	for _, v := range values {
		res.AppendHeader(sipmsg.NewHeader(name, v))
	}
	return res
}

func TestParseChallenges(t *testing.T) {
	type ch struct {
		scheme string
		params map[string]string
	}
	tests := []struct {
		name   string
		fields []string // header field values, one per WWW-Authenticate line
		want   []ch
	}{
		{
			name:   "one digest",
			fields: []string{`Digest realm="atlanta.com", nonce="84a4cc6f", algorithm=MD5, qop="auth"`},
			want:   []ch{{"Digest", map[string]string{"realm": "atlanta.com", "nonce": "84a4cc6f", "algorithm": "MD5", "qop": "auth"}}},
		},
		{
			name: "several header fields",
			fields: []string{
				`Digest realm="a", nonce="1", algorithm=SHA-256`,
				`Digest realm="a", nonce="2", algorithm=MD5`,
			},
			want: []ch{
				{"Digest", map[string]string{"realm": "a", "nonce": "1", "algorithm": "SHA-256"}},
				{"Digest", map[string]string{"realm": "a", "nonce": "2", "algorithm": "MD5"}},
			},
		},
		{
			name:   "several challenges in one field",
			fields: []string{`Digest realm="a", nonce="1", algorithm=SHA-256, Digest realm="a", nonce="2", algorithm=MD5`},
			want: []ch{
				{"Digest", map[string]string{"realm": "a", "nonce": "1", "algorithm": "SHA-256"}},
				{"Digest", map[string]string{"realm": "a", "nonce": "2", "algorithm": "MD5"}},
			},
		},
		{
			name:   "quoted commas and escapes",
			fields: []string{`Digest realm="a, \"b\"", qop="auth,auth-int", nonce="x,y=z"`},
			want:   []ch{{"Digest", map[string]string{"realm": `a, "b"`, "qop": "auth,auth-int", "nonce": "x,y=z"}}},
		},
		{
			name:   "lower-case scheme, names and algorithm",
			fields: []string{`digest REALM="a",nonce="1",algorithm=sha-256`},
			want:   []ch{{"digest", map[string]string{"realm": "a", "nonce": "1", "algorithm": "sha-256"}}},
		},
		{
			name:   "unknown scheme first, token68",
			fields: []string{`Newauth dGVzdA==, Digest realm="a", nonce="1"`},
			want: []ch{
				{"Newauth", map[string]string{}},
				{"Digest", map[string]string{"realm": "a", "nonce": "1"}},
			},
		},
		{
			name:   "unknown scheme with params first",
			fields: []string{`Basic realm="simple", Digest realm="a", nonce="1"`},
			want: []ch{
				{"Basic", map[string]string{"realm": "simple"}},
				{"Digest", map[string]string{"realm": "a", "nonce": "1"}},
			},
		},
		{
			name:   "white space around equals and empty list elements",
			fields: []string{` , Digest realm = "a" ,, nonce= 1 ,`},
			want:   []ch{{"Digest", map[string]string{"realm": "a", "nonce": "1"}}},
		},
		{
			name:   "broken field keeps what came before it, next field still read",
			fields: []string{`Digest realm="a", nonce="1", Digest realm="b", nonce="unterminated`, `Digest realm="c", nonce="3"`},
			want: []ch{
				{"Digest", map[string]string{"realm": "a", "nonce": "1"}},
				{"Digest", map[string]string{"realm": "c", "nonce": "3"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := responseChallenges(challengeResponse(401, tt.fields...))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d challenges %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].scheme != w.scheme || !maps.Equal(got[i].params, w.params) {
					t.Errorf("challenge %d = %s %v, want %s %v", i, got[i].scheme, got[i].params, w.scheme, w.params)
				}
			}
		})
	}
}

func TestPickChallenges(t *testing.T) {
	type pick struct{ realm, nonce, algorithm, qop string }
	tests := []struct {
		name    string
		fields  []string
		want    []pick
		wantErr string // substring of the error; "" = none
	}{
		{
			name:   "unsupported algorithm first, then SHA-256",
			fields: []string{`Digest realm="r", nonce="aka", algorithm=AKAv1-MD5`, `Digest realm="r", nonce="sha", algorithm=SHA-256, qop="auth"`},
			want:   []pick{{"r", "sha", "SHA-256", "auth"}},
		},
		{
			name:   "topmost supported wins: SHA-256 before MD5",
			fields: []string{`Digest realm="r", nonce="1", algorithm=SHA-256, qop="auth", Digest realm="r", nonce="2", algorithm=MD5, qop="auth"`},
			want:   []pick{{"r", "1", "SHA-256", "auth"}},
		},
		{
			name:   "topmost supported wins: MD5 before SHA-256",
			fields: []string{`Digest realm="r", nonce="2", algorithm=MD5, Digest realm="r", nonce="1", algorithm=SHA-256`},
			want:   []pick{{"r", "2", "MD5", ""}},
		},
		{
			name:   "lower-case algorithm",
			fields: []string{`Digest realm="r", nonce="1", algorithm=sha-512-256-sess, qop=auth`},
			want:   []pick{{"r", "1", "SHA-512-256-sess", "auth"}},
		},
		{
			name:   "no algorithm means MD5, echoed as none",
			fields: []string{`Digest realm="r", nonce="1"`},
			want:   []pick{{"r", "1", "", ""}},
		},
		{
			name:   "auth chosen from auth,auth-int",
			fields: []string{`Digest realm="r", nonce="1", qop="auth-int, auth"`},
			want:   []pick{{"r", "1", "", "auth"}},
		},
		{
			name:   "unknown scheme first",
			fields: []string{`Basic realm="r"`, `Digest realm="r", nonce="1", algorithm=MD5`},
			want:   []pick{{"r", "1", "MD5", ""}},
		},
		{
			name: "two realms, one answer each",
			fields: []string{
				`Digest realm="proxy1", nonce="a", algorithm=SHA-256, qop="auth"`,
				`Digest realm="proxy2", nonce="b", algorithm=MD5, qop="auth"`,
				`Digest realm="proxy1", nonce="c", algorithm=MD5, qop="auth"`,
			},
			want: []pick{{"proxy1", "a", "SHA-256", "auth"}, {"proxy2", "b", "MD5", "auth"}},
		},
		{
			name:    "only an unsupported algorithm",
			fields:  []string{`Digest realm="r", nonce="1", algorithm=AKAv1-MD5`},
			wantErr: "registrar asks for digest algorithm AKAv1-MD5 only, which we do not support",
		},
		{
			name:    "auth-int only",
			fields:  []string{`Digest realm="r", nonce="1", algorithm=SHA-256, qop="auth-int"`},
			wantErr: "registrar asks for digest qop=auth-int only, which we do not support",
		},
		{
			name:    "two unsupported algorithms",
			fields:  []string{`Digest realm="r", nonce="1", algorithm=AKAv1-MD5, Digest realm="r", nonce="2", algorithm=SHA-1`},
			wantErr: "registrar asks for digest algorithm AKAv1-MD5 or algorithm SHA-1 only",
		},
		{
			name:    "no digest at all",
			fields:  []string{`Basic realm="r"`},
			wantErr: "registrar asks for authentication scheme Basic only",
		},
		{
			name:    "no challenge",
			wantErr: "registrar asks for authentication without a challenge",
		},
		{
			name:    "no nonce",
			fields:  []string{`Digest realm="r"`},
			wantErr: "a challenge without a nonce",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickChallenges(responseChallenges(challengeResponse(401, tt.fields...)), "registrar")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrUnsupportedChallenge) {
					t.Fatalf("err = %v, want %q matching ErrUnsupportedChallenge", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var picks []pick
			for _, d := range got {
				picks = append(picks, pick{d.realm, d.nonce, d.algorithm, d.qop})
			}
			if !slices.Equal(picks, tt.want) {
				t.Errorf("picked %+v, want %+v", picks, tt.want)
			}
		})
	}
}

// TestCredentialsRFC7616 checks the responses against the worked example of
// RFC 7616 section 3.9.1 (user Mufasa, password "Circle of Life").
func TestCredentialsRFC7616(t *testing.T) {
	const (
		nonce  = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
		cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	)
	tests := []struct {
		algorithm string
		response  string // as published in the RFC
	}{
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	}
	for _, tt := range tests {
		t.Run(tt.algorithm, func(t *testing.T) {
			field := `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=` + tt.algorithm +
				`, nonce="` + nonce + `", opaque="` + opaque + `"`
			picked, err := pickChallenges(responseChallenges(challengeResponse(401, field)), "server")
			if err != nil {
				t.Fatal(err)
			}
			v, err := picked[0].credentials("GET", "/dir/index.html", "Mufasa", "Circle of Life", 1, cnonce)
			if err != nil {
				t.Fatal(err)
			}
			chs, err := parseChallenges(v)
			if err != nil || len(chs) != 1 {
				t.Fatalf("credentials %q do not parse: %v", v, err)
			}
			want := map[string]string{
				"username": "Mufasa", "realm": "http-auth@example.org", "uri": "/dir/index.html",
				"algorithm": tt.algorithm, "nonce": nonce, "nc": "00000001", "cnonce": cnonce,
				"qop": "auth", "response": tt.response, "opaque": opaque,
			}
			if !maps.Equal(chs[0].params, want) {
				t.Errorf("credentials %v\nwant %v", chs[0].params, want)
			}
		})
	}
}

// TestCredentialsSess checks a -sess variant against RFC 7616 section
// 3.4.2's A1 computed here by hand.
func TestCredentialsSess(t *testing.T) {
	h := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	ha1 := h(h("u:r:p") + ":n:c")
	want := h(ha1 + ":n:00000002:c:auth:" + h("REGISTER:sip:example.com"))
	picked, err := pickChallenges(responseChallenges(challengeResponse(401, `Digest realm="r", nonce="n", algorithm=SHA-256-sess, qop="auth"`)), "registrar")
	if err != nil {
		t.Fatal(err)
	}
	v, err := picked[0].credentials("REGISTER", "sip:example.com", "u", "p", 2, "c")
	if err != nil {
		t.Fatal(err)
	}
	chs, _ := parseChallenges(v)
	if got := chs[0].params["response"]; got != want || chs[0].params["algorithm"] != "SHA-256-sess" {
		t.Errorf("credentials %s: response %s, want %s", v, got, want)
	}
}

func TestAuthorize(t *testing.T) {
	u := &UA{}
	acct := &Account{User: "1001", AuthUser: "auth1001", Password: "pw"}
	newReq := func() *sipmsg.Request {
		return sipmsg.NewRequest(sipmsg.INVITE, sipmsg.Uri{Scheme: "sip", User: "1003", Host: "example.com"})
	}
	realmsOf := func(req *sipmsg.Request, name string) []string {
		var out []string
		for _, h := range req.GetHeaders(name) {
			chs, _ := parseChallenges(h.Value())
			out = append(out, chs[0].params["realm"]+"/"+chs[0].params["nc"]+"/"+chs[0].params["username"])
		}
		return out
	}

	req := newReq()
	req.AppendHeader(sipmsg.NewHeader("Proxy-Authorization", `Digest username="x", realm="p1", nonce="old", uri="sip:1003@example.com", response="0"`))
	req.AppendHeader(sipmsg.NewHeader("Proxy-Authorization", `Digest username="x", realm="keep", nonce="k", uri="sip:1003@example.com", response="0"`))
	res := challengeResponse(407,
		`Digest realm="p1", nonce="n1", algorithm=SHA-256, qop="auth"`,
		`Digest realm="p2", nonce="n2", algorithm=MD5, qop="auth", Digest realm="p2", nonce="n3"`)
	if _, err := u.authorize(req, res, acct); err != nil {
		t.Fatal(err)
	}
	if got, want := realmsOf(req, "Proxy-Authorization"), []string{"keep//x", "p1/00000001/auth1001", "p2/00000001/auth1001"}; !slices.Equal(got, want) {
		t.Errorf("Proxy-Authorization realms %v, want %v", got, want)
	}
	if req.GetHeader("Authorization") != nil {
		t.Error("a 407 must not add Authorization")
	}

	// The same nonce again counts up; a 401 adds Authorization and keeps
	// the proxy credentials.
	res = challengeResponse(401, `Digest realm="p1", nonce="n1", algorithm=SHA-256, qop="auth"`)
	if _, err := u.authorize(req, res, acct); err != nil {
		t.Fatal(err)
	}
	if got, want := realmsOf(req, "Authorization"), []string{"p1/00000002/auth1001"}; !slices.Equal(got, want) {
		t.Errorf("Authorization %v, want %v", got, want)
	}
	if n := len(req.GetHeaders("Proxy-Authorization")); n != 3 {
		t.Errorf("%d Proxy-Authorization after a 401, want 3 kept", n)
	}
	chs, _ := parseChallenges(req.GetHeader("Authorization").Value())
	if got := chs[0].params["uri"]; got != "sip:1003@example.com" {
		t.Errorf("digest uri %q, want the Request-URI", got)
	}
}

func TestRetryRounds(t *testing.T) {
	u := &UA{}
	acct := &Account{User: "1001", Password: "pw"}
	req := sipmsg.NewRequest(sipmsg.REGISTER, sipmsg.Uri{Scheme: "sip", Host: "example.com"})
	chal := func(nonce string, stale bool) *sipmsg.Response {
		v := `Digest realm="r", nonce="` + nonce + `", algorithm=SHA-256, qop="auth"`
		if stale {
			v += ", stale=true"
		}
		return challengeResponse(401, v)
	}
	steps := []struct {
		name string
		res  *sipmsg.Response
		want bool
	}{
		{"first challenge answered", chal("1", false), true},
		{"stale nonce answered again", chal("2", true), true},
		{"same realm, not stale: wrong password, stop", chal("3", false), false},
		{"a final answer is no challenge", sipmsg.NewResponse(200, "OK"), false},
	}
	var st authRounds
	for _, s := range steps {
		got, err := u.retry(&st, req, s.res, acct)
		if err != nil || got != s.want {
			t.Errorf("%s: retry = %v, %v; want %v", s.name, got, err, s.want)
		}
	}
	// Stale challenges forever end after maxAuthRounds.
	st = authRounds{}
	n := 0
	for i := range 10 {
		if ok, _ := u.retry(&st, req, chal(string(rune('a'+i)), true), acct); ok {
			n++
		}
	}
	if n != maxAuthRounds {
		t.Errorf("%d rounds, want %d", n, maxAuthRounds)
	}
	// No password: the challenge is the answer.
	if ok, err := u.retry(&authRounds{}, req, chal("x", false), &Account{User: "1001"}); ok || err != nil {
		t.Errorf("no password: retry = %v, %v", ok, err)
	}
	// Nothing we can answer: the error says why.
	_, err := u.retry(&authRounds{}, req, challengeResponse(401, `Digest realm="r", nonce="1", algorithm=AKAv1-MD5`), acct)
	if !errors.Is(err, ErrUnsupportedChallenge) {
		t.Errorf("AKAv1-MD5 only: err = %v", err)
	}
}

// formatChallenge renders a parsed challenge back (all values quoted).
func formatChallenge(c challenge) string {
	var b strings.Builder
	b.WriteString(c.scheme)
	if c.token68 != "" {
		b.WriteString(" " + c.token68)
		return b.String()
	}
	for i, k := range slices.Sorted(maps.Keys(c.params)) {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString(", ")
		}
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.params[k])
		b.WriteString(k + `="` + v + `"`)
	}
	return b.String()
}

// FuzzParseChallenges feeds WWW-Authenticate values to the parser and the
// chooser: no panic, and what parses renders back to the same challenges.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Digest realm="a", nonce="1", algorithm=SHA-256, qop="auth,auth-int"`,
		`Newauth dGVzdA==, Digest realm="a, b", nonce="x\"y"`,
		`Basic realm="simple", Digest realm="a", nonce="1", algorithm=AKAv1-MD5, Digest realm="a", nonce="2"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		chs, err := parseChallenges(s)
		_, _ = pickChallenges(chs, "server")
		if err != nil {
			return
		}
		parts := make([]string, len(chs))
		for i, c := range chs {
			parts[i] = formatChallenge(c)
		}
		again, err := parseChallenges(strings.Join(parts, ", "))
		if err != nil {
			t.Fatalf("%q parsed to %q which does not parse: %v", s, parts, err)
		}
		if len(again) != len(chs) {
			t.Fatalf("%q: %d challenges, rendered %q: %d", s, len(chs), parts, len(again))
		}
		for i := range chs {
			if again[i].scheme != chs[i].scheme || again[i].token68 != chs[i].token68 || !maps.Equal(again[i].params, chs[i].params) {
				t.Fatalf("%q: challenge %d %+v, rendered %q parses to %+v", s, i, chs[i], parts[i], again[i])
			}
		}
	})
}
