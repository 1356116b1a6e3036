package provision

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/config"
)

func TestCheckSyncFamily(t *testing.T) {
	for _, tc := range []struct {
		event          string
		handled, boots bool
	}{
		{"check-sync", true, false},
		{"Check-Sync;reboot=false", true, false},
		{"check-sync;reboot=true", true, true},
		{`check-sync;reboot="true"`, true, true},
		{"resync", true, false},
		{"sys-control", true, false},
		{"report", true, false},
		{"reboot", true, true},
		{"reboot_now", true, true},
		{"restart_now", true, true},
		{"reboot=true", true, true},
		{"reboot=false", true, false},
		{"message-summary", false, false},
		{"presence", false, false},
		{"", false, false},
	} {
		p := New(Options{Current: func() *config.Config { return config.Default(2) }, Apply: func(*config.Config) error { return nil },
			Logger: slog.New(slog.DiscardHandler)})
		if got := p.CheckSync(tc.event); got != tc.handled {
			t.Errorf("%q handled = %v", tc.event, got)
		}
		kicked := len(p.kick) == 1
		if kicked != tc.handled || p.rebootAsked.Load() != tc.boots {
			t.Errorf("%q: resync %v, reboot %v", tc.event, kicked, p.rebootAsked.Load())
		}
	}
}

// TestNotifyRebootWaitsForIdle: a reboot NOTIFY resyncs at once, then
// reboots only when the call is over.
func TestNotifyRebootWaitsForIdle(t *testing.T) {
	srv := fileServer(t, map[string]string{"/p/loopstart.xml": `<loopstart><port n="1"><country>de</country></port></loopstart>`}, "", "")
	st := &store{cur: baseConfig(t)}
	st.cur.Provisioning = &config.Provisioning{URL: srv.URL + "/p/", Interval: 3600}
	var busyMu sync.Mutex
	busy := true
	var reboots atomic.Int32
	timers := make(chan chan time.Time, 10)
	p := New(Options{Identity: testID, Current: st.Current, Apply: st.Apply,
		Fetcher: &Fetcher{Roots: roots(srv)}, Logger: slog.New(slog.DiscardHandler),
		Busy:   func() bool { busyMu.Lock(); defer busyMu.Unlock(); return busy },
		After:  func(time.Duration) <-chan time.Time { c := make(chan time.Time, 1); timers <- c; return c },
		Jitter: func(time.Duration) time.Duration { return 0 },
		Reboot: func(context.Context) error { reboots.Add(1); return nil }, FirstDelay: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-timers // the first sync's timer: not fired
	if !p.CheckSync("check-sync;reboot=true") {
		t.Fatal("not handled")
	}
	poll := <-timers // the reboot's busy poll: the resync ran, a call is up
	if st.Current().Ports[0].Country != "de" {
		t.Fatal("no resync before the reboot")
	}
	if s := p.Status(); s.State != "reboot-pending" || reboots.Load() != 0 {
		t.Fatalf("state %q, reboots %d while busy", s.State, reboots.Load())
	}
	busyMu.Lock()
	busy = false
	busyMu.Unlock()
	// The poll timer fires: idle now, so it reboots.
	poll <- time.Now()
	deadline := time.Now().Add(5 * time.Second)
	for reboots.Load() == 0 {
		select {
		case tm := <-timers:
			tm <- time.Now()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reboot once idle: %+v", p.Status())
		}
	}
	if reboots.Load() != 1 {
		t.Errorf("%d reboots", reboots.Load())
	}
}
