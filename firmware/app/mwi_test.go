package app

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/loopstart/loopstart/voice/sip"
)

func TestMWIStoreKeepsState(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name   string
		file   string // mwi.json before, "" for none
		events []sip.MessageWaiting
		ids    []string
		want   map[string]bool // after reopening
	}{
		{"none yet", "", nil, nil, map[string]bool{"1": false}},
		{"lamp on", "", []sip.MessageWaiting{{Waiting: true, New: 1}}, []string{"1"}, map[string]bool{"1": true, "2": false}},
		{"on then off", "", []sip.MessageWaiting{{Waiting: true}, {Waiting: false}}, []string{"1", "1"}, map[string]bool{"1": false}},
		{"kept from before", `{"2":true}`, []sip.MessageWaiting{{Waiting: true}}, []string{"1"}, map[string]bool{"1": true, "2": true}},
		{"a damaged file starts off", `{"2":tru`, []sip.MessageWaiting{{Waiting: true}}, []string{"1"}, map[string]bool{"1": true, "2": false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(dir, mwiFile), []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := openMWIStore(dir, log)
			for i, mw := range tt.events {
				s.handle(tt.ids[i], mw)
			}
			again := openMWIStore(dir, log)
			for id, want := range tt.want {
				if got := again.waiting(id); got != want {
					t.Errorf("account %s after a restart: %v, want %v", id, got, want)
				}
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".mwi-*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
