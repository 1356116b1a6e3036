package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loopstart/loopstart/firmware/provision"
	"github.com/loopstart/loopstart/firmware/update"
)

func testFirmware(t *testing.T, running string) (*firmwareManager, func(version string) []byte, chan string) {
	t.Helper()
	priv, err := update.ReadPrivateKeyFile("../update/testdata/test.key")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	store, _, err := openFirmware(t.TempDir(), "sim", "../update/testdata/test.pub", log)
	if err != nil {
		t.Fatal(err)
	}
	restarts := make(chan string, 4)
	busy := atomic.Int32{}
	busy.Store(2)
	fw := &firmwareManager{store: store, version: running, log: log, poll: time.Millisecond,
		busy:    func() bool { return busy.Add(-1) >= 0 },
		restart: func(bin string) error { restarts <- bin; return nil },
		after: func(time.Duration) <-chan time.Time {
			c := make(chan time.Time, 1)
			c <- time.Time{}
			return c
		}}
	mk := func(version string) []byte {
		img, err := update.Sign(priv, version, firmwareTarget("sim"), time.Now(), []byte("#!/bin/false "+version))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	return fw, mk, restarts
}

// TestFirmwareUpgradeAndRollback drives the sim board's firmware steps:
// an upload installs and switches, the restart waits for idle lines and
// starts the new slot; a trial whose loop does not tick is rolled back
// and the previous firmware restarted; provisioning does not install the
// running version or a rolled-back one again.
func TestFirmwareUpgradeAndRollback(t *testing.T) {
	fw, mk, restarts := testFirmware(t, "1.0")
	ctx := context.Background()
	if err := fw.Upgrade(ctx, bytes.NewReader(mk("2.0"))); err != nil {
		t.Fatal(err)
	}
	select {
	case bin := <-restarts:
		if bin != fw.store.SlotPath(update.SlotA) {
			t.Fatalf("restarted into %q", bin)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no restart")
	}
	st := fw.FirmwareStatus()
	if !st.Trial || st.Slot != "a" || len(st.Slots) != 1 || st.Slots[0].Version != "2.0" {
		t.Fatalf("status %+v", st)
	}

	// The new process (a fresh manager): its loop never ticks.
	fw.version, fw.run = "2.0", false
	fw.trial(ctx, func() uint64 { return 7 }, "http://127.0.0.1:1", 3*time.Second)
	select {
	case bin := <-restarts:
		if bin != "" {
			t.Fatalf("rolled back into %q, want the factory binary", bin)
		}
	default:
		t.Fatal("no restart after the failed trial")
	}
	s, _ := fw.store.State()
	if s.Current != update.Factory || s.Rejected != "2.0" || !strings.Contains(s.LastError, "media loop not ticking") {
		t.Fatalf("after the failed trial: %+v", s)
	}

	// Provisioning: the rolled-back version is not installed again.
	fw.version = "1.0"
	err := fw.provision(ctx, bytes.NewReader(mk("2.0")))
	if !errors.Is(err, provision.ErrFirmwareCurrent) || !strings.Contains(err.Error(), "rolled back before") {
		t.Fatalf("provision = %v", err)
	}
	err = fw.provision(ctx, bytes.NewReader(mk("1.0")))
	if !errors.Is(err, provision.ErrFirmwareCurrent) {
		t.Fatalf("provision of the running version = %v", err)
	}
}

func TestFirmwareTrialHealthy(t *testing.T) {
	fw, mk, restarts := testFirmware(t, "1.0")
	if err := fw.Upgrade(context.Background(), bytes.NewReader(mk("2.0"))); err != nil {
		t.Fatal(err)
	}
	<-restarts
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer web.Close()
	var ticks atomic.Uint64
	fw.trial(context.Background(), func() uint64 { return ticks.Add(100) }, web.URL, time.Minute)
	s, _ := fw.store.State()
	if s.Pending != nil || s.Current != update.SlotA {
		t.Fatalf("not confirmed: %+v", s)
	}
	if len(restarts) != 0 {
		t.Fatal("a healthy trial restarted")
	}
}

func TestFirmwareBadUploadChangesNothing(t *testing.T) {
	fw, mk, _ := testFirmware(t, "1.0")
	img := mk("2.0")
	img[len(img)-1] ^= 1
	err := fw.Upgrade(context.Background(), bytes.NewReader(img))
	if !errors.Is(err, update.ErrPayload) {
		t.Fatalf("Upgrade = %v", err)
	}
	if st := fw.FirmwareStatus(); st.Phase != "failed" || !strings.Contains(st.LastError, "payload") || len(st.Slots) != 0 {
		t.Fatalf("status %+v", st)
	}
	if m, _ := filepath.Glob(filepath.Join(fw.store.Dir(), "*")); len(m) != 0 {
		t.Fatalf("files written: %v", m)
	}
}
