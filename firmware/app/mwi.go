package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/loopstart/loopstart/voice/gateway"
	"github.com/loopstart/loopstart/voice/sip"
)

// mwiFile is the data directory's record of which accounts have messages
// waiting, so a restart keeps the phones' lamps.
const mwiFile = "mwi.json"

// mwiStore keeps each account's message-waiting state, in memory and in
// the data directory, and hands changes to the running gateway.
type mwiStore struct {
	path string
	log  *slog.Logger
	sup  atomic.Pointer[gateway.Supervisor] // set once the gateway exists

	mu    sync.Mutex
	state map[string]bool // account id → messages waiting
}

// openMWIStore reads dir's record; a missing or unreadable one starts
// every account off.
func openMWIStore(dir string, log *slog.Logger) *mwiStore {
	s := &mwiStore{path: filepath.Join(dir, mwiFile), log: log, state: map[string]bool{}}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		log.Warn("message-waiting state not read", "err", err)
	default:
		if err := json.Unmarshal(b, &s.state); err != nil {
			log.Warn("message-waiting state not read", "file", s.path, "err", err)
			s.state = map[string]bool{}
		}
	}
	return s
}

// waiting reports account id's last known state (gateway.Config.MessageWaiting).
func (s *mwiStore) waiting(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[id]
}

// handle takes a mailbox report (sip.Config.OnMessageWaiting).
func (s *mwiStore) handle(id string, mw sip.MessageWaiting) {
	s.mu.Lock()
	changed := s.state[id] != mw.Waiting
	if mw.Waiting {
		s.state[id] = true
	} else {
		delete(s.state, id)
	}
	var err error
	if changed {
		err = s.save()
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("message-waiting state not saved", "err", err)
	}
	if sup := s.sup.Load(); sup != nil {
		sup.Gateway().SetMessageWaiting(id, mw.Waiting)
	}
}

// save writes the state atomically: a new file, synced, renamed over the
// old one. s.mu is held.
func (s *mwiStore) save() error {
	b, err := json.Marshal(s.state)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), ".mwi-*.json")
	if err != nil {
		return fmt.Errorf("mwi: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("mwi: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("mwi: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mwi: %w", err)
	}
	if err := os.Rename(f.Name(), s.path); err != nil {
		return fmt.Errorf("mwi: %w", err)
	}
	return nil
}
