package provision

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/icholy/digest"
	"github.com/pin/tftp/v3"
)

// ErrNotFound means the server answered that the file does not exist;
// the next candidate is tried.
var ErrNotFound = errors.New("file not found")

// MaxFile bounds a fetched file, in bytes.
const MaxFile = 1 << 20

// Fetcher gets files over tftp://, http:// and https://.
type Fetcher struct {
	// Roots are the CAs trusted for https://; nil means the system's.
	Roots *x509.CertPool
	// Timeout bounds one fetch; 0 means 15 s.
	Timeout time.Duration
	// UserAgent is sent to HTTP servers (PBXs identify devices by it).
	UserAgent string
	// StreamTimeout bounds one Open transfer; 0 means DefaultStreamTimeout.
	StreamTimeout time.Duration
}

// Fetch gets the file at u. Credentials in u (user:password@) answer an
// HTTP digest or basic challenge; they are never sent unasked.
func (f *Fetcher) Fetch(ctx context.Context, u *url.URL) ([]byte, error) {
	timeout := f.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch u.Scheme {
	case "tftp":
		return f.tftp(ctx, u, timeout)
	case "http", "https":
		return f.http(ctx, u)
	}
	return nil, fmt.Errorf("scheme %s not supported", u.Scheme)
}

func (f *Fetcher) http(ctx context.Context, u *url.URL) ([]byte, error) {
	res, err := f.httpGet(ctx, u)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	return readLimited(res.Body)
}

// httpGet sends the GET (answering an auth challenge with the URL's
// credentials) and returns a 200 response; other answers are errors.
func (f *Fetcher) httpGet(ctx context.Context, u *url.URL) (*http.Response, error) {
	plain := *u
	plain.User = nil
	base := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: f.Roots, MinVersion: tls.VersionTLS12},
		Proxy:               nil,
		TLSHandshakeTimeout: 10 * time.Second,
		DisableKeepAlives:   true,
	}
	var rt http.RoundTripper = base
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		rt = &digest.Transport{Username: user, Password: pass, Transport: base}
	}
	get := func(basic bool) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, plain.String(), nil)
		if err != nil {
			return nil, err
		}
		if f.UserAgent != "" {
			req.Header.Set("User-Agent", f.UserAgent)
		}
		if basic {
			req.SetBasicAuth(user, pass)
			return (&http.Client{Transport: base}).Do(req)
		}
		return (&http.Client{Transport: rt}).Do(req)
	}
	res, err := get(false)
	if err != nil {
		return nil, describeNetErr(err)
	}
	if res.StatusCode == http.StatusUnauthorized && user != "" &&
		strings.HasPrefix(strings.ToLower(res.Header.Get("WWW-Authenticate")), "basic") {
		res.Body.Close()
		if res, err = get(true); err != nil {
			return nil, describeNetErr(err)
		}
	}
	if res.StatusCode == http.StatusOK {
		return res, nil
	}
	res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound:
		return nil, ErrNotFound
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		if user == "" {
			return nil, fmt.Errorf("server says %s: put user:password@ in the URL", res.Status)
		}
		return nil, fmt.Errorf("server refused the credentials: %s", res.Status)
	}
	return nil, fmt.Errorf("server says %s", res.Status)
}

// describeNetErr turns TLS and network errors into reasons people can act on.
func describeNetErr(err error) error {
	var cerr *tls.CertificateVerificationError
	var herr x509.HostnameError
	var uerr x509.UnknownAuthorityError
	switch {
	case errors.As(err, &herr):
		return fmt.Errorf("certificate mismatch: %w", err)
	case errors.As(err, &uerr), errors.As(err, &cerr):
		return fmt.Errorf("certificate not trusted: %w", err)
	}
	return fmt.Errorf("unreachable: %w", err)
}

func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("transfer broke off: %w", err)
	}
	if len(b) > MaxFile {
		return nil, fmt.Errorf("file larger than %d bytes", MaxFile)
	}
	return b, nil
}

func (f *Fetcher) tftp(ctx context.Context, u *url.URL, timeout time.Duration) ([]byte, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "69")
	}
	c, err := tftp.NewClient(host)
	if err != nil {
		return nil, fmt.Errorf("tftp %s: %w", host, err)
	}
	c.SetTimeout(min(timeout/3, 2*time.Second))
	c.SetRetries(3)
	name := strings.TrimPrefix(u.Path, "/")
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		wt, err := c.Receive(name, "octet")
		if err != nil {
			done <- result{nil, err}
			return
		}
		var buf bytes.Buffer
		_, err = wt.WriteTo(&limitWriter{w: &buf, n: MaxFile + 1})
		done <- result{buf.Bytes(), err}
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("tftp %s: unreachable: %w", host, ctx.Err())
	case r := <-done:
		if r.err != nil {
			msg := strings.ToLower(r.err.Error())
			if strings.Contains(msg, "not found") || strings.Contains(msg, "code: 1") {
				return nil, ErrNotFound
			}
			if strings.Contains(msg, "timeout") || strings.Contains(msg, "refused") {
				return nil, fmt.Errorf("tftp %s: unreachable: %w", host, r.err)
			}
			return nil, fmt.Errorf("tftp %s: %w", host, r.err)
		}
		if len(r.b) > MaxFile {
			return nil, fmt.Errorf("file larger than %d bytes", MaxFile)
		}
		return r.b, nil
	}
}

// limitWriter fails once more than n bytes were written.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, fmt.Errorf("file larger than %d bytes", MaxFile)
	}
	l.n -= len(p)
	return l.w.Write(p)
}
