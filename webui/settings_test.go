package webui

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
)

// fullConfig has every element of the document.
func fullConfig() *config.Config {
	c := config.Default(2)
	c.Accounts[0].Registrar, c.Accounts[0].Password = "sip:127.0.0.1:5070", "secret1"
	c.SIP = &config.SIP{UserAgent: "test"}
	c.Provisioning = &config.Provisioning{URL: "http://127.0.0.1/prov/", Interval: 3600}
	c.Firmware = &config.Firmware{URL: "http://127.0.0.1/fw.img"}
	return c
}

func newSettingsServer(t *testing.T, c *config.Config) (*Server, *fakeConfig) {
	t.Helper()
	fc := &fakeConfig{cur: c}
	return New(Options{Status: fakeStatus, Config: fc, Logger: slog.New(slog.DiscardHandler), DataDir: ""}), fc
}

func postForm(t *testing.T, s http.Handler, path string, v url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return send(t, s, req{method: "POST", path: path, body: v.Encode(), ctype: "application/x-www-form-urlencoded"})
}

var (
	formRE   = regexp.MustCompile(`(?s)<form [^>]*data-element="([a-z-]+)"[^>]*>(.*?)</form>`)
	selectRE = regexp.MustCompile(`(?s)<select [^>]*name="([a-z-]+)"[^>]*>(.*?)</select>`)
	optionRE = regexp.MustCompile(`<option(?: value="([^"]*)")?(?: selected)?>([^<]*)</option>`)
)

// TestSettingsCoverSchema: every setting of config.Schema has a control
// in a form of its element on the settings pages, and every select offers
// exactly the schema's values (and the empty default when optional).
func TestSettingsCoverSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *config.Config
	}{
		{"every element present", fullConfig()},
		{"single elements absent", config.Default(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSettingsServer(t, tc.cfg)
			controls := map[string]bool{}    // element/name
			selects := map[string][]string{} // element/name -> option values, last seen
			for _, page := range []string{"/accounts", "/ports", "/settings"} {
				w := send(t, s, req{method: "GET", path: page})
				if w.Code != 200 {
					t.Fatalf("GET %s = %d", page, w.Code)
				}
				for _, m := range formRE.FindAllStringSubmatch(w.Body.String(), -1) {
					elem, body := m[1], m[2]
					for _, n := range regexp.MustCompile(`name="([a-z-]+)"`).FindAllStringSubmatch(body, -1) {
						controls[elem+"/"+n[1]] = true
					}
					for _, sm := range selectRE.FindAllStringSubmatch(body, -1) {
						var vals []string
						for _, o := range optionRE.FindAllStringSubmatch(sm[2], -1) {
							v := o[2]
							if strings.Contains(o[0], `value="`) {
								v = o[1]
							}
							vals = append(vals, v)
						}
						selects[elem+"/"+sm[1]] = vals
					}
				}
			}
			for _, f := range config.Schema() {
				key := f.Element + "/" + f.Name
				if !controls[key] {
					t.Errorf("%s: no control on the settings pages", f.Path)
				}
				if f.Kind != config.KindEnum && f.Kind != config.KindBool {
					if _, ok := selects[key]; ok {
						t.Errorf("%s: a select for a %s setting", f.Path, f.Kind)
					}
					continue
				}
				want := slices.Clone(f.Values)
				if f.Optional {
					want = append([]string{""}, want...)
				}
				if got := selects[key]; !slices.Equal(got, want) {
					t.Errorf("%s: options %q, want %q", f.Path, got, want)
				}
			}
		})
	}
}

