package health

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve runs Serve on a fresh socket until the test ends and waits for
// it to answer.
func serve(t *testing.T, path string, report func() Report) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, report) }()
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := Read(context.Background(), path); err == nil {
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("Serve: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("Serve does not answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "health.sock") // the directory is created
	var ticks atomic.Uint64
	stop := serve(t, path, func() Report { return Report{Ticks: ticks.Load()} })
	for _, want := range []uint64{0, 1, 1 << 40} {
		ticks.Store(want)
		r, err := Read(context.Background(), path)
		if err != nil || r.Ticks != want {
			t.Errorf("Read = %+v, %v; want ticks %d", r, err, want)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if err := stop(); err != nil {
		t.Errorf("Serve returned %v after its context ended", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	if _, err := Read(context.Background(), path); err == nil {
		t.Error("Read after the server ended: no error")
	}
}

func TestStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "health.sock")
	// A socket left by a process that is gone: bound, nobody listening.
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("no stale socket to test with: %v", err)
	}
	serve(t, path, func() Report { return Report{Ticks: 7} })
	if r, err := Read(context.Background(), path); err != nil || r.Ticks != 7 {
		t.Errorf("Read = %+v, %v", r, err)
	}
}

func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	serve(t, live, func() Report { return Report{Ticks: 1} })
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, path, want string
	}{
		{"another server answers", live, "another gateway"},
		{"not a socket", file, "not a socket"},
		{"directory not creatable", filepath.Join(file, "x.sock"), "health socket"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := Serve(ctx, c.path, func() Report { return Report{} })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Serve = %v, want %q", err, c.want)
			}
		})
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("Serve touched a file that is not a socket")
	}
	if r, err := Read(context.Background(), live); err != nil || r.Ticks != 1 {
		t.Errorf("the live server was disturbed: %+v, %v", r, err)
	}
}

// TestReadFailsQuickly: a server that accepts and never answers, one that
// answers garbage, and no server at all are errors within the deadline.
func TestReadFailsQuickly(t *testing.T) {
	dir := t.TempDir()
	raw := func(name string, handle func(net.Conn)) string {
		path := filepath.Join(dir, name)
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go handle(c)
			}
		}()
		return path
	}
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	slow := raw("slow.sock", func(c net.Conn) { <-hold; c.Close() })
	garbage := raw("garbage.sock", func(c net.Conn) { c.Write([]byte("not json\n")); c.Close() })
	empty := raw("empty.sock", func(c net.Conn) { c.Write([]byte("{}\n")); c.Close() })
	long := raw("long.sock", func(c net.Conn) { c.Write([]byte(strings.Repeat("x", 2*MaxLine))); c.Close() })
	for _, c := range []struct {
		name, path, want string
	}{
		{"slow server", slow, "deadline"},
		{"garbage", garbage, "bad report"},
		{"no counter", empty, "no loop counter"},
		{"line too long", long, "health"},
		{"absent server", filepath.Join(dir, "absent.sock"), "health"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := Read(ctx, c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Read = %v, want %q", err, c.want)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("Read took %v with a 200 ms deadline", took)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		line  string
		ticks uint64
		err   string
	}{
		{`{"ticks":42}`, 42, ""},
		{`{"ticks":0,"extra":true}` + "\n", 0, ""},
		{`{}`, 0, "no loop counter"},
		{`{"ticks":-1}`, 0, "bad report"},
		{`[]`, 0, "bad report"},
		{``, 0, "bad report"},
	} {
		r, err := Parse([]byte(c.line))
		if c.err == "" && (err != nil || r.Ticks != c.ticks) {
			t.Errorf("Parse(%q) = %+v, %v", c.line, r, err)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Parse(%q) = %v, want %q", c.line, err, c.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"ticks":1}`, `{}`, `{"ticks":18446744073709551615}`, `null`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil && r != (Report{}) {
			t.Errorf("Parse(%q) = %+v with error %v", b, r, err)
		}
	})
}
