package system

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a started child as the supervisor sees it.
type Process interface {
	// Wait blocks until the process ends and returns why (nil: exit 0).
	Wait() error
	// Signal sends sig to the process.
	Signal(sig syscall.Signal) error
	// Pid is the process id.
	Pid() int
}

// Supervisor keeps one child running: it restarts it when it ends, waiting
// MinBackoff, doubling up to MaxBackoff while the child keeps dying early,
// back to MinBackoff once a run lasted StableAfter. Each end is recorded as
// the last crash reason (in memory and in CrashFile) with the end of the
// child's output.
type Supervisor struct {
	// Start starts the child with its output going to out.
	Start func(out io.Writer) (Process, error)
	// MinBackoff, MaxBackoff and StableAfter shape the restart back-off
	// (defaults 1 s, 30 s, 60 s).
	MinBackoff, MaxBackoff, StableAfter time.Duration
	// CrashFile, when set, receives the last crash report (text).
	CrashFile string
	// Output, when set, also receives the child's output (console, syslog).
	Output io.Writer
	// Now and After are the clock (defaults time.Now, time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Log receives the supervisor's own messages.
	Log *slog.Logger

	mu    sync.Mutex
	state SupervisorState
	proc  Process
}

// SupervisorState is a snapshot of the supervisor.
type SupervisorState struct {
	// Running tells whether the child is running; Pid is its process id.
	Running bool `json:"running"`
	Pid     int  `json:"pid,omitempty"`
	// Started is when the current (or last) child started.
	Started time.Time `json:"started"`
	// Restarts counts starts after the first.
	Restarts int `json:"restarts"`
	// LastCrash is the last crash report; empty when the child never ended.
	LastCrash string `json:"last_crash,omitempty"`
}

// State returns a snapshot.
func (s *Supervisor) State() SupervisorState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Signal sends sig to the running child; an error when none runs.
func (s *Supervisor) Signal(sig syscall.Signal) error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("supervisor: no child running")
	}
	return p.Signal(sig)
}

func (s *Supervisor) defaults() {
	if s.MinBackoff == 0 {
		s.MinBackoff = time.Second
	}
	if s.MaxBackoff == 0 {
		s.MaxBackoff = 30 * time.Second
	}
	if s.StableAfter == 0 {
		s.StableAfter = time.Minute
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.After == nil {
		s.After = time.After
	}
	if s.Log == nil {
		s.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Run keeps the child running until ctx ends, then stops it (SIGTERM, and
// SIGKILL after 5 s) and returns.
func (s *Supervisor) Run(ctx context.Context) {
	s.defaults()
	backoff := s.MinBackoff
	for first := true; ctx.Err() == nil; first = false {
		tail := newTailBuffer(40)
		var out io.Writer = tail
		if s.Output != nil {
			out = io.MultiWriter(tail, s.Output)
		}
		started := s.Now()
		p, err := s.Start(out)
		var reason string
		if err != nil {
			reason = fmt.Sprintf("start failed: %v", err)
		} else {
			s.mu.Lock()
			s.proc = p
			s.state.Running, s.state.Pid, s.state.Started = true, p.Pid(), started
			if !first {
				s.state.Restarts++
			}
			s.mu.Unlock()
			s.Log.Info("gateway started", "pid", p.Pid())
			done := make(chan error, 1)
			go func() { done <- p.Wait() }()
			select {
			case err = <-done:
			case <-ctx.Done():
				s.stop(p, done)
				return
			}
			s.mu.Lock()
			s.proc = nil
			s.state.Running, s.state.Pid = false, 0
			s.mu.Unlock()
			if err == nil {
				reason = "exited with status 0"
			} else {
				reason = err.Error()
			}
		}
		ran := s.Now().Sub(started)
		if ran >= s.StableAfter {
			backoff = s.MinBackoff
		}
		report := fmt.Sprintf("time: %s\nreason: %s\nran: %s\nrestart in: %s\nlast output:\n%s",
			s.Now().UTC().Format(time.RFC3339), reason, ran.Round(time.Millisecond), backoff, tail.String())
		s.mu.Lock()
		s.state.LastCrash = report
		s.mu.Unlock()
		s.Log.Error("gateway ended", "reason", reason, "ran", ran.Round(time.Millisecond), "restart_in", backoff)
		if s.CrashFile != "" {
			if err := writeFileAtomic(s.CrashFile, []byte(report)); err != nil {
				s.Log.Warn("crash report", "err", err)
			}
		}
		select {
		case <-s.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, s.MaxBackoff)
	}
}

func (s *Supervisor) stop(p Process, done <-chan error) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-s.After(5 * time.Second):
		_ = p.Signal(syscall.SIGKILL)
		<-done
	}
	s.mu.Lock()
	s.proc = nil
	s.state.Running, s.state.Pid = false, 0
	s.mu.Unlock()
}

// tailBuffer keeps the last n lines written to it.
type tailBuffer struct {
	mu    sync.Mutex
	n     int
	lines []string
	part  string
}

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{n: n} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(p)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	t.lines = append(t.lines, parts[:len(parts)-1]...)
	if over := len(t.lines) - t.n; over > 0 {
		t.lines = append(t.lines[:0], t.lines[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.Join(t.lines, "\n")
	if t.part != "" {
		s += "\n" + t.part
	}
	return s + "\n"
}

// writeFileAtomic writes path through a temporary file, fsync and rename.
func writeFileAtomic(path string, b []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
