package system

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestFactoryReset(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"config.xml", "webui-password", "features.json", "ca/account-1.pem", "firmware/a/image", CrashFileName} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := FactoryReset(dir); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	if want := []string{"firmware", CrashFileName}; !slices.Equal(left, want) {
		t.Errorf("left %q, want %q", left, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "firmware/a/image")); err != nil {
		t.Errorf("firmware image erased: %v", err)
	}
	if err := FactoryReset(""); err == nil {
		t.Error("no data directory: no error")
	}
}

func TestWatchResetButton(t *testing.T) {
	const hold, poll = 200 * time.Millisecond, 2 * time.Millisecond
	for _, tc := range []struct {
		name string
		// read returns the button's state on the n-th read.
		read func(n int) (bool, error)
		want bool
	}{
		{"held", func(int) (bool, error) { return true, nil }, true},
		{"never pressed", func(int) (bool, error) { return false, nil }, false},
		{"short presses", func(n int) (bool, error) { return n%2 != 0, nil }, false},
		{"read errors", func(int) (bool, error) { return true, errors.New("gpio gone") }, false},
		{"released then held", func(n int) (bool, error) { return n > 10, nil }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var reads, calls atomic.Int32
			got := WatchResetButton(ctx, func() (bool, error) { return tc.read(int(reads.Add(1))) }, hold, poll,
				func() { calls.Add(1) })
			if got != tc.want || int(calls.Load()) != map[bool]int{true: 1, false: 0}[tc.want] {
				t.Errorf("held %v after %d reads (%d calls), want %v", got, reads.Load(), calls.Load(), tc.want)
			}
		})
	}
}

// TestResetButtonReboots: a board whose button is held asks for a reboot,
// and the data directory is erased once the gateway has stopped; a board
// without one, or whose button cannot be opened, boots as usual.
func TestResetButtonReboots(t *testing.T) {
	for _, tc := range []struct {
		name   string
		open   func(string) (func() (bool, error), error)
		reboot bool
	}{
		{"held", func(board string) (func() (bool, error), error) {
			if board != "tdm" {
				t.Errorf("button of board %q", board)
			}
			return func() (bool, error) { return true, nil }, nil
		}, true},
		{"no button", func(string) (func() (bool, error), error) { return nil, nil }, false},
		{"cannot open", func(string) (func() (bool, error), error) { return nil, errors.New("no GPIO26") }, false},
		{"no hook", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "config.xml"), []byte("x"), 0o600)
			b := &booter{o: BootOptions{ResetButton: tc.open}, log: slog.New(slog.DiscardHandler), st: &bootState{},
				set: Settings{DataDir: dir, Board: "tdm"}, power: make(chan PowerAction, 1), resetHold: 300 * time.Millisecond}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := time.Now()
			b.watchResetButton(ctx)
			select {
			case a := <-b.power:
				if !tc.reboot || a != ActionReboot {
					t.Fatalf("power action %v", a)
				}
				if time.Since(start) < b.resetHold {
					t.Errorf("reboot after %v, before the button was held %v", time.Since(start), b.resetHold)
				}
			case <-time.After(b.resetHold + 2*time.Second):
				if tc.reboot {
					t.Fatal("no reboot")
				}
			}
			b.resetOnStop()
			_, err := os.Stat(filepath.Join(dir, "config.xml"))
			if erased := errors.Is(err, os.ErrNotExist); erased != tc.reboot {
				t.Errorf("config erased %v, want %v", erased, tc.reboot)
			}
			if tc.name == "cannot open" && len(b.st.Problems) != 1 {
				t.Errorf("problems %q", b.st.Problems)
			}
		})
	}
}
