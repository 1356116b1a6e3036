package provision

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/pin/tftp/v3"
)

// DefaultStreamTimeout bounds a whole Open transfer (a firmware image)
// when Fetcher.StreamTimeout is 0.
const DefaultStreamTimeout = 10 * time.Minute

// Open streams the file at u (tftp, http, https, as Fetch) without a
// size limit of its own: the reader's consumer bounds it. Closing the
// reader early ends the transfer. The whole transfer is bounded by
// StreamTimeout.
func (f *Fetcher) Open(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	timeout := f.StreamTimeout
	if timeout == 0 {
		timeout = DefaultStreamTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	switch u.Scheme {
	case "http", "https":
		res, err := f.httpGet(ctx, u)
		if err != nil {
			cancel()
			return nil, err
		}
		return &cancelCloser{ReadCloser: res.Body, cancel: cancel}, nil
	case "tftp":
		rc, err := f.tftpOpen(ctx, u)
		if err != nil {
			cancel()
			return nil, err
		}
		return &cancelCloser{ReadCloser: rc, cancel: cancel}, nil
	}
	cancel()
	return nil, fmt.Errorf("scheme %s not supported", u.Scheme)
}

type cancelCloser struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelCloser) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// tftpOpen starts a TFTP read and returns its data as a stream.
func (f *Fetcher) tftpOpen(ctx context.Context, u *url.URL) (io.ReadCloser, error) {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "69")
	}
	c, err := tftp.NewClient(host)
	if err != nil {
		return nil, fmt.Errorf("tftp %s: %w", host, err)
	}
	c.SetTimeout(2 * time.Second)
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
		if strings.Contains(msg, "not found") || strings.Contains(msg, "code: 1") {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("tftp %s: %w", host, r.err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := r.wt.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	go func() {
		<-ctx.Done()
		pr.CloseWithError(fmt.Errorf("tftp %s: %w", host, ctx.Err()))
	}()
	return pr, nil
}
