package provision

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestFetchAndOpen: Fetch and Open are one transfer path; Fetch reads it
// whole up to MaxFile within Timeout, Open streams it unbounded within
// StreamTimeout, with the same User-Agent and certificate checks.
func TestFetchAndOpen(t *testing.T) {
	exact := strings.Repeat("x", MaxFile)
	big := exact + "y"
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var agents []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents = append(agents, r.UserAgent())
		switch r.URL.Path {
		case "/exact":
			io.WriteString(w, exact)
		case "/big":
			io.WriteString(w, big)
		case "/stall": // headers, then nothing
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f := &Fetcher{Roots: roots(srv), UserAgent: "Loopstart/test", Timeout: 5 * time.Second, StreamTimeout: 5 * time.Second}
	quick := &Fetcher{Roots: roots(srv), UserAgent: "Loopstart/test", Timeout: 300 * time.Millisecond, StreamTimeout: 300 * time.Millisecond}
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	readOpen := func(ctx context.Context, f *Fetcher, v *url.URL) ([]byte, error) {
		rc, err := f.Open(ctx, v)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		url       string
		fetcher   *Fetcher
		fetchLen  int
		fetchErr  string
		openLen   int
		openErr   string
		notFound  bool
		maxSecond time.Duration
	}{
		{name: "exactly MaxFile", url: srv.URL + "/exact", fetchLen: MaxFile, openLen: MaxFile},
		{name: "one byte more: Fetch refuses, Open streams", url: srv.URL + "/big", fetchErr: "file larger than 1048576 bytes", openLen: MaxFile + 1},
		{name: "not found", url: srv.URL + "/none", notFound: true},
		{name: "stalled transfer ends at the timeouts", url: srv.URL + "/stall", fetcher: quick, fetchErr: "transfer broke off", openErr: "deadline"},
		{name: "untrusted certificate", url: srv.URL + "/exact", fetcher: &Fetcher{Timeout: time.Second},
			fetchErr: "certificate not trusted", openErr: "certificate not trusted"},
		{name: "unsupported scheme", url: "ftp://127.0.0.1/x", fetchErr: "scheme ftp not supported", openErr: "scheme ftp not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ff := f
			if c.fetcher != nil {
				ff = c.fetcher
			}
			start := time.Now()
			b, err := ff.Fetch(ctx, u(c.url))
			check := func(what string, b []byte, err error, wantLen int, wantErr string) {
				t.Helper()
				switch {
				case c.notFound:
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("%s: %v, want ErrNotFound", what, err)
					}
				case wantErr != "":
					if err == nil || !strings.Contains(err.Error(), wantErr) {
						t.Errorf("%s: %d bytes, %v; want %q", what, len(b), err, wantErr)
					}
				case err != nil || len(b) != wantLen:
					t.Errorf("%s: %d bytes, %v; want %d", what, len(b), err, wantLen)
				}
			}
			check("Fetch", b, err, c.fetchLen, c.fetchErr)
			b, err = readOpen(ctx, ff, u(c.url))
			check("Open", b, err, c.openLen, c.openErr)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
	for _, a := range agents {
		if a != "Loopstart/test" && a != "Go-http-client/1.1" {
			t.Errorf("User-Agent %q", a)
		}
	}
}

// TestOpenCloseEarly: closing the stream ends the transfer at once.
func TestOpenCloseEarly(t *testing.T) {
	ended := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		chunk := strings.Repeat("z", 64<<10)
		for {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/endless")
	rc, err := (&Fetcher{}).Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the server still sends after Close")
	}
}

// TestFirmwareURLParsing: the firmware URL goes through the same parsing
// and macros as the provisioning URL.
func TestFirmwareURLParsing(t *testing.T) {
	st := &store{cur: baseConfig(t)}
	p := newProv(t, st, "https://127.0.0.1:1/", nil)
	for _, c := range []struct{ raw, want string }{
		{"ftp://fw.example/x.img", "bad firmware url"},
		{"https://", "bad firmware url"},
		{"https://fw.example/$MAC.img", "firmware upgrades are not available here"},
	} {
		if got := p.firmware(context.Background(), c.raw); !strings.Contains(got, c.want) {
			t.Errorf("firmware(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
	if s := p.Status(); s.FirmwareURL != "https://fw.example/000b82abcdef.img" {
		t.Errorf("firmware url %q", s.FirmwareURL)
	}
}
