package provision

import (
	"cmp"
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

// MaxFile bounds a fetched file (Fetch), in bytes.
const MaxFile = 1 << 20

// DefaultTimeout bounds one Fetch when Fetcher.Timeout is 0.
const DefaultTimeout = 15 * time.Second

// DefaultStreamTimeout bounds a whole Open transfer (a firmware image)
// when Fetcher.StreamTimeout is 0.
const DefaultStreamTimeout = 10 * time.Minute

// Fetcher gets files over tftp://, http:// and https://. Both of its
// ways in, Fetch (a configuration file, whole and bounded by MaxFile) and
// Open (a firmware image, streamed), go through one transfer path: the
// same credentials, certificate checks, User-Agent and TFTP settings.
type Fetcher struct {
	// Roots are the CAs trusted for https://; nil means the system's.
	Roots *x509.CertPool
	// Timeout bounds one Fetch; 0 means DefaultTimeout.
	Timeout time.Duration
	// UserAgent is sent to HTTP servers (PBXs identify devices by it).
	UserAgent string
	// StreamTimeout bounds one Open transfer; 0 means DefaultStreamTimeout.
	StreamTimeout time.Duration
}

// Fetch gets the file at u whole: the Open stream read up to MaxFile
// bytes within Timeout. Credentials in u (user:password@) answer an HTTP
// digest or basic challenge; they are never sent unasked.
func (f *Fetcher) Fetch(ctx context.Context, u *url.URL) ([]byte, error) {
	rc, err := f.open(ctx, u, cmp.Or(f.Timeout, DefaultTimeout))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readLimited(rc, MaxFile)
}

// Open streams the file at u (tftp, http, https, as Fetch) without a
// size limit of its own: the reader's consumer bounds it. Closing the
// reader early ends the transfer. The whole transfer is bounded by
// StreamTimeout.
func (f *Fetcher) Open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	return f.open(ctx, u, cmp.Or(f.StreamTimeout, DefaultStreamTimeout))
}

// open is the one transfer path: it starts the transfer of u and returns
// its data as a stream that ends, at the latest, timeout from now.
// Closing the stream ends the transfer.
func (f *Fetcher) open(ctx context.Context, u *url.URL, timeout time.Duration) (io.ReadCloser, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	var rc io.ReadCloser
	var err error
	switch u.Scheme {
	case "http", "https":
		var res *http.Response
		if res, err = f.httpGet(ctx, u); err == nil {
			rc = res.Body
		}
	case "tftp":
		rc, err = f.tftpOpen(ctx, u, timeout)
	default:
		err = fmt.Errorf("scheme %s not supported", u.Scheme)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelCloser{ReadCloser: rc, ctx: ctx, cancel: cancel}, nil
}

// cancelCloser ends the transfer's context when the stream is closed, and
// never reports the end of a transfer that its context cut short as a
// complete file.
type cancelCloser struct {
	io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *cancelCloser) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if err == io.EOF && c.ctx.Err() != nil {
		err = fmt.Errorf("transfer cut short: %w", c.ctx.Err())
	}
	return n, err
}

func (c *cancelCloser) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
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
			return (&http.Client{Transport: base, CheckRedirect: noDowngrade}).Do(req)
		}
		return (&http.Client{Transport: rt, CheckRedirect: noDowngrade}).Do(req)
	}
	res, err := get(false)
	if err != nil {
		return nil, describeNetErr(err)
	}
	if res.StatusCode == http.StatusUnauthorized && user != "" &&
		strings.HasPrefix(strings.ToLower(res.Header.Get("WWW-Authenticate")), "basic") {
		res.Body.Close()
		if u.Scheme != "https" {
			return nil, errors.New("server asks for Basic authentication over plain HTTP: refused, the password would travel in the clear (use https, or digest)")
		}
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

// noDowngrade follows at most 10 redirects and never one from https to
// plain http.
func noDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("more than 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect from https to %s refused", req.URL.Scheme)
	}
	return nil
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

// readLimited reads r whole, failing when it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("transfer broke off: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("file larger than %d bytes", limit)
	}
	return b, nil
}

// tftpOpen starts a TFTP read and returns its data as a stream; the
// transfer ends with ctx. Each packet waits at most timeout/3 (2 s at
// most) for its answer, three times.
func (f *Fetcher) tftpOpen(ctx context.Context, u *url.URL, timeout time.Duration) (io.ReadCloser, error) {
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
	c.SetBlockSize(1428)
	name := strings.TrimPrefix(u.Path, "/")
	type result struct {
		wt  io.WriterTo
		err error
	}
	started := make(chan result, 1)
	go func() {
		wt, err := c.Receive(name, "octet")
		started <- result{wt, err}
	}()
	var r result
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("tftp %s: unreachable: %w", host, ctx.Err())
	case r = <-started:
	}
	if r.err != nil {
		msg := strings.ToLower(r.err.Error())
		switch {
		case strings.Contains(msg, "not found") || strings.Contains(msg, "code: 1"):
			return nil, ErrNotFound
		case strings.Contains(msg, "timeout") || strings.Contains(msg, "refused"):
			return nil, fmt.Errorf("tftp %s: unreachable: %w", host, r.err)
		}
		return nil, fmt.Errorf("tftp %s: %w", host, r.err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := r.wt.WriteTo(pw)
		if err != nil {
			err = fmt.Errorf("tftp %s: %w", host, err)
		}
		pw.CloseWithError(err)
	}()
	go func() {
		<-ctx.Done()
		pr.CloseWithError(fmt.Errorf("tftp %s: %w", host, ctx.Err()))
	}()
	return pr, nil
}
