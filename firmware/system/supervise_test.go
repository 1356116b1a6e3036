package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeClock advances only when told: by a child's scripted run time and
// by every back-off the supervisor waits.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	waited []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waited = append(c.waited, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// fakeProc ends after its scripted run time with its scripted error, or
// when signalled.
type fakeProc struct {
	pid  int
	end  chan error
	sigs chan syscall.Signal
}

func (p *fakeProc) Wait() error { return <-p.end }
func (p *fakeProc) Pid() int    { return p.pid }
func (p *fakeProc) Signal(s syscall.Signal) error {
	p.sigs <- s
	if s == syscall.SIGTERM || s == syscall.SIGKILL {
		p.end <- fmt.Errorf("signal: %v", s)
	}
	return nil
}

func TestSupervisorBackoff(t *testing.T) {
	type run struct {
		ran time.Duration
		err error
	}
	script := []run{
		{100 * time.Millisecond, errors.New("exit status 1")},
		{100 * time.Millisecond, errors.New("exit status 1")},
		{100 * time.Millisecond, errors.New("exit status 1")},
		{2 * time.Minute, errors.New("signal: killed")}, // a stable run resets the back-off
		{time.Second, nil},
		{time.Second, errors.New("exit status 2")},
	}
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	crash := filepath.Join(t.TempDir(), CrashFileName)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	s := &Supervisor{
		MinBackoff: time.Second, MaxBackoff: 5 * time.Second, StableAfter: time.Minute,
		Now: clk.Now, After: clk.After, CrashFile: crash,
		Start: func(out io.Writer) (Process, error) {
			if n == len(script) {
				cancel()
				return &fakeProc{pid: 1000 + n, end: make(chan error, 1), sigs: make(chan syscall.Signal, 4)}, nil
			}
			r := script[n]
			n++
			fmt.Fprintf(out, "run %d starting\nrun %d: fatal: %v", n, n, r.err)
			p := &fakeProc{pid: 1000 + n, end: make(chan error, 1), sigs: make(chan syscall.Signal, 4)}
			clk.advance(r.ran)
			p.end <- r.err
			return p, nil
		},
	}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("supervisor did not stop when its context ended")
	}
	// The back-offs between runs: doubling, capped at 5 s, back to 1 s
	// after the stable run; then the stop's 5 s SIGTERM-to-SIGKILL wait.
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	if fmt.Sprint(clk.waited) != fmt.Sprint(want) {
		t.Errorf("back-offs %v, want %v", clk.waited, want)
	}
	st := s.State()
	if st.Restarts != len(script) || st.Running {
		t.Errorf("state %+v, want %d restarts, not running", st, len(script))
	}
	b, err := os.ReadFile(crash)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"reason: exit status 2", "run 6: fatal: exit status 2", "restart in: 4s"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("crash report lacks %q:\n%s", w, b)
		}
	}
	if st.LastCrash != string(b) {
		t.Errorf("in-memory crash report differs from the file")
	}
}

func TestSupervisorStartFailure(t *testing.T) {
	clk := &fakeClock{}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	s := &Supervisor{Now: clk.Now, After: clk.After, MaxBackoff: 30 * time.Second,
		Start: func(io.Writer) (Process, error) {
			calls++
			if calls == 3 {
				cancel()
			}
			return nil, errors.New("exec: no such file")
		}}
	s.Run(ctx)
	if !strings.Contains(s.State().LastCrash, "start failed: exec: no such file") {
		t.Errorf("last crash %q", s.State().LastCrash)
	}
	if calls != 3 {
		t.Errorf("%d starts, want 3", calls)
	}
}

func TestSupervisorSignal(t *testing.T) {
	s := &Supervisor{}
	if err := s.Signal(syscall.SIGKILL); err == nil {
		t.Error("Signal with no child: no error")
	}
	p := &fakeProc{pid: 7, end: make(chan error, 2), sigs: make(chan syscall.Signal, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	s.Start = func(io.Writer) (Process, error) { close(started); return p, nil }
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-started
	for !s.State().Running {
		time.Sleep(time.Millisecond)
	}
	if err := s.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if got := <-p.sigs; got != syscall.SIGSTOP {
		t.Errorf("child got %v", got)
	}
	cancel()
	<-done
	if got := <-p.sigs; got != syscall.SIGTERM {
		t.Errorf("stop sent %v, want SIGTERM", got)
	}
}

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(3)
	fmt.Fprint(tb, "a\nb\nc")
	fmt.Fprint(tb, "c\nd\ne\npartial")
	if got, want := tb.String(), "cc\nd\ne\npartial\n"; got != want {
		t.Errorf("tail %q, want %q", got, want)
	}
}
