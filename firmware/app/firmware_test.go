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
	"github.com/loopstart/loopstart/webui"
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
	// The built-in binary was built an hour ago: mk's images are newer.
	factory := update.Release{Version: running, Built: time.Now().Add(-time.Hour)}
	fw := &firmwareManager{store: store, version: running, log: log, poll: time.Millisecond,
		factory: func() update.Release { return factory },
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
	if err := fw.Upgrade(ctx, bytes.NewReader(mk("2.0")), webui.UpgradeOptions{}); err != nil {
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
	if err := fw.Upgrade(context.Background(), bytes.NewReader(mk("2.0")), webui.UpgradeOptions{}); err != nil {
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
	err := fw.Upgrade(context.Background(), bytes.NewReader(img), webui.UpgradeOptions{})
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

// TestFirmwareDowngrade: an image older than the running firmware is
// refused from the web UI unless confirmed, and from provisioning unless
// the profile allows it; a refusal writes nothing.
func TestFirmwareDowngrade(t *testing.T) {
	priv, err := update.ReadPrivateKeyFile("../update/testdata/test.key")
	if err != nil {
		t.Fatal(err)
	}
	factoryBuilt := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sign := func(version string, built time.Time) []byte {
		img, err := update.SignBuilt(priv, version, firmwareTarget("sim"), time.Now(), built, []byte("#!/bin/false "+version))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	web := func(allow bool) func(*firmwareManager, []byte) error {
		return func(fw *firmwareManager, img []byte) error {
			return fw.Upgrade(context.Background(), bytes.NewReader(img), webui.UpgradeOptions{AllowDowngrade: allow})
		}
	}
	prov := func(allow bool) func(*firmwareManager, []byte) error {
		return func(fw *firmwareManager, img []byte) error {
			fw.allowDowngrade = func() bool { return allow }
			return fw.provision(context.Background(), bytes.NewReader(img))
		}
	}
	cases := []struct {
		name    string
		running update.Release // the factory binary
		img     []byte
		do      func(*firmwareManager, []byte) error
		refused string // "" means installed
	}{
		{"web UI, older semantic version", update.Release{Version: "v1.3.0", Built: factoryBuilt}, sign("v1.2.0", factoryBuilt.Add(time.Hour)), web(false),
			"firmware v1.2.0 is older than the running v1.3.0: downgrade refused; confirm it to install"},
		{"web UI, older semantic version confirmed", update.Release{Version: "v1.3.0", Built: factoryBuilt}, sign("v1.2.0", factoryBuilt), web(true), ""},
		{"web UI, older build date", update.Release{Version: "abc1234", Built: factoryBuilt}, sign("def5678", factoryBuilt.Add(-time.Hour)), web(false),
			"firmware def5678 (built 2026-05-31T23:00:00Z) is older than the running abc1234 (built 2026-06-01T00:00:00Z): downgrade refused; confirm it to install"},
		{"web UI, newer build date", update.Release{Version: "abc1234", Built: factoryBuilt}, sign("def5678", factoryBuilt.Add(time.Hour)), web(false), ""},
		{"web UI, running build date unknown", update.Release{Version: "abc1234"}, sign("def5678", factoryBuilt.Add(-time.Hour)), web(false), ""},
		{"provisioning, older", update.Release{Version: "v1.3.0", Built: factoryBuilt}, sign("v1.2.0", factoryBuilt), prov(false),
			"firmware v1.2.0 is older than the running v1.3.0: downgrade refused; the profile's <firmware><allow-downgrade>true</allow-downgrade> would install it"},
		{"provisioning, older, allowed by the profile", update.Release{Version: "v1.3.0", Built: factoryBuilt}, sign("v1.2.0", factoryBuilt), prov(true), ""},
		{"provisioning, newer", update.Release{Version: "v1.3.0", Built: factoryBuilt}, sign("v1.3.1", factoryBuilt.Add(-time.Hour)), prov(false), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fw, _, restarts := testFirmware(t, c.running.Version)
			fw.factory = func() update.Release { return c.running }
			err := c.do(fw, c.img)
			if c.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if st := fw.FirmwareStatus(); len(st.Slots) != 1 {
					t.Fatalf("not installed: %+v", st)
				}
				select {
				case <-restarts:
				case <-time.After(5 * time.Second):
					t.Fatal("no restart")
				}
				return
			}
			if err == nil || err.Error() != c.refused || !errors.Is(err, update.ErrDowngrade) || errors.Is(err, provision.ErrFirmwareCurrent) {
				t.Fatalf("got %v\nwant %s", err, c.refused)
			}
			if fromWeb := strings.HasPrefix(c.name, "web"); errors.Is(err, webui.ErrDowngrade) != fromWeb {
				t.Errorf("matches webui.ErrDowngrade: %v, want %v", !fromWeb, fromWeb)
			}
			if m, _ := filepath.Glob(filepath.Join(fw.store.Dir(), "*")); len(m) != 0 {
				t.Fatalf("files written: %v", m)
			}
			if st := fw.FirmwareStatus(); st.Phase != "failed" || !strings.Contains(st.LastError, "downgrade refused") {
				t.Fatalf("status %+v", st)
			}
		})
	}
}

// TestFirmwareDowngradeFromSlot: running an installed slot, its signed
// manifest is the running release, whatever the built-in binary knows.
func TestFirmwareDowngradeFromSlot(t *testing.T) {
	fw, mk, restarts := testFirmware(t, "v1.0.0")
	fw.factory = func() update.Release { return update.Release{Version: "v1.0.0"} }
	if st := fw.FirmwareStatus(); st.Notice == "" || !st.Built.IsZero() {
		t.Errorf("unknown build date not reported: %+v", st)
	}
	if err := fw.Upgrade(context.Background(), bytes.NewReader(mk("v2.0.0")), webui.UpgradeOptions{}); err != nil {
		t.Fatal(err)
	}
	<-restarts
	if err := fw.store.Confirm(); err != nil {
		t.Fatal(err)
	}
	fw.version, fw.run = "v2.0.0", false // the new process
	st := fw.FirmwareStatus()
	if st.Notice != "" || st.Built.IsZero() {
		t.Errorf("running slot a: %+v", st)
	}
	err := fw.Upgrade(context.Background(), bytes.NewReader(mk("v1.9.0")), webui.UpgradeOptions{})
	if !errors.Is(err, webui.ErrDowngrade) || !strings.Contains(err.Error(), "older than the running v2.0.0") {
		t.Fatalf("Upgrade = %v", err)
	}
	if s, _ := fw.store.State(); len(s.Slots) != 1 {
		t.Fatalf("slot b written: %+v", s)
	}
}