// TestSettingsInlineProblem: a refused value is shown next to its field
// with the words config validation uses, the form keeps it, and the
// configuration in force does not change.
func TestSettingsInlineProblem(t *testing.T) {
	for _, tc := range []struct {
		name, path, field, value string
		form                     url.Values
		edit                     func(*config.Config)
	}{
		{"expires out of range", "/settings/account", "expires", "5",
			url.Values{"orig": {"1"}, "expires": {"5"}}, func(c *config.Config) { c.Accounts[0].Expires = 5 }},
		{"bad registrar on the old route", "/accounts", "registrar", "pbx.example",
			url.Values{"orig": {"1"}, "registrar": {"pbx.example"}}, func(c *config.Config) { c.Accounts[0].Registrar = "pbx.example" }},
		{"wrong transport", "/settings/account", "transport", "sctp",
			url.Values{"orig": {"1"}, "transport": {"sctp"}}, func(c *config.Config) { c.Accounts[0].Transport = "sctp" }},
		{"bad echo tail", "/settings/port", "echo-tail", "3",
			url.Values{"orig": {"1"}, "echo-tail": {"3"}}, func(c *config.Config) { c.Ports[0].EchoTail = 3 }},
		{"bad provisioning url", "/settings/provisioning", "url", "ftp://x/",
			url.Values{"url": {"ftp://x/"}}, func(c *config.Config) { c.Provisioning.URL = "ftp://x/" }},
		{"not a number", "/settings/sip", "", "",
			url.Values{"direct-calls": {"maybe"}}, func(c *config.Config) { c.SIP.DirectCalls = "maybe" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, fc := newSettingsServer(t, fullConfig())
			before, _ := fc.Current().Marshal()
			// The message `loopstart config check` gives for the same value.
			want := fullConfig()
			tc.edit(want)
			verr := want.Validate()
			var ve *config.ValidationError
			if !errors.As(verr, &ve) {
				t.Fatalf("the case is valid: %v", verr)
			}
			w := postForm(t, s, tc.path, tc.form)
			loc := w.Header().Get("Location")
			if w.Code != http.StatusSeeOther || !strings.Contains(loc, "try=") || !strings.Contains(loc, "err=") {
				t.Fatalf("POST = %d %q", w.Code, loc)
			}
			if after, _ := fc.Current().Marshal(); !bytes.Equal(before, after) || fc.applied != 0 {
				t.Fatalf("the configuration changed:\n%s", after)
			}
			page := send(t, s, req{method: "GET", path: loc}).Body.String()
			msg := ve.Problems[0].Msg
			if !strings.Contains(page, `role="alert" data-for="`+ve.Problems[0].Path[strings.LastIndex(ve.Problems[0].Path, "/")+1:]+`">`+htmlEscape(msg)+`</p>`) {
				t.Errorf("page lacks the inline problem %q:\n%s", ve.Problems[0], excerpt(page, "field-error"))
			}
			if tc.value != "" && !strings.Contains(page, `name="`+tc.field+`" value="`+tc.value+`"`) &&
				!strings.Contains(page, `<option selected>`+tc.value+`</option>`) {
				t.Errorf("the form does not keep the refused value %q", tc.value)
			}
		})
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func excerpt(page, near string) string {
	i := strings.Index(page, near)
	if i < 0 {
		return "(no " + near + ")"
	}
	return page[max(0, i-200):min(len(page), i+400)]
}

// TestSettingsEdits: the forms save, add, delete and remove elements.
func TestSettingsEdits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  string
		form  url.Values
		check func(*config.Config) bool
	}{
		{"select transport and srtp", "/settings/account", url.Values{"orig": {"1"}, "transport": {"tcp"}, "srtp": {"optional"}},
			func(c *config.Config) bool {
				return c.Accounts[0].Transport == "tcp" && c.Accounts[0].SRTP == "optional"
			}},
		{"password kept when empty", "/settings/account", url.Values{"orig": {"1"}, "password": {""}, "display-name": {"Hall"}},
			func(c *config.Config) bool {
				return c.Accounts[0].Password == "secret1" && c.Accounts[0].DisplayName == "Hall"
			}},
		{"rename follows port", "/settings/account", url.Values{"orig": {"2"}, "id": {"two"}},
			func(c *config.Config) bool { return c.Accounts[1].ID == "two" && c.Ports[1].Account == "two" }},
		{"add account", "/settings/account", url.Values{"action": {"add"}, "id": {"7"}, "user": {"107"}},
			func(c *config.Config) bool { return len(c.Accounts) == 3 && c.Accounts[2].User == "107" }},
		{"old ports form", "/ports", url.Values{"n": {"1"}, "country": {"de"}, "caller-id": {"v23"}},
			func(c *config.Config) bool { return c.Ports[0].Country == "de" && c.Ports[0].CallerID == "v23" }},
		{"sip bool", "/settings/sip", url.Values{"direct-calls": {"true"}},
			func(c *config.Config) bool { return c.SIP.DirectCallsOn() && c.SIP.UserAgent == "test" }},
		{"remove firmware", "/settings/firmware", url.Values{"action": {"remove"}},
			func(c *config.Config) bool { return c.Firmware == nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, fc := newSettingsServer(t, fullConfig())
			w := postForm(t, s, tc.path, tc.form)
			if loc := w.Header().Get("Location"); w.Code != 303 || strings.Contains(loc, "err=") {
				t.Fatalf("POST = %d %s", w.Code, loc)
			}
			if !tc.check(fc.Current()) {
				b, _ := fc.Current().Marshal()
				t.Errorf("not applied:\n%s", b)
			}
		})
	}
	t.Run("create absent sip", func(t *testing.T) {
		s, fc := newSettingsServer(t, config.Default(2))
		postForm(t, s, "/settings/sip", url.Values{"action": {"add"}, "ignore-strangers": {"true"}})
		if !fc.Current().SIP.IgnoreStrangersOn() {
			t.Error("sip not created")
		}
	})
	t.Run("unknown element", func(t *testing.T) {
		s, _ := newSettingsServer(t, config.Default(2))
		if w := postForm(t, s, "/settings/nothing", url.Values{}); !strings.Contains(w.Header().Get("Location"), "err=") {
			t.Errorf("unknown element accepted: %d %s", w.Code, w.Header().Get("Location"))
		}
	})
}

