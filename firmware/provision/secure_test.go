package provision

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBasicNeverOverHTTP: a plain HTTP server asking for Basic gets no
// password; digest over HTTP still works.
func TestBasicNeverOverHTTP(t *testing.T) {
	var sawPassword atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			sawPassword.Store(true)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="prov"`)
		w.WriteHeader(401)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(strings.Replace(srv.URL, "http://", "http://ata:s3cret@", 1) + "/loopstart.xml")
	_, err := (&Fetcher{}).Fetch(context.Background(), u)
	if err == nil || !strings.Contains(err.Error(), "Basic authentication over plain HTTP") || sawPassword.Load() {
		t.Errorf("err %v, password sent %v", err, sawPassword.Load())
	}
}

// TestRedirectNoDowngrade: an https server redirecting to http is not
// followed; https to https is.
func TestRedirectNoDowngrade(t *testing.T) {
	var plainHit atomic.Bool
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHit.Store(true)
		w.Write([]byte("<loopstart/>"))
	}))
	t.Cleanup(plain.Close)
	var secure *httptest.Server
	secure = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			http.Redirect(w, r, plain.URL+"/x", http.StatusFound)
		case "/same":
			http.Redirect(w, r, secure.URL+"/file", http.StatusFound)
		case "/file":
			w.Write([]byte("<loopstart/>"))
		}
	}))
	t.Cleanup(secure.Close)
	f := &Fetcher{Roots: roots(secure)}
	u, _ := url.Parse(secure.URL + "/down")
	if _, err := f.Fetch(context.Background(), u); err == nil || !strings.Contains(err.Error(), "redirect from https to http refused") || plainHit.Load() {
		t.Errorf("downgrade: err %v, plain server hit %v", err, plainHit.Load())
	}
	u, _ = url.Parse(secure.URL + "/same")
	if b, err := f.Fetch(context.Background(), u); err != nil || string(b) != "<loopstart/>" {
		t.Errorf("https redirect: %v %q", err, b)
	}
}
