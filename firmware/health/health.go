// Package health is the gateway's local liveness endpoint: a unix socket
// that answers, without any login and without a TCP port, one JSON line
// with the media loop's tick counter. `loopstart run --health-socket PATH`
// serves it (Serve); `loopstart boot` reads it (Read) to decide whether to
// pet the hardware watchdog. It imports the standard library only.
//
// The protocol is one line per connection: the client connects, the server
// writes a Report as JSON followed by a newline and closes. Anything that
// can open the socket (mode 0600, so root) can read it, e.g.
// `socat - UNIX-CONNECT:PATH`.
package health

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Report is what the gateway tells about itself.
type Report struct {
	// Ticks counts the media loop's iterations since the gateway started;
	// a counter that stops moving means a stalled loop.
	Ticks uint64 `json:"ticks"`
	// Started identifies the gateway process's start (Unix nanoseconds):
	// a firmware upgrade re-executes the gateway under the same PID, and
	// the supervisor tells the new process by this value, whose tick
	// counter starts again from 0.
	Started int64 `json:"started,omitempty"`
}

// MaxLine bounds a report line, in bytes.
const MaxLine = 4096

// DefaultTimeout bounds Read when its context has no deadline, and one
// answer of Serve.
const DefaultTimeout = 2 * time.Second

// Serve listens on the unix socket at path (mode 0600; its directory is
// created, a stale socket from an earlier run is removed) and answers each
// connection with report() as one JSON line, until ctx ends; then it
// removes the socket and returns nil. It returns an error at once when it
// cannot listen, or when another server already answers on path.
func Serve(ctx context.Context, path string, report func() Report) error {
	ln, err := listen(path)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer os.Remove(path)
	defer ln.Close()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("health socket: %w", err)
		}
		go answer(conn, report)
	}
}

// listen makes the listening socket Serve uses: the directory is created,
// a stale socket at path removed, the new one made mode 0600. A path that
// another server answers on, or that is not a socket, is an error.
func listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("health socket: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("health socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("health socket: %w", err)
	}
	return ln, nil
}

// removeStale removes a socket left at path by a process that is gone.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("health socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("health socket: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("health socket: %s: another gateway answers there", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("health socket: %w", err)
	}
	return nil
}

func answer(conn net.Conn, report func() Report) {
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(DefaultTimeout))
	b, err := json.Marshal(report())
	if err != nil {
		return
	}
	_, _ = conn.Write(append(b, '\n'))
}

// Read connects to the socket at path and returns the report it answers.
// It gives up when ctx ends, or after DefaultTimeout when ctx has no
// deadline.
func Read(ctx context.Context, path string) (Report, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Report{}, fmt.Errorf("health: %w", err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	line, err := bufio.NewReaderSize(io.LimitReader(conn, MaxLine), MaxLine).ReadSlice('\n')
	if err != nil {
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case errors.Is(err, os.ErrDeadlineExceeded): // the socket's deadline, which is ctx's
			err = context.DeadlineExceeded
		}
		return Report{}, fmt.Errorf("health: %s: %w", path, err)
	}
	r, err := Parse(line)
	if err != nil {
		return Report{}, fmt.Errorf("health: %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes one report line.
func Parse(line []byte) (Report, error) {
	var r struct {
		Ticks   *uint64 `json:"ticks"`
		Started int64   `json:"started"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return Report{}, fmt.Errorf("bad report: %w", err)
	}
	if r.Ticks == nil {
		return Report{}, errors.New("report has no loop counter")
	}
	return Report{Ticks: *r.Ticks, Started: r.Started}, nil
}