// multipartBody builds a form with one file field.
func multipartBody(t *testing.T, fields map[string]string, file, name string, data []byte) (string, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != "" {
		fw, _ := mw.CreateFormFile(file, name)
		fw.Write(data)
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCAUpload(t *testing.T) {
	ca := testCA(t)
	for _, tc := range []struct {
		name    string
		data    []byte
		dataDir bool
		wantErr string
	}{
		{"certificate", ca, true, ""},
		{"not PEM", []byte("hello"), true, "not PEM"},
		{"a key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), true, "holds a PRIVATE KEY"},
		{"no data directory", ca, false, "no data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConfig{cur: fullConfig()}
			opts := Options{Status: fakeStatus, Config: fc, Logger: slog.New(slog.DiscardHandler)}
			if tc.dataDir {
				opts.DataDir = t.TempDir()
			}
			s := New(opts)
			cookie := (*http.Cookie)(nil)
			fields := map[string]string{"orig": "1", "transport": "tls", "registrar": "sip:127.0.0.1:5071"}
			if tc.dataDir {
				lr, ck := login(t, s, "")
				cookie, fields["csrf_token"] = ck, lr.CSRFToken
			}
			body, ct := multipartBody(t, fields, "ca-upload", "ca.pem", tc.data)
			w := send(t, s, req{method: "POST", path: "/settings/account", body: body, ctype: ct, cookie: cookie})
			loc := w.Header().Get("Location")
			a := fc.Current().Accounts[0]
			if tc.wantErr != "" {
				if !strings.Contains(loc, "err=") || a.CAFile != "" {
					t.Fatalf("accepted: %d %s, ca-file %q", w.Code, loc, a.CAFile)
				}
				page := send(t, s, req{method: "GET", path: loc, cookie: cookie}).Body.String()
				if !strings.Contains(excerpt(page, `data-for="ca-file"`), tc.wantErr) {
					t.Errorf("no inline %q:\n%s", tc.wantErr, excerpt(page, "field-error"))
				}
				return
			}
			if w.Code != 303 || strings.Contains(loc, "err=") || a.Transport != "tls" {
				t.Fatalf("POST = %d %s %s, account %+v", w.Code, loc, w.Body.String(), a)
			}
			if b, err := os.ReadFile(a.CAFile); err != nil || !bytes.Equal(b, ca) {
				t.Errorf("ca-file %q: %v", a.CAFile, err)
			}
		})
	}
}

func TestBackupRestore(t *testing.T) {
	s, fc := newSettingsServer(t, fullConfig())
	orig, _ := fc.Current().Marshal()
	full := send(t, s, req{method: "GET", path: "/api/config/backup"})
	bare := send(t, s, req{method: "GET", path: "/api/config/backup?secrets=0"})
	if !strings.Contains(full.Body.String(), "secret1") || strings.Contains(bare.Body.String(), "secret1") {
		t.Fatalf("secrets: full %v bare %v", strings.Contains(full.Body.String(), "secret1"), strings.Contains(bare.Body.String(), "secret1"))
	}
	if cd := bare.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q", cd)
	}
	// Something else in force, then each backup restored.
	for _, tc := range []struct {
		name string
		file []byte
	}{{"with secrets", full.Body.Bytes()}, {"without secrets", bare.Body.Bytes()}} {
		t.Run(tc.name, func(t *testing.T) {
			postForm(t, s, "/settings/account", url.Values{"orig": {"1"}, "display-name": {"changed"}})
			body, ct := multipartBody(t, nil, "config", "backup.xml", tc.file)
			w := send(t, s, req{method: "POST", path: "/maintenance/restore", body: body, ctype: ct})
			if loc := w.Header().Get("Location"); w.Code != 303 || strings.Contains(loc, "err=") {
				t.Fatalf("restore = %d %s", w.Code, loc)
			}
			if got, _ := fc.Current().Marshal(); !bytes.Equal(got, orig) {
				t.Errorf("restored config differs:\n%s\nwant\n%s", got, orig)
			}
		})
	}
	t.Run("invalid file", func(t *testing.T) {
		bad := strings.Replace(full.Body.String(), "<expires>3600</expires>", "<expires>5</expires>", 1)
		body, ct := multipartBody(t, nil, "config", "bad.xml", []byte(bad))
		w := send(t, s, req{method: "POST", path: "/maintenance/restore", body: body, ctype: ct})
		loc, _ := url.QueryUnescape(w.Header().Get("Location"))
		if !strings.Contains(loc, "account[id=1]/expires: 5 is out of range") {
			t.Errorf("restore of a bad file: %s", loc)
		}
		if got, _ := fc.Current().Marshal(); !bytes.Equal(got, orig) {
			t.Error("a bad file changed the configuration")
		}
		w = send(t, s, req{method: "POST", path: "/maintenance/restore", body: bad, ctype: "application/xml"})
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"problems"`) {
			t.Errorf("API restore of a bad file = %d %s", w.Code, w.Body.String())
		}
	})
}

func TestPowerNeedsConfirmation(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       bool
	}{
		{"reboot unconfirmed", "/maintenance/reboot", url.Values{}, false},
		{"reboot", "/maintenance/reboot", url.Values{"confirm": {"yes"}}, true},
		{"reset without the word", "/maintenance/factory-reset", url.Values{"confirm": {"yes"}, "confirm_text": {"reset"}}, false},
		{"reset without the box", "/maintenance/factory-reset", url.Values{"confirm_text": {"RESET"}}, false},
		{"reset", "/maintenance/factory-reset", url.Values{"confirm": {"yes"}, "confirm_text": {"RESET"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := make(chan string, 2)
			s := New(Options{Status: fakeStatus, Logger: slog.New(slog.DiscardHandler),
				Reboot:       func() error { called <- "reboot"; return nil },
				FactoryReset: func() error { called <- "reset"; return nil }})
			w := postForm(t, s, tc.path, tc.form)
			if !tc.want {
				if !strings.Contains(w.Header().Get("Location"), "err=") {
					t.Errorf("unconfirmed: %d %s", w.Code, w.Header().Get("Location"))
				}
				select {
				case c := <-called:
					t.Errorf("%s ran unconfirmed", c)
				case <-time.After(2 * restartDelay):
				}
				return
			}
			if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `id="restarting"`) {
				t.Errorf("confirmed: %d", w.Code)
			}
			select {
			case <-called:
			case <-time.After(5 * time.Second):
				t.Error("not run")
			}
		})
	}
	s := New(Options{Status: fakeStatus})
	if w := postForm(t, s, "/maintenance/reboot", url.Values{"confirm": {"yes"}}); w.Code != 404 {
		t.Errorf("reboot without a hook = %d", w.Code)
	}
}

func TestStatusStream(t *testing.T) {
	s := New(Options{Status: fakeStatus, Sim: newFakeSim(), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rq, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/status/stream", nil)
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	events := 0
	for events < 2 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", events, err)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			events++
			for _, want := range []string{`"status":{"version":"test-1"`, `"device":{"model":"sim"`, `"provisioning":{`, `"sim":[{"port":1`} {
				if !strings.Contains(d, want) {
					t.Errorf("event lacks %s: %s", want, d)
				}
			}
		}
	}
}

func TestTestCall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		result  string
		err     error
		wantLoc string
	}{
		{"rings", "port 1 rings: 180 Ringing", nil, "msg=port+1+rings"},
		{"fails", "", errors.New("test call to port 1 failed: 404 Not Found"), "err=test+call+to+port+1+failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got int
			s := New(Options{Status: fakeStatus, Logger: slog.New(slog.DiscardHandler), Config: &fakeConfig{cur: config.Default(2)},
				TestCall: func(ctx context.Context, n int) (string, error) { got = n; return tc.result, tc.err }})
			w := postForm(t, s, "/start/test-call", url.Values{"n": {"1"}})
			if loc := w.Header().Get("Location"); got != 1 || !strings.Contains(loc, tc.wantLoc) || !strings.HasSuffix(loc, "#step-test") {
				t.Errorf("port %d, Location %s", got, loc)
			}
		})
	}
}

// TestFirstRunPage: the guided path's forms post to the settings forms and
// go on to the next step; a refused account comes back to its step.
func TestFirstRunPage(t *testing.T) {
	s, fc := newSettingsServer(t, config.Default(2))
	page := send(t, s, req{method: "GET", path: "/start"}).Body.String()
	for _, want := range []string{`action="/settings/account?wizard=port"`, `action="/settings/port?wizard=test"`,
		`name="registrar"`, `name="transport"`, `name="srtp"`, `href="#step-port"`, `href="#step-test"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	w := postForm(t, s, "/settings/account?wizard=port", url.Values{"orig": {"1"}, "registrar": {"sip:127.0.0.1:5070"}, "user": {"1001"}, "password": {"pw"}})
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "/start?msg=") || !strings.HasSuffix(loc, "#step-port") {
		t.Errorf("account step: %s", loc)
	}
	if a := fc.Current().Accounts[0]; a.Registrar != "sip:127.0.0.1:5070" || a.User != "1001" {
		t.Errorf("account %+v", a)
	}
	w = postForm(t, s, "/settings/account?wizard=port", url.Values{"orig": {"1"}, "registrar": {"pbx"}})
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, "/start?err=") || !strings.HasSuffix(loc, "#step-account") {
		t.Fatalf("refused account step: %s", loc)
	}
	loc, _, _ = strings.Cut(loc, "#") // a browser keeps the fragment to itself
	if page := send(t, s, req{method: "GET", path: loc}).Body.String(); !strings.Contains(page, `data-for="registrar"`) {
		t.Errorf("the first-run page does not show the problem inline: %s", excerpt(page, "field-error")+excerpt(page, "class=\"error\""))
	}
}

// TestPageWeight: the status page with its script and stylesheet stays
// under 60 KB.
func TestPageWeight(t *testing.T) {
	s := New(Options{Status: fakeStatus, Sim: newFakeSim(), Logger: slog.New(slog.DiscardHandler)})
	total := 0
	for _, p := range []string{"/", "/static/app.js", "/static/style.css"} {
		w := send(t, s, req{method: "GET", path: p})
		if w.Code != 200 {
			t.Fatalf("GET %s = %d", p, w.Code)
		}
		b, _ := io.ReadAll(w.Body)
		total += len(b)
	}
	t.Logf("status page: %d bytes with its script and stylesheet", total)
	if total > 60<<10 {
		t.Errorf("status page weighs %d bytes, more than 60 KB", total)
	}
}

func TestSchemaAPI(t *testing.T) {
	s, _ := newSettingsServer(t, config.Default(2))
	w := send(t, s, req{method: "GET", path: "/api/config/schema"})
	var got []config.Field
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("GET /api/config/schema = %d %v", w.Code, err)
	}
	if want := config.Schema(); len(got) != len(want) || got[0].Path != want[0].Path {
		t.Errorf("schema: %d settings, want %d", len(got), len(want))
	}
}

// FuzzCheckCAPEM: an uploaded CA file never panics the check, and one it
// accepts holds certificates that parse.
func FuzzCheckCAPEM(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("hello"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkCAPEM(b) != "" {
			return
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			t.Fatalf("accepted %q, which holds no certificate", b)
		}
	})
}
