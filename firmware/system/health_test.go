package system

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/health"
)

// healthServer serves the health socket at path with the tick counter in
// ticks until the test ends.
func healthServer(t *testing.T, path string, ticks *atomic.Uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- health.Serve(ctx, path, func() health.Report { return health.Report{Ticks: ticks.Load()} })
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := health.Read(context.Background(), path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("health socket does not answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoopHealth(t *testing.T) {
	dir := t.TempDir()
	var ticks atomic.Uint64
	healthServer(t, filepath.Join(dir, "gateway-health.sock"), &ticks)
	// A server that answers something other than a report.
	garbage := filepath.Join(dir, "garbage.sock")
	ln, err := net.Listen("unix", garbage)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "not json")
			c.Close()
		}
	}()
	h := &LoopHealth{Socket: filepath.Join(dir, "gateway-health.sock")}
	ctx := context.Background()
	steps := []struct {
		ticks   uint64
		socket  string // another socket than the gateway's for this step
		reset   bool
		wantErr string
	}{
		{ticks: 0, wantErr: "not started"},
		{ticks: 100},
		{ticks: 200},
		{ticks: 200, wantErr: "stalled at tick 200"},
		{ticks: 300},
		{socket: garbage, wantErr: "bad report"},
		{socket: filepath.Join(dir, "absent.sock"), wantErr: "health"},
		{ticks: 5, reset: true}, // a new gateway counts from 0
		{ticks: 5, wantErr: "stalled"},
	}
	for i, s := range steps {
		ticks.Store(s.ticks)
		hh := h
		if s.socket != "" {
			hh = &LoopHealth{Socket: s.socket}
		}
		if s.reset {
			h.Reset()
		}
		_, err := hh.Check(ctx)
		if s.wantErr == "" && err != nil {
			t.Errorf("step %d (ticks %d): %v", i, s.ticks, err)
		}
		if s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)) {
			t.Errorf("step %d (ticks %d): err %v, want %q", i, s.ticks, err, s.wantErr)
		}
	}
	h2 := &LoopHealth{Socket: filepath.Join(dir, "none.sock")}
	if _, err := h2.Check(ctx); err == nil {
		t.Error("no server: healthy")
	}
}

func TestPetDecision(t *testing.T) {
	grace := 15 * time.Second
	for _, c := range []struct {
		running bool
		age     time.Duration
		healthy bool
		want    bool
	}{
		{running: false, want: true},                  // restart back-off: supervisor in charge
		{running: true, age: time.Second, want: true}, // starting up
		{running: true, age: time.Minute, healthy: true, want: true},
		{running: true, age: time.Minute, healthy: false, want: false}, // stalled or frozen
	} {
		if got := PetDecision(c.running, c.age, grace, c.healthy); got != c.want {
			t.Errorf("PetDecision(%v, %v, %v) = %v, want %v", c.running, c.age, c.healthy, got, c.want)
		}
	}
}

// TestLoopHealthReexec: a gateway that re-executes itself under the same
// PID (a firmware upgrade) reports a new start; its counter from 0 is a new
// process starting, not a stalled loop, and Since moves to it.
func TestLoopHealthReexec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway-health.sock")
	var ticks, started atomic.Uint64
	started.Store(1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- health.Serve(ctx, path, func() health.Report {
			return health.Report{Ticks: ticks.Load(), Started: int64(started.Load())}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	h := &LoopHealth{Socket: path}
	for i := 0; ; i++ {
		if _, err := health.Read(context.Background(), path); err == nil {
			break
		}
		if i > 400 {
			t.Fatal("health socket does not answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ticks.Store(500)
	if _, err := h.Check(ctx); err != nil {
		t.Fatal(err)
	}
	first := h.Since()
	ticks.Store(600)
	if _, err := h.Check(ctx); err != nil || h.Since() != first {
		t.Fatalf("same process: err %v, since moved %v", err, h.Since() != first)
	}
	started.Store(2) // re-executed: counts from 0 again
	ticks.Store(0)
	if _, err := h.Check(ctx); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("new process at tick 0: %v, want not started", err)
	}
	if !h.Since().After(first) {
		t.Error("Since did not move to the new process")
	}
	ticks.Store(3)
	if _, err := h.Check(ctx); err != nil {
		t.Errorf("new process advancing: %v", err)
	}
}
